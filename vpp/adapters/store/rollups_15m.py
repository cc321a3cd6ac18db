"""15-minute roll-ups of telemetry, from the 1-minute roll-ups, maintained as those are.

A 15-minute bucket aggregates the 1-minute buckets of its quarter hour: ``n`` and
``n_bad`` summed, ``p_w_avg`` (and ``q_var_avg``) weighted by each minute's ``n`` — so it
equals the average of the raw readings it covers (for ``q_var_avg`` exactly when every
reading of the quarter carries ``q_var`` or none does) — ``p_w_min``/``p_w_max`` the
extremes, ``soc_last`` that of the newest minute.

Its watermark (``rollup_watermarks`` row ``telemetry_15m``) is lowered by the 1-minute
roll-up to the first minute it recomputes, before it writes anything
(:func:`vpp.adapters.store.rollups.roll_up`), and :func:`roll_up_15m` runs after it:
every quarter from that watermark up to where the 1-minute roll-ups are complete is
recomputed.  A crash in between only means the same quarters are recomputed next time.
Readers serve the quarters from the watermark on from the stored 1-minute rows
(:func:`live_quarters`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, and_, cast, func, literal_column, select, update
from sqlalchemy.engine import Connection

from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import upsert
from vpp.runtime import utc_now

NAME = "telemetry_15m"
QUARTER = timedelta(minutes=15)
CHUNK = timedelta(hours=6)


def quarter(ts: datetime) -> datetime:
    """The start of ``ts``'s quarter hour."""
    return ts.replace(minute=ts.minute - ts.minute % 15, second=0, microsecond=0)


def _quarter_expr(dialect: str) -> Any:
    b = s.telemetry_1m.c.bucket
    if dialect == "sqlite":  # ISO text 'YYYY-MM-DD HH:MM:SS.ffffff'
        minute = cast(func.substr(b, 15, 2), Integer) // 15 * 15
        return func.substr(b, 1, 14).op("||")(func.printf("%02d:00", minute))
    back = func.timestampadd(literal_column("MINUTE"), -(func.minute(b) % 15), b)
    return func.date_format(back, "%Y-%m-%d %H:%i:00")


def quarter_rows(
    con: Connection, lo: datetime, hi: datetime, der_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """15-minute rows of every DER (or of ``der_ids``) from the 1-minute buckets in
    ``[lo, hi)`` (``lo`` and ``hi`` on quarter boundaries)."""
    m = s.telemetry_1m
    where = and_(m.c.bucket >= lo, m.c.bucket < hi)
    if der_ids is not None:
        where = and_(where, m.c.der_id.in_(list(der_ids)))
    q_bucket = _quarter_expr(con.dialect.name).label("q_bucket")
    groups = (
        select(
            m.c.der_id,
            q_bucket,
            func.sum(m.c.n).label("n"),
            (func.sum(m.c.p_w_avg * m.c.n) / func.sum(m.c.n)).label("p_w_avg"),
            func.min(m.c.p_w_min).label("p_w_min"),
            func.max(m.c.p_w_max).label("p_w_max"),
            (func.sum(m.c.q_var_avg * m.c.n) / func.sum(m.c.n)).label("q_var_avg"),
            func.sum(m.c.n_bad).label("n_bad"),
            func.max(m.c.bucket).label("last_bucket"),
        )
        .where(where)
        .group_by(m.c.der_id, q_bucket)
        .subquery()
    )
    last = s.telemetry_1m.alias("last")
    q = select(groups, last.c.soc_last).join(
        last, and_(last.c.der_id == groups.c.der_id, last.c.bucket == groups.c.last_bucket)
    )
    return [
        {
            "der_id": g.der_id,
            "bucket": datetime.fromisoformat(str(g.q_bucket)).replace(tzinfo=UTC),
            "n": int(g.n),
            "p_w_avg": float(g.p_w_avg),
            "p_w_min": float(g.p_w_min),
            "p_w_max": float(g.p_w_max),
            "q_var_avg": None if g.q_var_avg is None else float(g.q_var_avg),
            "soc_last": g.soc_last,
            "n_bad": int(g.n_bad or 0),
        }
        for g in con.execute(q)
    ]


def _dirty_from(con: Connection) -> datetime | None:
    w = s.rollup_watermarks
    return con.execute(select(w.c.dirty_from).where(w.c.name == NAME)).scalar_one_or_none()


def roll_up_15m(engine: Engine, complete_until: datetime | None, *, batch_rows: int = 5000) -> int:
    """Recompute the quarters from the watermark on, up to ``complete_until`` (where the
    1-minute roll-ups stop being complete; ``None``: all of them are, the newest quarter
    included); returns the number of buckets written."""
    with reading(engine) as con:
        dirty = _dirty_from(con)
        if dirty is None:  # every quarter is stored
            return 0
        newest = con.execute(select(func.max(s.telemetry_1m.c.bucket))).scalar_one_or_none()
    if newest is None:
        return 0
    lo = quarter(dirty)
    end = quarter(newest) + QUARTER if complete_until is None else quarter(complete_until)
    if lo >= end:
        return 0
    written = 0
    while lo < end:
        hi = min(end, lo + CHUNK)
        with reading(engine) as con:
            rows = quarter_rows(con, lo, hi)
        for i in range(0, len(rows), batch_rows):
            part = rows[i : i + batch_rows]
            writing(engine, functools.partial(upsert, table=s.telemetry_15m, rows=part))
        written += len(rows)
        lo = hi
    w = s.rollup_watermarks
    moved = (
        update(w)
        .where(w.c.name == NAME)
        .values(dirty_from=None if complete_until is None else end, updated_at=utc_now())
    )
    writing(engine, lambda con: con.execute(moved))
    return written


def live_quarters(
    con: Connection, der_ids: Sequence[str], start: datetime, end: datetime
) -> tuple[datetime | None, list[dict[str, Any]]]:
    """``(cut, rows)``: 15-minute rows of ``der_ids`` computed from the stored 1-minute
    roll-ups for the quarters of ``[start, end)`` from the watermark on (``cut``); the
    stored 15-minute rows serve the quarters before it."""
    dirty = _dirty_from(con)
    cut = None if dirty is None else quarter(dirty)
    if cut is None or cut >= end or not der_ids:
        return cut, []
    return cut, quarter_rows(con, max(cut, quarter(start)), end, der_ids)
