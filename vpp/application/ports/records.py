"""Records that the operator API's store ports take and return: plain frozen dataclasses
in SI units (W, Wh, s, UTC), and the store's domain errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vpp.domain.der import Der
from vpp.domain.errors import VppError
from vpp.domain.plant import Plant, Tenant


class StoreError(VppError):
    """The store failed an operation (the database's own error is the ``__cause__``)."""


class StoreUnavailable(StoreError):
    """The store did not answer: server down, connection lost, file unreachable.  Worth
    retrying later; the API answers 503."""


class StoreConflict(StoreError):
    """A uniqueness or reference rule of the store refused a write."""


class DuplicateIdempotencyKey(StoreConflict):
    """Another dispatch of the same tenant already holds this idempotency key."""


class AlreadyExists(StoreConflict):
    """A row with this natural key exists already (e.g. a tenant created twice)."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str
    key_hash: str  # hex sha256 of the secret part
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SiteRecord:
    site_id: str
    tenant_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    gateway_id: str
    site_id: str | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class DerRecord:
    """A registered DER with how it is reached and its health as the gateway reports it."""

    der: Der
    protocol: str | None = None
    address: str | None = None
    healthy: bool = True
    health_reason: str = ""


@dataclass(frozen=True, slots=True)
class RegistryImport:
    """Everything a registry file and its gateways' files declare, in domain values."""

    tenants: Sequence[Tenant] = ()
    sites: Sequence[SiteRecord] = ()
    gateways: Sequence[GatewayRecord] = ()
    ders: Sequence[DerRecord] = ()
    plants: Sequence[Plant] = ()


@dataclass(frozen=True, slots=True)
class RollupRow:
    der_id: str
    bucket: datetime
    n: int
    p_w_avg: float
    p_w_min: float
    p_w_max: float
    q_var_avg: float | None
    soc_last: float | None
    n_bad: int


@dataclass(frozen=True, slots=True)
class PlantBucket:
    """One minute of a plant: the members' average powers summed."""

    bucket: datetime
    p_w_sum: float
    n_members: int
    n_bad: int


@dataclass(frozen=True, slots=True)
class DispatchRecord:
    dispatch_id: str
    tenant_id: str
    plant_id: str
    mode: str
    status: str
    idempotency_key: str | None
    request_hash: str
    start: datetime
    end: datetime
    created_at: datetime
    updated_at: datetime
    baseline_w: float | None = None
    detail: str | None = None
    shortfall_w: float = 0.0


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    idx: int
    start: datetime
    duration_s: float
    p_w_requested: float
    p_w_target: float | None = None
    p_w_planned: float | None = None
    energy_wh_target: float | None = None
    energy_wh_delivered: float = 0.0
    p_w_measured_last: float | None = None
    energy_wh_shortfall: float = 0.0
    # the interval's tracking figures as running sums (see vpp.domain.tracking)
    track_samples: int = 0
    track_sq_error_sum: float = 0.0
    track_worst_w: float = 0.0
    track_judged: int = 0
    track_within: int = 0
    track_first_in_band_s: float | None = None


@dataclass(frozen=True, slots=True)
class CommandCounts:
    sent: int = 0
    acks: Mapping[str, int] = field(default_factory=dict)  # outcome -> count
