"""Projections: events from the streams become read-model rows, exactly once.

Each projection commits its rows and its stream position in one store transaction.  A
message at or below the committed position has been projected already and is skipped;
the store is idempotent anyway (natural keys), which covers replays that outlive
JetStream's dedupe window.  After each commit the row changes are published (canal-json)
for live queries.  Before a message's items are projected, :meth:`Projection.admit` may
refuse some of them (telemetry: readings of DERs not registered behind the gateway that
sent them); the feed dead-letters those with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from vpp.application.ports import (
    ChangePublisher,
    ChangeRecord,
    DerGateways,
    ProjectionWriter,
    ProjectorMetrics,
    RollupMaintainer,
    StreamPosition,
)
from vpp.application.telemetry_binding import GatewayBinding, Refusal
from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.telemetry import DeviceHealth, ReadingRow, TelemetryItem

Item = TypeVar("Item")
log = logging.getLogger(__name__)


@dataclass
class ProjectionStats:
    batches: int = 0
    items: int = 0
    skipped: int = 0
    refused: int = 0  # items refused by admit (dead-lettered by the feed)
    last_seq: int = 0
    change_errors: int = 0
    notes: list[str] = field(default_factory=list)


class Projection(Generic[Item]):
    """Project decoded items of one stream; ``_write`` is the store call for them."""

    def __init__(
        self,
        name: str,
        stream: str,
        store: ProjectionWriter,
        changes: ChangePublisher | None = None,
        *,
        max_rows: int = 5000,
        metrics: ProjectorMetrics | None = None,
        resume_after: str | None = None,
    ) -> None:
        self.name = name
        self.stream = stream
        self.store = store
        self.changes = changes
        self.stats = ProjectionStats()
        self._position: int | None = None
        self.max_rows = max_rows
        self.metrics = metrics
        #: before its first commit, a projection stands where this one stood (a partition
        #: of a stream that was projected whole before it was partitioned)
        self.resume_after = resume_after

    def _write(self, items: Sequence[Item], position: StreamPosition) -> list[ChangeRecord]:
        raise NotImplementedError

    async def admit(
        self, source: str, items: Sequence[Item]
    ) -> tuple[Sequence[Item], Refusal | None]:
        """The items of one message from ``source`` (the gateway of its subject) that may
        be projected, and the refusal of the others; all of them unless overridden."""
        return items, None

    async def position(self) -> int:
        if self._position is None:
            seq = await asyncio.to_thread(self.store.position, self.name)
            if seq == 0 and self.resume_after is not None:
                seq = await asyncio.to_thread(self.store.position, self.resume_after)
            self._position = seq
        return self._position

    async def project(self, batch: Sequence[tuple[int, Sequence[Item]]], last_seq: int) -> None:
        """``batch``: (stream sequence, decoded items) pairs in stream order; ``last_seq``:
        the highest sequence of the fetched batch, dead-lettered messages included.

        Items are written in transactions of at most ``max_rows`` (TiDB keeps transactions
        small); each commits the position of the last message it holds whole.
        """
        done = await self.position()
        todo = [(seq, its) for seq, its in batch if seq > done]
        self.stats.skipped += sum(len(its) for seq, its in batch if seq <= done)
        if last_seq <= done:
            return
        chunk: list[Item] = []
        for i, (seq, its) in enumerate(todo):
            chunk.extend(its)
            is_last = i == len(todo) - 1
            if len(chunk) >= self.max_rows or is_last:
                await self._commit(chunk, last_seq if is_last else seq)
                chunk = []
        if not todo:  # only dead letters: move the position past them
            await self._commit([], last_seq)

    async def flush(self) -> None:
        """Finish deferred work (called when the feed stops)."""

    async def _commit(self, items: list[Item], seq: int) -> None:
        pos = StreamPosition(self.name, self.stream, seq)
        changes = await asyncio.to_thread(self._write, items, pos)
        self._position = seq
        self.stats.batches += 1
        self.stats.items += len(items)
        self.stats.last_seq = seq
        if self.metrics is not None:
            self.metrics.count_batch(self.name, len(items))
        if self.changes is not None and changes:
            try:
                await self.changes.publish_changes(changes)
            except Exception as exc:  # the rows are committed; a lost change is counted
                self.stats.change_errors += 1
                self.stats.notes.append(f"change publish failed: {exc}")
                del self.stats.notes[:-20]


class RollupSchedule:
    """1-minute roll-ups of the minutes gone by every ``every_s``, of all minutes when
    stopped: the work of one process of a group (the holder of ``main``).  The store's
    roll-up is safe beside concurrent telemetry writes."""

    def __init__(self, rollups: RollupMaintainer, *, every_s: float = 5.0) -> None:
        self.rollups = rollups
        self.every_s = every_s
        self.buckets = 0

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.every_s)
                if not stop.is_set():
                    # the minute still filling is left for later: aggregated about once,
                    # not at every call (readers compute it from the raw rows meanwhile)
                    await self.roll_up(include_open=False)
        finally:
            await self.roll_up(include_open=True)

    async def roll_up(self, *, include_open: bool) -> None:
        try:
            self.buckets += await asyncio.to_thread(
                functools.partial(self.rollups.roll_up, include_open=include_open)
            )
        except Exception as exc:  # the store is away: the next call recomputes it all
            log.warning("roll-up failed (%s)", exc)


class TelemetryProjection(Projection[TelemetryItem]):
    """Telemetry rows and latest state (of the whole stream, or of one partition: ``name``
    ``telemetry-p<i>``); the gateway's health statements into ``ders.healthy``.  With
    ``rollups``, 1-minute roll-ups of the minutes gone by every ``rollup_every_s`` and of
    all minutes when the feed stops (a projector group runs a :class:`RollupSchedule`
    instead, in one process).

    Items are reading rows (:data:`vpp.domain.telemetry.READING_ROW_FIELDS`) and
    :class:`DeviceHealth` statements; only those of DERs registered behind the sending
    gateway are admitted (``ders`` says which)."""

    def __init__(
        self,
        store: ProjectionWriter,
        rollups: RollupMaintainer | None,
        ders: DerGateways,
        changes: ChangePublisher | None = None,
        *,
        rollup_every_s: float = 5.0,
        name: str = "telemetry",
        metrics: ProjectorMetrics | None = None,
        resume_after: str | None = None,
    ) -> None:
        super().__init__(
            name, "TELEMETRY", store, changes, metrics=metrics, resume_after=resume_after
        )
        self.binding = GatewayBinding(ders)
        self.schedule = None if rollups is None else RollupSchedule(rollups, every_s=rollup_every_s)
        self._last_rollup = time.monotonic()

    async def admit(
        self, source: str, items: Sequence[TelemetryItem]
    ) -> tuple[Sequence[TelemetryItem], Refusal | None]:
        kept, refusal = await self.binding.screen(source, items)
        if refusal is not None:
            self.stats.refused += refusal.items
        return kept, refusal

    def _write(
        self, items: Sequence[TelemetryItem], position: StreamPosition
    ) -> list[ChangeRecord]:
        rows: list[ReadingRow] = []
        health: list[DeviceHealth] = []
        for item in items:
            if isinstance(item, DeviceHealth):
                health.append(item)
            else:
                rows.append(item)
        return self.store.record_reading_rows(rows, position, health=health)

    async def _commit(self, items: list[TelemetryItem], seq: int) -> None:
        await super()._commit(items, seq)
        if (
            self.schedule is not None
            and time.monotonic() - self._last_rollup >= self.schedule.every_s
        ):
            self._last_rollup = time.monotonic()
            await self.schedule.roll_up(include_open=False)

    async def flush(self) -> None:
        if self.schedule is not None:
            await self.schedule.roll_up(include_open=True)


class CommandProjection(Projection[SetpointCommand]):
    def __init__(
        self,
        store: ProjectionWriter,
        changes: ChangePublisher | None = None,
        metrics: ProjectorMetrics | None = None,
    ) -> None:
        super().__init__("commands", "COMMANDS", store, changes, metrics=metrics)

    def _write(
        self, items: Sequence[SetpointCommand], position: StreamPosition
    ) -> list[ChangeRecord]:
        return self.store.record_commands(items, position)


class AckProjection(Projection[CommandAck]):
    def __init__(
        self,
        store: ProjectionWriter,
        changes: ChangePublisher | None = None,
        metrics: ProjectorMetrics | None = None,
    ) -> None:
        super().__init__("acks", "ACKS", store, changes, metrics=metrics)

    def _write(self, items: Sequence[CommandAck], position: StreamPosition) -> list[ChangeRecord]:
        return self.store.record_acks(items, position)
