"""Ports of the gateway towards its uplink and its own durable state: telemetry and ack
publishers, the command ledger, the uplink's state, and services with a start/close
lifecycle (publisher forwarder, command consumer, metrics endpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from vpp.domain.commands import CommandAck
from vpp.domain.der import DerKind, DerRatings
from vpp.domain.errors import VppError
from vpp.domain.telemetry import DeviceHealth, Reading


class TelemetryPublisher(Protocol):
    async def publish_readings(
        self, gateway_id: str, readings: Sequence[Reading], health: Sequence[DeviceHealth] = ()
    ) -> None:
        """Readings of one cycle, and the gateway's health statements of its devices."""


class AckPublisher(Protocol):
    async def publish_ack(self, ack: CommandAck) -> None: ...


class CommandNotYetValid(VppError):
    """A command whose ``valid_from`` lies ahead: hand it back, it comes again in time."""

    def __init__(self, command_id: str, delay_s: float) -> None:
        super().__init__(f"command {command_id} becomes valid in {delay_s:.1f} s")
        self.command_id = command_id
        self.delay_s = delay_s


class CommandLedger(Protocol):
    """Durable memory of commands: last applied sequence per DER, acks per command id."""

    def last_seq(self, der_id: str) -> int | None: ...

    def known_ack(self, command_id: str) -> CommandAck | None: ...

    async def record(self, ack: CommandAck) -> None:
        """Return once ``ack`` is durable (the caller publishes it only then)."""
        ...

    def highest_epoch(self) -> int:
        """The highest dispatcher fencing epoch seen in a verified command (0: none yet)."""
        ...

    async def raise_epoch(self, epoch: int) -> None:
        """Remember ``epoch`` as the highest seen (never lowers it); returns once durable."""
        ...


class Uplink(Protocol):
    @property
    def connected(self) -> bool: ...

    def down_for_s(self) -> float: ...


class Service(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What the use case knows about one configured device."""

    der_id: str
    kind: DerKind
    ratings: DerRatings | None  # None: read from the device at connect
    poll_s: float = 1.0
    site_id: str | None = None
    name: str = ""
