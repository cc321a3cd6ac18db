"""Bounded telemetry reads for the API: raw readings, 1-minute roll-ups, plant sums.

Implements :class:`vpp.application.store_ports.TelemetryReadStore`.  Every query carries
a ``LIMIT``; the caller asks for one row more than it will serve to detect overflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, func, select

from vpp.adapters.store import schema as s
from vpp.adapters.store.read_models import row_reading
from vpp.application.store_ports import PlantBucket, RollupRow
from vpp.domain.telemetry import Reading


class SqlTelemetryReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def readings(self, der_id: str, start: datetime, end: datetime, limit: int) -> list[Reading]:
        t = s.telemetry
        q = (
            select(t)
            .where(and_(t.c.der_id == der_id, t.c.ts >= start, t.c.ts < end))
            .order_by(t.c.ts)
            .limit(limit)
        )
        with self.engine.connect() as con:
            return [row_reading(r._mapping) for r in con.execute(q)]

    def rollups(self, der_id: str, start: datetime, end: datetime, limit: int) -> list[RollupRow]:
        t = s.telemetry_1m
        q = (
            select(t)
            .where(and_(t.c.der_id == der_id, t.c.bucket >= start, t.c.bucket < end))
            .order_by(t.c.bucket)
            .limit(limit)
        )
        with self.engine.connect() as con:
            return [RollupRow(**r._mapping) for r in con.execute(q)]

    def plant_buckets(
        self, der_ids: Sequence[str], start: datetime, end: datetime, limit: int
    ) -> list[PlantBucket]:
        if not der_ids:
            return []
        t = s.telemetry_1m
        q = (
            select(
                t.c.bucket,
                func.sum(t.c.p_w_avg).label("p_w_sum"),
                func.count().label("n_members"),
                func.sum(t.c.n_bad).label("n_bad"),
            )
            .where(and_(t.c.der_id.in_(list(der_ids)), t.c.bucket >= start, t.c.bucket < end))
            .group_by(t.c.bucket)
            .order_by(t.c.bucket)
            .limit(limit)
        )
        with self.engine.connect() as con:
            return [
                PlantBucket(r.bucket, float(r.p_w_sum), int(r.n_members), int(r.n_bad or 0))
                for r in con.execute(q)
            ]
