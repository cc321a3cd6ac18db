"""Ports of the projector: where projected rows and stream positions are committed, the
roll-ups kept beside them, where committed row changes go (the change feed), and which
gateway each DER is registered behind (telemetry is bound to its gateway)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.telemetry import DeviceHealth, ReadingRow

#: a canal-json change record (TiCDC's shape: database, table, pkNames, type, es, ts,
#: data, old, mysqlType); JSON values, built by the store adapter after its commit
ChangeRecord = dict[str, object]


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a projection stands in a stream: the last message it committed."""

    projection: str
    stream: str
    stream_seq: int


class ProjectionWriter(Protocol):
    """Rows of a projection, committed in one transaction with the projection's position,
    so a restart resumes exactly where the committed data ends.  Each write returns the
    change records of what it committed."""

    def position(self, projection: str) -> int:
        """Last committed stream sequence of ``projection`` (0 before the first)."""

    def record_reading_rows(
        self,
        rows: Sequence[ReadingRow],
        position: StreamPosition | None = None,
        *,
        health: Sequence[DeviceHealth] = (),
    ) -> list[ChangeRecord]:
        """Readings, and the gateway's health statements of its devices (newest wins)."""

    def record_commands(
        self, cmds: Sequence[SetpointCommand], position: StreamPosition | None = None
    ) -> list[ChangeRecord]: ...

    def record_acks(
        self, acks: Sequence[CommandAck], position: StreamPosition | None = None
    ) -> list[ChangeRecord]: ...


class RollupMaintainer(Protocol):
    """The 1-minute roll-ups of telemetry, brought up to date off the ingest hot path."""

    def roll_up(self, *, include_open: bool = True) -> int:
        """Recompute every dirty minute; ``include_open=False`` leaves the minute still
        filling for later.  Returns the number of buckets written."""


class ChangePublisher(Protocol):
    async def publish_changes(self, changes: Sequence[ChangeRecord]) -> None: ...


class DerGateways(Protocol):
    """The registry's answer to "behind which gateway is this DER?" (``ders.gateway_id``)."""

    def der_gateways(self, der_ids: Iterable[str] | None = None) -> dict[str, str]:
        """der id → gateway id of the registered DERs among ``der_ids`` (of all DERs when
        ``None``); an unregistered DER is absent."""
