"""Ports of the gateway towards its field devices: one driver per device and protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vpp.domain.der import DerRatings
from vpp.domain.errors import VppError
from vpp.domain.telemetry import Reading


class DeviceError(VppError):
    """A device did not answer, answered garbage, or refused an operation.

    ``transient`` errors (timeouts, lost connections) are retried with backoff; others
    (a model the device does not have, a refused control) mark the device unhealthy.
    """

    def __init__(self, der_id: str, reason: str, *, transient: bool = True) -> None:
        super().__init__(f"{der_id}: {reason}")
        self.der_id = der_id
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Applied:
    """What a device actually took: the value written (after its own scaling/limits)."""

    p_w: float
    detail: str = ""


class DeviceDriver(Protocol):
    """One field device behind one protocol (SunSpec Modbus, IEC 61850 MMS)."""

    @property
    def der_id(self) -> str: ...

    async def connect(self) -> None:
        """Open the connection and discover what the device offers (model chain, SCL)."""

    async def read(self) -> Reading:
        """One reading normalised to the domain (W, generator sign, quality, source ts)."""

    async def apply_setpoint(self, p_w: float, revert_after_s: float) -> Applied:
        """Write an active-power setpoint; the device reverts by itself after
        ``revert_after_s`` unless refreshed (SunSpec ``*RvrtTms``, or the driver's own
        equivalent)."""

    async def release(self) -> None:
        """Return the device to its default (autonomous) mode now."""

    async def close(self) -> None: ...


@runtime_checkable
class RatingsSource(Protocol):
    """A driver that reads the DER's ratings from the device (``ratings: device``)."""

    def discovered_ratings(self) -> DerRatings | None: ...
