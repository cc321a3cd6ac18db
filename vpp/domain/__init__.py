"""The pure core: values and rules of a virtual power plant.  Stdlib only, no I/O."""

from __future__ import annotations

from vpp.domain.commands import AckOutcome, CommandAck, Decision, SetpointCommand, decide
from vpp.domain.der import Der, DerKind, DerRatings
from vpp.domain.dispatch import (
    DispatchMode,
    DispatchRequest,
    DispatchStatus,
    Interval,
)
from vpp.domain.errors import InvalidValue, UnknownDer, VppError
from vpp.domain.flexibility import Envelope, FleetEnvelope, der_envelope, fleet_envelope
from vpp.domain.plant import Plant, Tenant
from vpp.domain.telemetry import DeviceHealth, Reading
from vpp.domain.units import Quality

__all__ = [
    "AckOutcome",
    "CommandAck",
    "Decision",
    "Der",
    "DerKind",
    "DerRatings",
    "DeviceHealth",
    "DispatchMode",
    "DispatchRequest",
    "DispatchStatus",
    "Envelope",
    "FleetEnvelope",
    "Interval",
    "InvalidValue",
    "Plant",
    "Quality",
    "Reading",
    "SetpointCommand",
    "Tenant",
    "UnknownDer",
    "VppError",
    "decide",
    "der_envelope",
    "fleet_envelope",
]
