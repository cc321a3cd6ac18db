"""Bounded telemetry reads for the API: raw readings, 1- and 15-minute roll-ups, plant
sums, and where each level begins after retention (``kept_from``).

Implements :class:`vpp.application.ports.TelemetryReadStore`.  Every query carries
a ``LIMIT``; the caller asks for one row more than it will serve to detect overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, and_, func, select

from vpp.adapters.store import schema as s
from vpp.adapters.store.retention import kept_from
from vpp.adapters.store.rollups import live_buckets
from vpp.adapters.store.rollups_15m import live_quarters
from vpp.adapters.store.rows import row_reading
from vpp.adapters.store.transactions import reading
from vpp.application.ports import MINUTE, QUARTER, PlantBucket, RollupRow
from vpp.domain.telemetry import Reading


def _level(level: str) -> tuple[Table, Callable[..., tuple[datetime | None, list[Any]]]]:
    """The roll-up table of ``level`` and the function computing its newest buckets."""
    if level == MINUTE:
        return s.telemetry_1m, live_buckets
    if level == QUARTER:
        return s.telemetry_15m, live_quarters
    raise ValueError(f"no roll-up level {level!r}")


class SqlTelemetryReadStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count(self) -> int:
        """How many raw readings the store holds (benchmarks and tests count them)."""
        with reading(self.engine) as con:
            return int(con.execute(select(func.count()).select_from(s.telemetry)).scalar_one())

    def readings(self, der_id: str, start: datetime, end: datetime, limit: int) -> list[Reading]:
        t = s.telemetry
        q = (
            select(t)
            .where(and_(t.c.der_id == der_id, t.c.ts >= start, t.c.ts < end))
            .order_by(t.c.ts)
            .limit(limit)
        )
        with reading(self.engine) as con:
            return [row_reading(r._mapping) for r in con.execute(q)]

    def kept_from(self) -> dict[str, datetime]:
        with reading(self.engine) as con:
            return kept_from(con)

    def rollups(
        self, der_id: str, start: datetime, end: datetime, limit: int, level: str = MINUTE
    ) -> list[RollupRow]:
        """Stored roll-ups before the watermark, the buckets from it on from the finer
        level (raw rows for 1 minute, 1-minute rows for 15 minutes)."""
        t, live_rows = _level(level)
        with reading(self.engine) as con:
            cut, live = live_rows(con, [der_id], start, end)
            stored_end = end if cut is None else min(end, cut)
            q = (
                select(t)
                .where(and_(t.c.der_id == der_id, t.c.bucket >= start, t.c.bucket < stored_end))
                .order_by(t.c.bucket)
                .limit(limit)
            )
            rows = [RollupRow(**r._mapping) for r in con.execute(q)]
        rows += [RollupRow(**b) for b in sorted(live, key=lambda b: b["bucket"])]
        return rows[:limit]

    def plant_buckets(
        self,
        der_ids: Sequence[str],
        start: datetime,
        end: datetime,
        limit: int,
        level: str = MINUTE,
    ) -> list[PlantBucket]:
        if not der_ids:
            return []
        t, live_rows = _level(level)
        with reading(self.engine) as con:
            cut, live = live_rows(con, der_ids, start, end)
            stored_end = end if cut is None else min(end, cut)
            q = (
                select(
                    t.c.bucket,
                    func.sum(t.c.p_w_avg).label("p_w_sum"),
                    func.count().label("n_members"),
                    func.sum(t.c.n_bad).label("n_bad"),
                )
                .where(
                    and_(
                        t.c.der_id.in_(list(der_ids)),
                        t.c.bucket >= start,
                        t.c.bucket < stored_end,
                    )
                )
                .group_by(t.c.bucket)
                .order_by(t.c.bucket)
                .limit(limit)
            )
            out = [
                PlantBucket(r.bucket, float(r.p_w_sum), int(r.n_members), int(r.n_bad or 0))
                for r in con.execute(q)
            ]
        sums: dict[datetime, list[float]] = {}
        for b in live:
            acc = sums.setdefault(b["bucket"], [0.0, 0, 0])
            acc[0] += b["p_w_avg"]
            acc[1] += 1
            acc[2] += b["n_bad"]
        out += [
            PlantBucket(bucket, p, int(n), int(bad)) for bucket, (p, n, bad) in sorted(sums.items())
        ]
        return out[:limit]
