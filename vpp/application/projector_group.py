"""A group of projector processes sharing the work by leases.

The work is cut into units: the ``P`` telemetry partitions (a fixed count, a property of
the stream, independent of how many processes run) and one ``main`` unit (the commands
and acks projections and the roll-ups, which must have a single owner).  Every process
runs :class:`ProjectorGroup`: each cycle it says it is alive on the :class:`LeaseBoard`,
reads who holds which lease, and moves towards its quota — the live members sorted by
name, member ``i`` of ``n`` owns ``P // n`` partitions, one more if ``i < P % n``:

- more than its quota: it stops the highest of its partitions (their last batch is
  committed and acked) and only then releases their leases;
- fewer: it claims free ones (never claimed, released, or of a member gone silent for
  longer than the board's time to live) and starts them;
- ``main``: whoever holds it keeps it; when it is free, the first to claim it wins.

A lease someone else holds now (this process was dropped while it stalled) stops its
work at once.  Handing a partition over never loses or doubles a reading: its position is
committed with its rows, the new owner starts right after it, and a message at or below
it is skipped (:mod:`vpp.application.projector`).  The board being away changes nothing:
the process keeps what it holds (nobody can take it meanwhile) and tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from vpp.application.ports import LeaseBoard, ProjectorMetrics, UnitRunner

log = logging.getLogger(__name__)

MAIN = "main"


def partition_key(partition: int, partitions: int) -> str:
    """The lease (and projection) name of a telemetry partition; ``telemetry`` when the
    stream is not partitioned (one process projects all of it, as before partitions)."""
    return "telemetry" if partitions == 1 else f"telemetry-p{partition}"


def quota(me: str, members: frozenset[str], partitions: int) -> int:
    ranked = sorted(members)
    if me not in ranked:
        return 0
    n, rank = len(ranked), ranked.index(me)
    return partitions // n + (1 if rank < partitions % n else 0)


@dataclass
class _Running:
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass
class GroupState:
    """What this process holds, for readiness and metrics."""

    members: frozenset[str] = frozenset()
    owned: tuple[int, ...] = ()
    quota: int = 0
    main: bool = False
    main_owner: str | None = None
    board_ok: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Owning its share (possibly nothing) while someone holds ``main``."""
        return self.board_ok and len(self.owned) == self.quota and self.main_owner is not None


class ProjectorGroup:
    def __init__(
        self,
        instance: str,
        board: LeaseBoard,
        partitions: int,
        start_partition: Callable[[int], UnitRunner],
        start_main: Callable[[], UnitRunner],
        *,
        interval_s: float = 1.0,
        metrics: ProjectorMetrics | None = None,
    ) -> None:
        self.instance = instance
        self.board = board
        self.partitions = partitions
        self.start_partition = start_partition
        self.start_main = start_main
        self.interval_s = interval_s
        self.metrics = metrics
        self.state = GroupState()
        self._parts: dict[int, _Running] = {}
        self._main: _Running | None = None
        self._members: frozenset[str] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle until ``stop``; then stop every unit (partitions first, so the final
        roll-up of ``main`` sees their last rows), release the leases, leave.  The
        heartbeat has its own task: stopping units (a batch to finish) never delays it."""
        beat = asyncio.create_task(self._beat(stop), name=f"{self.instance}-heartbeat")
        try:
            while not stop.is_set():
                await self.cycle()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await self._shutdown()

    async def _beat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._heartbeat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    async def _heartbeat(self) -> frozenset[str] | None:
        try:
            self._members = await self.board.heartbeat(self.instance)
        except Exception as exc:  # the board is away: keep what is held, try again
            self.state.board_ok = False
            log.warning("projector %s: lease board unavailable (%s)", self.instance, exc)
            return None
        return self._members

    async def cycle(self) -> None:
        members = self._members or await self._heartbeat()
        if members is None:
            return
        try:
            keys = [partition_key(p, self.partitions) for p in range(self.partitions)]
            owners = await self.board.owners([*keys, MAIN], members)
        except Exception as exc:
            self.state.board_ok = False
            log.warning("projector %s: lease board unavailable (%s)", self.instance, exc)
            return
        self.state.board_ok = True
        self.state.members = members
        await self._drop_lost(owners)
        await self._balance(members, owners)
        await self._hold_main(members, owners)
        self._restart_failed()
        self.state.owned = tuple(sorted(self._parts))
        self.state.quota = quota(self.instance, members, self.partitions)
        self.state.main = self._main is not None
        if self.metrics is not None:
            self.metrics.set_partitions_owned(len(self._parts), self.partitions)
            self.metrics.set_main_owned(self._main is not None)

    async def _drop_lost(self, owners: dict[str, str | None]) -> None:
        """Work whose lease is someone else's now stops (this process was dropped)."""
        for p in list(self._parts):
            owner = owners[partition_key(p, self.partitions)]
            if owner is not None and owner != self.instance:
                log.warning("projector %s: partition %d taken by %s", self.instance, p, owner)
                await self._stop(self._parts.pop(p))
        owner = owners[MAIN]
        if self._main is not None and owner is not None and owner != self.instance:
            log.warning("projector %s: main taken by %s", self.instance, owner)
            await self._stop(self._main)
            self._main = None

    async def _balance(self, members: frozenset[str], owners: dict[str, str | None]) -> None:
        mine = sorted(
            p
            for p in range(self.partitions)
            if owners[partition_key(p, self.partitions)] == self.instance
        )
        target = quota(self.instance, members, self.partitions)
        extra = mine[target:]  # too many: stop first (all at once), then release
        await asyncio.gather(*(self._stop(self._parts.pop(p)) for p in extra if p in self._parts))
        for p in extra:
            await self.board.release(partition_key(p, self.partitions), self.instance)
            log.info("projector %s: released partition %d", self.instance, p)
        for p in mine[:target]:  # held from an earlier life of this instance
            if p not in self._parts:
                self._parts[p] = self._start(self.start_partition(p), f"p{p}")
        free = [
            p for p in range(self.partitions) if owners[partition_key(p, self.partitions)] is None
        ]
        for p in free[: max(0, target - len(mine))]:
            if await self.board.claim(partition_key(p, self.partitions), self.instance, members):
                self._parts[p] = self._start(self.start_partition(p), f"p{p}")
                log.info("projector %s: took partition %d", self.instance, p)

    async def _hold_main(self, members: frozenset[str], owners: dict[str, str | None]) -> None:
        owner = owners[MAIN]
        if owner is None and await self.board.claim(MAIN, self.instance, members):
            owner = self.instance
            log.info("projector %s: took main (commands, acks, roll-ups)", self.instance)
        self.state.main_owner = owner
        if owner == self.instance and self._main is None:
            self._main = self._start(self.start_main(), MAIN)

    def _restart_failed(self) -> None:
        """A unit whose work ended by itself (a failure) is started again."""
        for p, running in list(self._parts.items()):
            if running.task.done():
                self._note(running, f"p{p}")
                self._parts[p] = self._start(self.start_partition(p), f"p{p}")
        if self._main is not None and self._main.task.done():
            self._note(self._main, MAIN)
            self._main = self._start(self.start_main(), MAIN)

    def _note(self, running: _Running, name: str) -> None:
        exc = None if running.task.cancelled() else running.task.exception()
        self.state.notes.append(f"{name} ended ({exc}), restarted")
        del self.state.notes[:-20]
        log.warning("projector %s: %s ended (%s), restarting", self.instance, name, exc)

    def _start(self, runner: UnitRunner, name: str) -> _Running:
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop), name=f"{self.instance}-{name}")
        return _Running(stop, task)

    async def _stop(self, running: _Running) -> None:
        running.stop.set()
        with contextlib.suppress(Exception):
            await running.task

    async def _shutdown(self) -> None:
        parts, self._parts = self._parts, {}
        await asyncio.gather(*(self._stop(r) for r in parts.values()))
        if self._main is not None:
            await self._stop(self._main)
            self._main = None
        with contextlib.suppress(Exception):
            for p in parts:
                await self.board.release(partition_key(p, self.partitions), self.instance)
            await self.board.release(MAIN, self.instance)
            await self.board.leave(self.instance)
        self.state.owned, self.state.main = (), False
