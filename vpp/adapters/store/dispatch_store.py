"""Dispatch requests on SQL: the table pair the API writes and the dispatcher follows.

Implements :class:`vpp.application.ports.DispatchStore`.  A dispatch and its
intervals are inserted in one short transaction (retried on write conflicts); the
``(tenant_id, idempotency_key)`` unique key makes a concurrent duplicate fail cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, insert, select, update

from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, with_retry, writing
from vpp.application.ports import (
    CommandCounts,
    DispatchRecord,
    DuplicateIdempotencyKey,
    IntervalRecord,
    StoreConflict,
)
from vpp.domain.dispatch import DispatchStatus

NOT_FINAL = tuple(st.value for st in DispatchStatus if not st.final)


def _dispatch(row: Any) -> DispatchRecord:
    m = row._mapping
    return DispatchRecord(
        **{k: m[k] for k in DispatchRecord.__dataclass_fields__ if k != "shortfall_w"},
        shortfall_w=float(m["shortfall_w"] or 0.0),
    )


def _interval(row: Any) -> IntervalRecord:
    m = row._mapping
    return IntervalRecord(**{k: m[k] for k in IntervalRecord.__dataclass_fields__})


class SqlDispatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert(
        self, record: DispatchRecord, intervals: Sequence[IntervalRecord]
    ) -> list[tuple[DispatchRecord, int]]:
        row = asdict(record)
        rows = [{"dispatch_id": record.dispatch_id, **asdict(iv)} for iv in intervals]
        pm, ders = s.plant_members, s.ders
        members = select(pm.c.der_id).where(pm.c.plant_id == record.plant_id)
        # MySQL/TiDB: the plant's DER rows locked for the transaction, so every insert
        # sharing a DER waits here, and READ COMMITTED so the check after the wait sees
        # what the other committed (REPEATABLE READ would read an older snapshot);
        # SQLite: one writer at a time, and a transaction whose snapshot went stale fails
        # its write and is retried (with_retry)
        lock = select(ders.c.der_id).where(ders.c.der_id.in_(members)).with_for_update()
        overlap = self._sharing(record.plant_id, record.start, record.end)
        mysql = self.engine.dialect.name == "mysql"
        options = {"isolation_level": "READ COMMITTED"} if mysql else {}

        def attempt() -> list[tuple[DispatchRecord, int]]:
            with self.engine.connect().execution_options(**options) as con, con.begin():
                con.execute(lock).all()
                found = [(_dispatch(r), int(r.n)) for r in con.execute(overlap)]
                if not found:
                    con.execute(insert(s.dispatches), [row])
                    con.execute(insert(s.dispatch_intervals), rows)
                return found

        try:
            return with_retry(attempt)
        except StoreConflict as exc:
            text = str(exc).lower()
            if "idempotency_key" in text or "1062" in text or "unique" in text:
                raise DuplicateIdempotencyKey(str(record.idempotency_key)) from exc
            raise

    def by_idempotency_key(self, tenant_id: str, key: str) -> DispatchRecord | None:
        d = s.dispatches
        q = select(d).where(d.c.tenant_id == tenant_id, d.c.idempotency_key == key)
        with reading(self.engine) as con:
            for row in con.execute(q):
                if row.idempotency_key == key:  # MySQL compares case-insensitively
                    return _dispatch(row)
        return None

    def get(self, dispatch_id: str) -> DispatchRecord | None:
        d = s.dispatches
        with reading(self.engine) as con:
            row = con.execute(select(d).where(d.c.dispatch_id == dispatch_id)).first()
        return None if row is None or row.dispatch_id != dispatch_id else _dispatch(row)

    def intervals(self, dispatch_id: str) -> list[IntervalRecord]:
        di = s.dispatch_intervals
        q = select(di).where(di.c.dispatch_id == dispatch_id).order_by(di.c.idx)
        with reading(self.engine) as con:
            return [_interval(r) for r in con.execute(q)]

    def cancel(self, dispatch_id: str, at: datetime) -> bool:
        d = s.dispatches
        stmt = (
            update(d)
            .where(d.c.dispatch_id == dispatch_id, d.c.status.in_(NOT_FINAL))
            .values(status=DispatchStatus.CANCELLED.value, updated_at=at)
        )

        return writing(self.engine, lambda con: con.execute(stmt).rowcount == 1)

    def command_counts(self, dispatch_id: str) -> CommandCounts:
        c, a = s.commands, s.acks
        with reading(self.engine) as con:
            sent = con.execute(
                select(func.count()).select_from(c).where(c.c.dispatch_id == dispatch_id)
            ).scalar_one()
            acks = con.execute(
                select(a.c.outcome, func.count())
                .where(a.c.dispatch_id == dispatch_id)
                .group_by(a.c.outcome)
            ).all()
        return CommandCounts(int(sent), {outcome: int(n) for outcome, n in acks})

    def open_sharing_members(
        self, plant_id: str, start: datetime, end: datetime
    ) -> list[tuple[DispatchRecord, int]]:
        q = self._sharing(plant_id, start, end)
        with reading(self.engine) as con:
            return [(_dispatch(r), int(r.n)) for r in con.execute(q)]

    @staticmethod
    def _sharing(plant_id: str, start: datetime, end: datetime) -> Select[Any]:
        """Open dispatches overlapping ``[start, end)`` that share DERs with the plant."""
        d, mine, theirs = (
            s.dispatches,
            s.plant_members.alias("mine"),
            s.plant_members.alias("theirs"),
        )
        shared = (
            select(d.c.dispatch_id, func.count().label("n"))
            .join(theirs, theirs.c.plant_id == d.c.plant_id)
            .join(mine, mine.c.der_id == theirs.c.der_id)
            .where(
                mine.c.plant_id == plant_id,
                d.c.status.in_(("accepted", "planned", "active")),
                d.c.start < end,
                d.c.end > start,
            )
            .group_by(d.c.dispatch_id)
            .subquery()
        )
        q = select(d, shared.c.n).join(shared, shared.c.dispatch_id == d.c.dispatch_id)
        return q.order_by(d.c.start)

    def list_for_tenant(
        self, tenant_id: str, *, plant_id: str | None, limit: int
    ) -> list[DispatchRecord]:
        d = s.dispatches
        q = select(d).where(d.c.tenant_id == tenant_id)
        if plant_id is not None:
            q = q.where(d.c.plant_id == plant_id)
        q = q.order_by(d.c.created_at.desc(), d.c.dispatch_id).limit(limit)
        with reading(self.engine) as con:
            return [_dispatch(r) for r in con.execute(q)]
