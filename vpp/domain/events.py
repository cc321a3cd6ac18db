"""Domain events (the EVENTS stream, ``vpp.event.<kind>``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchRequest, DispatchStatus
from vpp.domain.plant import Plant


@dataclass(frozen=True, slots=True)
class DerRegistered:
    der: Der
    ts: datetime
    kind: str = "der_registered"


@dataclass(frozen=True, slots=True)
class PlantDefined:
    plant: Plant
    ts: datetime
    kind: str = "plant_defined"


@dataclass(frozen=True, slots=True)
class DerHealthChanged:
    der_id: str
    gateway_id: str
    healthy: bool
    reason: str
    ts: datetime
    kind: str = "der_health_changed"


@dataclass(frozen=True, slots=True)
class DispatchRequested:
    request: DispatchRequest
    ts: datetime
    kind: str = "dispatch_requested"


@dataclass(frozen=True, slots=True)
class DispatchStatusChanged:
    """Planned, active, completed, failed or cancelled; ``detail`` says why."""

    dispatch_id: str
    plant_id: str
    status: DispatchStatus
    ts: datetime
    detail: str = ""
    shortfall_w: float = 0.0
    kind: str = "dispatch_status_changed"


DomainEvent = (
    DerRegistered | PlantDefined | DerHealthChanged | DispatchRequested | DispatchStatusChanged
)
