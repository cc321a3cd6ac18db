"""A virtual power plant: a named group of DERs owned by one tenant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from vpp.domain.der import Der
from vpp.domain.errors import UnknownDer
from vpp.domain.flexibility import DEFAULT_MAX_AGE, FleetEnvelope, fleet_envelope
from vpp.domain.ids import validate_id
from vpp.domain.telemetry import Reading


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str = ""

    def __post_init__(self) -> None:
        validate_id(self.tenant_id, "tenant_id")


@dataclass(frozen=True, slots=True)
class Plant:
    plant_id: str
    tenant_id: str
    members: frozenset[str]
    name: str = ""

    def __post_init__(self) -> None:
        validate_id(self.plant_id, "plant_id")
        validate_id(self.tenant_id, "tenant_id")
        object.__setattr__(self, "members", frozenset(self.members))
        for member in self.members:
            validate_id(member, "plant member der_id")

    def member_ders(self, registry: Mapping[str, Der]) -> list[Der]:
        """The plant's DERs in id order; an unregistered member is an error."""
        missing = sorted(self.members - registry.keys())
        if missing:
            raise UnknownDer(f"plant {self.plant_id} names unregistered DERs: {missing}")
        return [registry[d] for d in sorted(self.members)]

    def envelope(
        self,
        registry: Mapping[str, Der],
        readings: Mapping[str, Reading],
        now: datetime,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        sustain_s: float | None = None,
    ) -> FleetEnvelope:
        return fleet_envelope(
            self.member_ders(registry), readings, now, max_age=max_age, sustain_s=sustain_s
        )
