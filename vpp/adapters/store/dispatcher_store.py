"""The dispatcher's side of the dispatch tables: open dispatches and their progress.

The API inserts dispatches (``accepted``) and cancels them; the dispatcher moves them
through ``planned`` → ``active`` → ``completed``/``failed`` and writes targets, plan and
delivered figures per interval.  Each update is one short transaction, retried on write
conflicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy import update as update_

from vpp.adapters.store import dispatcher_progress as progress
from vpp.adapters.store import schema as s
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.adapters.store.transactions import reading, writing
from vpp.application.ports import (
    DispatchUpdate,
    IntervalState,
    IntervalUpdate,
    OpenDispatch,
    tally_from_columns,
)
from vpp.domain.commands import CommandAck
from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchMode, DispatchStatus
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading

OPEN = (DispatchStatus.ACCEPTED, DispatchStatus.PLANNED, DispatchStatus.ACTIVE)


class SqlDispatcherStore:
    """Implements :class:`vpp.application.ports.DispatcherStore`: the registry and latest
    state through a :class:`SqlRegistryStore`, the dispatch progress itself here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = SqlRegistryStore(engine)
        self._ders: dict[str, Der] = {}
        self._ders_version: tuple[Any, ...] | None = None

    def plant(self, plant_id: str) -> Plant | None:
        return self.registry.plant(plant_id)

    def latest_readings(self, der_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        return self.registry.latest_readings(der_ids)

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]:
        """The registry, reloaded only when it changed (row count or newest ``updated_at``):
        every cycle asks for every member of every open dispatch, and building a thousand
        DERs from rows costs more than the rest of the cycle's reads together."""
        with reading(self.engine) as con:
            version = tuple(con.execute(select(func.count(), func.max(s.ders.c.updated_at))).one())
        if version != self._ders_version:
            self._ders = self.registry.ders()
            self._ders_version = version
        if der_ids is None:
            return dict(self._ders)
        return {d: self._ders[d] for d in der_ids if d in self._ders}

    def open_dispatches(self) -> list[OpenDispatch]:
        d, i = s.dispatches, s.dispatch_intervals
        with reading(self.engine) as con:
            rows = list(
                con.execute(
                    select(d).where(d.c.status.in_([x.value for x in OPEN])).order_by(d.c.start)
                )
            )
            if not rows:
                return []
            ids = [r.dispatch_id for r in rows]
            intervals: dict[str, list[IntervalState]] = defaultdict(list)
            for r in con.execute(select(i).where(i.c.dispatch_id.in_(ids)).order_by(i.c.idx)):
                intervals[r.dispatch_id].append(
                    IntervalState(
                        r.idx,
                        r.start,
                        r.duration_s,
                        r.p_w_requested,
                        r.p_w_target,
                        r.energy_wh_delivered or 0.0,
                        r.energy_wh_shortfall or 0.0,
                        tally_from_columns(r),
                    )
                )
        return [
            OpenDispatch(
                r.dispatch_id,
                r.tenant_id,
                r.plant_id,
                DispatchMode(r.mode),
                DispatchStatus(r.status),
                r.baseline_w,
                intervals[r.dispatch_id],
            )
            for r in rows
            if intervals[r.dispatch_id]
        ]

    def has_accepted(self) -> bool:
        d = s.dispatches
        q = select(d.c.dispatch_id).where(d.c.status == DispatchStatus.ACCEPTED.value).limit(1)
        with reading(self.engine) as con:
            return con.execute(q).first() is not None

    def update_dispatch(self, dispatch_id: str, now: datetime, update: DispatchUpdate) -> None:
        """Update an open dispatch; a cancellation that came in meanwhile is never undone."""
        stmt = progress.dispatch_update_stmt(dispatch_id, now, update)
        writing(self.engine, lambda con: con.execute(stmt))

    def save_cycle(
        self,
        dispatch_id: str,
        now: datetime,
        update: DispatchUpdate,
        intervals: Mapping[int, IntervalUpdate],
        loop_state: Mapping[str, Any],
    ) -> None:
        progress.save_cycle(self.engine, dispatch_id, now, update, intervals, loop_state)

    def loop_state(self, dispatch_id: str) -> dict[str, Any] | None:
        return progress.loop_state(self.engine, dispatch_id)

    def acks_for(self, command_ids: Iterable[str]) -> list[CommandAck]:
        return progress.acks_for(self.engine, command_ids)

    def power_history(
        self, der_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        return progress.power_history(self.engine, der_ids, start, end)

    def unhealthy(self, der_ids: Iterable[str]) -> frozenset[str]:
        return progress.unhealthy(self.engine, der_ids)

    def update_interval(self, dispatch_id: str, idx: int, update: IntervalUpdate) -> None:
        values = update.values()
        if not values:
            return
        i = s.dispatch_intervals
        stmt = update_(i).where(and_(i.c.dispatch_id == dispatch_id, i.c.idx == idx)).values(values)
        writing(self.engine, lambda con: con.execute(stmt))
