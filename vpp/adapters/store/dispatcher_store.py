"""The dispatcher's side of the dispatch tables: open dispatches and their progress.

The API inserts dispatches (``accepted``) and cancels them; the dispatcher moves them
through ``planned`` → ``active`` → ``completed``/``failed`` and writes targets, plan and
delivered figures per interval.  Each update is one short transaction, retried on write
conflicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select, update

from vpp.adapters.store import schema as s
from vpp.adapters.store.read_models import SqlReadModelStore
from vpp.application.dispatcher import IntervalState, OpenDispatch
from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchMode, DispatchStatus

OPEN = (DispatchStatus.ACCEPTED, DispatchStatus.PLANNED, DispatchStatus.ACTIVE)
_DISPATCH_FIELDS = {"status", "baseline_w", "detail", "shortfall_w"}
_INTERVAL_FIELDS = {
    "p_w_target",
    "p_w_planned",
    "energy_wh_target",
    "energy_wh_delivered",
    "p_w_measured_last",
}


class SqlDispatcherStore(SqlReadModelStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._registry: dict[str, Der] = {}
        self._registry_version: tuple[Any, ...] | None = None

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]:
        """The registry, reloaded only when it changed (row count or newest ``updated_at``):
        every cycle asks for every member of every open dispatch, and building a thousand
        DERs from rows costs more than the rest of the cycle's reads together."""
        with self.engine.connect() as con:
            version = tuple(con.execute(select(func.count(), func.max(s.ders.c.updated_at))).one())
        if version != self._registry_version:
            self._registry = super().ders()
            self._registry_version = version
        if der_ids is None:
            return dict(self._registry)
        return {d: self._registry[d] for d in der_ids if d in self._registry}

    def open_dispatches(self) -> list[OpenDispatch]:
        d, i = s.dispatches, s.dispatch_intervals
        with self.engine.connect() as con:
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
        with self.engine.connect() as con:
            return con.execute(q).first() is not None

    def update_dispatch(self, dispatch_id: str, now: datetime, **fields: Any) -> None:
        """Update an open dispatch; a cancellation that came in meanwhile is never undone."""
        unknown = set(fields) - _DISPATCH_FIELDS
        if unknown:
            raise ValueError(f"unknown dispatch fields {sorted(unknown)}")
        d = s.dispatches
        stmt = (
            update(d)
            .where(and_(d.c.dispatch_id == dispatch_id, d.c.status.in_([x.value for x in OPEN])))
            .values(updated_at=now, **fields)
        )
        self._write(lambda con: con.execute(stmt))

    def update_interval(self, dispatch_id: str, idx: int, **fields: Any) -> None:
        unknown = set(fields) - _INTERVAL_FIELDS
        if unknown:
            raise ValueError(f"unknown interval fields {sorted(unknown)}")
        i = s.dispatch_intervals
        stmt = (
            update(i).where(and_(i.c.dispatch_id == dispatch_id, i.c.idx == idx)).values(**fields)
        )
        self._write(lambda con: con.execute(stmt))
