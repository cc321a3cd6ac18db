"""The dispatcher's per-cycle writes and the reads that make it restart-safe.

``save_cycle`` writes a dispatch's status, its intervals' progress (energy, shortfall,
tracking sums) and the loop state in one transaction: after a crash the store holds either
the whole cycle or none of it.  ``power_history`` gives the members' readings over the
time the dispatcher was away; ``acks_for`` the gateways' answers to the setpoints in force.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy import update as update_

from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import upsert
from vpp.application.ports import DispatchUpdate, IntervalUpdate
from vpp.domain.commands import AckOutcome, CommandAck
from vpp.domain.dispatch import DispatchStatus
from vpp.domain.units import Quality

OPEN = (DispatchStatus.ACCEPTED, DispatchStatus.PLANNED, DispatchStatus.ACTIVE)


def dispatch_update_stmt(dispatch_id: str, now: datetime, update: DispatchUpdate) -> Any:
    """Update an open dispatch (a cancellation that came in meanwhile is never undone)."""
    d = s.dispatches
    return (
        update_(d)
        .where(and_(d.c.dispatch_id == dispatch_id, d.c.status.in_([x.value for x in OPEN])))
        .values(updated_at=now, **update.values())
    )


def save_cycle(
    engine: Engine,
    dispatch_id: str,
    now: datetime,
    update: DispatchUpdate,
    intervals: Mapping[int, IntervalUpdate],
    loop_state: Mapping[str, Any],
) -> None:
    i = s.dispatch_intervals
    state = json.dumps(loop_state, separators=(",", ":"))

    def write(con: Connection) -> None:
        con.execute(dispatch_update_stmt(dispatch_id, now, update))
        for idx, iv in sorted(intervals.items()):
            values = iv.values()
            if values:
                con.execute(
                    update_(i)
                    .where(and_(i.c.dispatch_id == dispatch_id, i.c.idx == idx))
                    .values(values)
                )
        row = {"dispatch_id": dispatch_id, "state": state, "updated_at": now}
        upsert(con, s.dispatch_loops, [row])

    writing(engine, write)


def loop_state(engine: Engine, dispatch_id: str) -> dict[str, Any] | None:
    t = s.dispatch_loops
    with reading(engine) as con:
        text = con.execute(select(t.c.state).where(t.c.dispatch_id == dispatch_id)).scalar()
    return None if text is None else dict(json.loads(text))


def acks_for(engine: Engine, command_ids: Iterable[str]) -> list[CommandAck]:
    ids = sorted(set(command_ids))
    if not ids:
        return []
    a = s.acks
    with reading(engine) as con:
        rows = list(con.execute(select(a).where(a.c.command_id.in_(ids))))
    return [
        CommandAck(
            command_id=r.command_id,
            der_id=r.der_id,
            gateway_id=r.gateway_id,
            seq=r.seq,
            outcome=AckOutcome(r.outcome),
            ts=r.ts,
            p_w_requested=r.p_w_requested,
            p_w_applied=r.p_w_applied,
            clamped=bool(r.clamped),
            reason=r.reason or "",
            dispatch_id=r.dispatch_id,
        )
        for r in rows
    ]


def power_history(
    engine: Engine, der_ids: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Per DER, its usable readings in ``[start, end)`` plus the last one before ``start``."""
    ids = sorted(set(der_ids))
    t = s.telemetry
    usable = t.c.quality != Quality.INVALID.value
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    with reading(engine) as con:
        before = (
            select(t.c.der_id, func.max(t.c.ts).label("ts"))
            .where(t.c.der_id.in_(ids), t.c.ts < start, usable)
            .group_by(t.c.der_id)
            .subquery()
        )
        q = select(t.c.der_id, t.c.ts, t.c.p_w).join(
            before, and_(t.c.der_id == before.c.der_id, t.c.ts == before.c.ts)
        )
        for r in con.execute(q):
            out[r.der_id].append((r.ts, float(r.p_w)))
        q = (
            select(t.c.der_id, t.c.ts, t.c.p_w)
            .where(t.c.der_id.in_(ids), t.c.ts >= start, t.c.ts < end, usable)
            .order_by(t.c.der_id, t.c.ts)
        )
        for r in con.execute(q):
            out[r.der_id].append((r.ts, float(r.p_w)))
    return dict(out)


def unhealthy(engine: Engine, der_ids: Iterable[str]) -> frozenset[str]:
    ids = sorted(set(der_ids))
    if not ids:
        return frozenset()
    d = s.ders
    with reading(engine) as con:
        q = select(d.c.der_id).where(d.c.der_id.in_(ids), d.c.healthy.is_(False))
        return frozenset(con.execute(q).scalars())
