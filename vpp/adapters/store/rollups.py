"""One-minute roll-ups of telemetry, computed by the database, off the ingest hot path.

Each projection transaction that writes telemetry lowers a durable watermark,
``rollup_watermarks.dirty_from``, to the oldest reading it wrote (one single-row upsert).
:func:`roll_up` — run by one projector every few seconds and at shutdown, while the
telemetry partitions keep writing — first moves the watermark into its own row
(``telemetry_1m.taken``, in one transaction that only succeeds if no write lowered it
meanwhile), then recomputes every bucket from there on with one ``GROUP BY`` per hour of
data (a replayed reading can never count twice), upserts them in small transactions and
clears its row.  A write committed after the move lowers the watermark again, for the
next run; a crash in between only means the same buckets are recomputed next time.  The
state of charge of a bucket is that of its newest reading, found by a primary-key join.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from vpp.adapters.store import rollups_15m
from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import upsert
from vpp.domain.units import Quality
from vpp.runtime import utc_now

NAME = "telemetry_1m"
TAKEN = f"{NAME}.taken"
CHUNK = timedelta(hours=1)


def minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def mark_dirty_from(con: Connection, oldest: datetime, name: str = NAME) -> None:
    """Lower the watermark ``name`` to ``oldest`` (inside the caller's transaction)."""
    w = s.rollup_watermarks
    row = {"name": name, "dirty_from": oldest, "updated_at": utc_now()}
    if con.dialect.name == "sqlite":
        ins = sqlite.insert(w)
        lowest = func.min(
            func.coalesce(w.c.dirty_from, ins.excluded.dirty_from), ins.excluded.dirty_from
        )
        con.execute(
            ins.on_conflict_do_update(
                index_elements=["name"],
                set_={"dirty_from": lowest, "updated_at": ins.excluded.updated_at},
            ),
            [row],
        )
        return
    m = mysql.insert(w)
    least = func.least(func.coalesce(w.c.dirty_from, m.inserted.dirty_from), m.inserted.dirty_from)
    con.execute(
        m.on_duplicate_key_update([("dirty_from", least), ("updated_at", m.inserted.updated_at)]),
        [row],
    )


def _bucket_expr(dialect: str) -> Any:
    t = s.telemetry
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:00", t.c.ts)
    return func.date_format(t.c.ts, "%Y-%m-%d %H:%i:00")


def _buckets(
    con: Connection, lo: datetime, hi: datetime, der_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Roll-up rows of every DER (or of ``der_ids``) for readings in ``[lo, hi)``."""
    t = s.telemetry
    bucket = _bucket_expr(con.dialect.name).label("bucket")
    where = and_(t.c.ts >= lo, t.c.ts < hi)
    if der_ids is not None:
        where = and_(where, t.c.der_id.in_(list(der_ids)))
    groups = (
        select(
            t.c.der_id,
            bucket,
            func.count().label("n"),
            func.avg(t.c.p_w).label("p_w_avg"),
            func.min(t.c.p_w).label("p_w_min"),
            func.max(t.c.p_w).label("p_w_max"),
            func.avg(t.c.q_var).label("q_var_avg"),
            func.sum(case((t.c.quality != Quality.GOOD.value, 1), else_=0)).label("n_bad"),
            func.max(t.c.ts).label("last_ts"),
        )
        .where(where)
        .group_by(t.c.der_id, bucket)
        .subquery()
    )
    last = s.telemetry.alias("last")
    q = select(groups, last.c.soc).join(
        last, and_(last.c.der_id == groups.c.der_id, last.c.ts == groups.c.last_ts)
    )
    return [
        {
            "der_id": g.der_id,
            "bucket": datetime.fromisoformat(str(g.bucket)).replace(tzinfo=UTC),
            "n": int(g.n),
            "p_w_avg": float(g.p_w_avg),
            "p_w_min": float(g.p_w_min),
            "p_w_max": float(g.p_w_max),
            "q_var_avg": None if g.q_var_avg is None else float(g.q_var_avg),
            "soc_last": g.soc,
            "n_bad": int(g.n_bad or 0),
        }
        for g in con.execute(q)
    ]


def _take(con: Connection) -> datetime | None:
    """Move the watermark into the ``TAKEN`` row; the lowest instant to recompute from
    (``None``: nothing to do).  Raises :class:`_Lowered` when a write lowered it between
    the read and the move."""
    w = s.rollup_watermarks
    dirty = con.execute(select(w.c.dirty_from).where(w.c.name == NAME)).scalar_one_or_none()
    if dirty is not None:
        moved = con.execute(
            update(w)
            .where(w.c.name == NAME, w.c.dirty_from == dirty)
            .values(dirty_from=None, updated_at=utc_now())
        )
        if moved.rowcount != 1:
            raise _Lowered
        mark_dirty_from(con, dirty, TAKEN)
    taken = con.execute(select(w.c.dirty_from).where(w.c.name == TAKEN)).scalar_one_or_none()
    return taken if isinstance(taken, datetime) or taken is None else None


class _Lowered(Exception):
    pass


def _take_retried(engine: Engine) -> datetime | None:
    for _ in range(20):
        try:
            return writing(engine, _take)
        except _Lowered:
            continue
    return None  # writes keep lowering it: the next run takes it


def roll_up(engine: Engine, *, include_open: bool = True, batch_rows: int = 5000) -> int:
    """Recompute the buckets from the watermark on, then the 15-minute buckets from the
    15-minute watermark on (:mod:`vpp.adapters.store.rollups_15m`); returns the number
    of 1-minute buckets written.

    With ``include_open=False`` the minute of the newest reading, still filling, is left
    for later and the watermark moves to it: each minute is then aggregated about once,
    not again at every call (readers compute the minutes from the watermark on from the
    raw rows, see :func:`live_buckets`).  Safe beside concurrent telemetry writes; run by
    one process at a time (the projector group's ``main`` holder).
    """
    written, complete_until = _roll_up_minutes(engine, include_open, batch_rows)
    rollups_15m.roll_up_15m(engine, complete_until, batch_rows=batch_rows)
    return written


def _roll_up_minutes(
    engine: Engine, include_open: bool, batch_rows: int
) -> tuple[int, datetime | None]:
    """The 1-minute buckets written, and where the stored ones stop being complete
    (``None``: nowhere)."""
    w = s.rollup_watermarks
    dirty = _take_retried(engine)
    with reading(engine) as con:
        newest = con.execute(select(func.max(s.telemetry.c.ts))).scalar_one_or_none()
    if dirty is None or newest is None:
        return 0, None if dirty is None else minute(dirty)
    written = 0
    lo = minute(dirty)
    end = minute(newest) + (timedelta(minutes=1) if include_open else timedelta(0))

    def done(con: Connection) -> None:
        con.execute(update(w).where(w.c.name == TAKEN).values(dirty_from=None))
        if not include_open:  # the open minute stays dirty
            mark_dirty_from(con, max(end, lo))

    if lo >= end:
        writing(engine, done)
        return 0, lo
    # the quarters these minutes fall in are recomputed after them (rollups_15m)
    writing(engine, functools.partial(mark_dirty_from, oldest=lo, name=rollups_15m.NAME))
    while lo < end:
        hi = min(end, lo + CHUNK)
        with reading(engine) as con:
            rows = _buckets(con, lo, hi)
        for i in range(0, len(rows), batch_rows):
            writing(engine, functools.partial(_upsert_buckets, rows=rows[i : i + batch_rows]))
        written += len(rows)
        lo = hi
    writing(engine, done)
    return written, None if include_open else end


def open_from(con: Connection) -> datetime | None:
    """The first minute whose roll-up is not (or not yet correctly) stored; ``None``
    when every minute is (a roll-up in progress counts as not stored)."""
    w = s.rollup_watermarks
    marks = con.execute(
        select(w.c.dirty_from).where(w.c.name.in_([NAME, TAKEN]), w.c.dirty_from.is_not(None))
    ).scalars()
    found = [m for m in marks if m is not None]
    return minute(min(found)) if found else None


def live_buckets(
    con: Connection, der_ids: Sequence[str], start: datetime, end: datetime
) -> tuple[datetime | None, list[dict[str, Any]]]:
    """``(cut, rows)``: roll-up rows of ``der_ids`` computed from the raw readings for the
    minutes of ``[start, end)`` from the watermark on (``cut``); the stored roll-ups serve
    the minutes before ``cut``, so no minute is served twice or stale."""
    cut = open_from(con)
    if cut is None or cut >= end or not der_ids:
        return cut, []
    return cut, _buckets(con, max(cut, minute(start)), end, der_ids)


def _upsert_buckets(con: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(con, s.telemetry_1m, rows)


class SqlRollupMaintainer:
    """Implements :class:`vpp.application.ports.RollupMaintainer` with :func:`roll_up`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def roll_up(self, *, include_open: bool = True) -> int:
        return roll_up(self.engine, include_open=include_open)
