"""The metrics ports of the gateway and the dispatcher: what they count and measure, in
their own words.  The Prometheus adapters (``vpp.adapters.prometheus``) name and expose
them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class GatewayMetrics(Protocol):
    def observe_poll(self, seconds: float) -> None:
        """Time to read one device."""

    def observe_cycle(self, seconds: float) -> None:
        """Time from a poll cycle's start until all its devices were read."""

    def observe_publish_lag(self, seconds: float) -> None:
        """Time from buffering a telemetry batch until JetStream acknowledged it."""

    def set_buffer(self, readings: int, size_bytes: int) -> None:
        """Readings and bytes waiting in the local store."""

    def count_buffer_dropped(self, readings: int) -> None:
        """Readings dropped because the local store reached its bound (oldest first)."""

    def count_readings(self, der_id: str, n: int = 1) -> None: ...

    def set_device_healthy(self, der_id: str, healthy: bool) -> None: ...

    def count_device_error(self, der_id: str) -> None: ...

    def count_command(self, outcome: str) -> None:
        """One command outcome (applied, rejected, expired, failed, ...)."""

    def count_refused(self, reason: str) -> None:
        """One command refused before the command rules saw it (``unsigned``,
        ``unknown_key``, ``bad_signature``, ``replayed``, ``stale_epoch``): never applied."""

    def count_dead_letter(self) -> None:
        """One undecodable command message."""

    def count_nats_refusal(self, kind: str) -> None:
        """The NATS server refused something this gateway tried (``permission``: a
        publish or subscription outside its rights; ``authorization``: its identity at
        connect): a misconfiguration or a tampered box, never normal operation."""

    def count_reverted(self, reason: str) -> None:
        """One device returned to its default mode, and why."""

    def set_uplink_up(self, up: bool) -> None: ...


class DispatcherMetrics(Protocol):
    def observe_cycle(self, seconds: float) -> None:
        """Time one leading cycle took (every open dispatch once)."""

    def count_commands(self, n: int) -> None:
        """Setpoint commands sent."""

    def set_leader(self, leading: bool, epoch: int) -> None:
        """Whether this instance leads, and the fencing epoch it last knew."""

    def set_tracking(self, dispatch_id: str, error_w: float, in_band: float | None) -> None:
        """An open dispatch's measured minus target power (W) and its current interval's
        share of samples within the tracking band (None: none judged yet)."""

    def keep_dispatches(self, dispatch_ids: Iterable[str]) -> None:
        """Forget the tracking figures of every dispatch not in ``dispatch_ids``."""


class ProjectorMetrics(Protocol):
    """What a projector process counts, per projection (``telemetry``, ``telemetry-p3``,
    ``commands``, ``acks``)."""

    def count_batch(self, projection: str, items: int) -> None:
        """One committed transaction of ``items`` items."""

    def count_dead_letter(self, projection: str) -> None: ...

    def set_position(self, projection: str, lag: int, pending: int) -> None:
        """``lag``: the stream's last sequence minus the committed one; ``pending``: what
        the projection's consumer has not delivered yet."""

    def set_partitions_owned(self, owned: int, total: int) -> None: ...

    def set_main_owned(self, owned: bool) -> None:
        """Whether this process holds the commands, acks and roll-ups."""

    def forget(self, projection: str) -> None:
        """A projection handed over: its gauges go (its counters stay)."""
