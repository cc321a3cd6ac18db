"""The read-model store: registry, latest state, telemetry, roll-ups, projection positions.

Writes of a projection happen in one short transaction together with its stream
position, so a restarted projector resumes exactly where the committed data ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, select
from sqlalchemy.engine import Connection

from vpp.adapters.store import schema as s
from vpp.adapters.store.changes import canal_json, canal_json_rows, text_rows
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.retry import with_retry
from vpp.adapters.store.rollups import mark_dirty_from, roll_up
from vpp.adapters.store.upsert import (
    bind_rows,
    bind_value,
    insert_new,
    insert_new_rows,
    upsert,
    upsert_newer,
    upsert_newer_rows,
)
from vpp.application.store_ports import RollupRow
from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.der import Der, DerKind, DerRatings
from vpp.domain.plant import Plant, Tenant
from vpp.domain.telemetry import READING_ROW_FIELDS, Reading, ReadingRow
from vpp.domain.units import Quality


@dataclass(frozen=True, slots=True)
class Position:
    """Where a projection stands in a stream (the last message it committed)."""

    projection: str
    stream: str
    stream_seq: int


#: canal-json records carry at most this many rows (a NATS message is at most 1 MB)
CHANGE_ROWS_PER_RECORD = 500

#: latest_state's columns: a reading row and the time it was received
LATEST_FIELDS: tuple[str, ...] = (*READING_ROW_FIELDS, "received_at")
assert tuple(c.name for c in s.telemetry.columns) == READING_ROW_FIELDS
assert tuple(c.name for c in s.latest_state.columns) == LATEST_FIELDS


def _now() -> datetime:
    return datetime.now(UTC)


def reading_row(r: Reading) -> dict[str, Any]:
    return {
        "der_id": r.der_id,
        "ts": r.ts,
        **{f: getattr(r, f) for f in s.READING_FIELDS},
        "quality": r.quality.value,
    }


def row_reading(row: Mapping[str, Any]) -> Reading:
    return Reading(
        der_id=row["der_id"],
        ts=row["ts"],
        quality=Quality(row["quality"]),
        **{f: row[f] for f in s.READING_FIELDS},
    )


def der_row(der: Der, *, protocol: str | None = None, address: str | None = None) -> dict[str, Any]:
    r = der.ratings
    return {
        "der_id": der.der_id,
        "gateway_id": der.gateway_id,
        "site_id": der.site_id,
        "kind": der.kind.value,
        "name": der.name,
        "protocol": protocol,
        "address": address,
        "p_min_w": r.p_min_w,
        "p_max_w": r.p_max_w,
        "energy_wh": r.energy_wh,
        "ramp_w_per_s": r.ramp_w_per_s,
        "eff_charge": r.eff_charge,
        "eff_discharge": r.eff_discharge,
        "min_stable_w": r.min_stable_w,
        "soc_min": r.soc_min,
        "soc_max": r.soc_max,
        "q_max_var": r.q_max_var,
        "updated_at": _now(),
    }


def row_der(row: Mapping[str, Any]) -> Der:
    ratings = DerRatings(
        **{
            k: row[k]
            for k in (
                "p_min_w",
                "p_max_w",
                "energy_wh",
                "ramp_w_per_s",
                "eff_charge",
                "eff_discharge",
                "min_stable_w",
                "soc_min",
                "soc_max",
                "q_max_var",
            )
        }
    )
    return Der(
        der_id=row["der_id"],
        kind=DerKind(row["kind"]),
        ratings=ratings,
        gateway_id=row["gateway_id"],
        site_id=row["site_id"],
        name=row["name"],
    )


class SqlReadModelStore:
    """Read models on SQLite or a MySQL-protocol server (TiDB, MariaDB, MySQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str | None = None) -> SqlReadModelStore:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def _write(self, fn: Any) -> Any:
        def attempt() -> Any:
            with self.engine.begin() as con:
                return fn(con)

        return with_retry(attempt)

    # registry -------------------------------------------------------------------------
    def save_tenant(self, tenant: Tenant) -> None:
        row = {"tenant_id": tenant.tenant_id, "name": tenant.name, "created_at": _now()}
        self._write(lambda con: upsert(con, s.tenants, [row]))

    def save_ders(self, ders: Iterable[tuple[Der, str | None, str | None]]) -> None:
        """Register or update DERs: ``(der, protocol, address)`` triples."""
        rows = [der_row(d, protocol=p, address=a) for d, p, a in ders]
        self._write(lambda con: upsert(con, s.ders, rows))

    def save_plant(self, plant: Plant, name: str | None = None) -> None:
        """Create or replace a plant and its membership in one transaction."""

        def write(con: Connection) -> None:
            upsert(
                con,
                s.plants,
                [
                    {
                        "plant_id": plant.plant_id,
                        "tenant_id": plant.tenant_id,
                        "name": name if name is not None else plant.name,
                        "created_at": _now(),
                    }
                ],
            )
            con.execute(delete(s.plant_members).where(s.plant_members.c.plant_id == plant.plant_id))
            insert_new(
                con,
                s.plant_members,
                [{"plant_id": plant.plant_id, "der_id": d} for d in sorted(plant.members)],
            )

        self._write(write)

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]:
        q = select(s.ders)
        if der_ids is not None:
            q = q.where(s.ders.c.der_id.in_(list(der_ids)))
        with self.engine.connect() as con:
            return {row.der_id: row_der(row._mapping) for row in con.execute(q)}

    def plants(self, tenant_id: str | None = None) -> list[Plant]:
        q = select(s.plants)
        if tenant_id is not None:
            q = q.where(s.plants.c.tenant_id == tenant_id)
        with self.engine.connect() as con:
            rows = list(con.execute(q.order_by(s.plants.c.plant_id)))
            members: dict[str, set[str]] = defaultdict(set)
            for m in con.execute(select(s.plant_members)):
                members[m.plant_id].add(m.der_id)
        return [
            Plant(r.plant_id, r.tenant_id, frozenset(members[r.plant_id]), r.name) for r in rows
        ]

    def plant(self, plant_id: str) -> Plant | None:
        with self.engine.connect() as con:
            row = con.execute(select(s.plants).where(s.plants.c.plant_id == plant_id)).first()
            if row is None:
                return None
            members = con.execute(
                select(s.plant_members.c.der_id).where(s.plant_members.c.plant_id == plant_id)
            ).scalars()
            return Plant(row.plant_id, row.tenant_id, frozenset(members), row.name)

    # telemetry ------------------------------------------------------------------------
    def record_readings(
        self, readings: Sequence[Reading], position: Position | None = None
    ) -> list[dict[str, Any]]:
        """Store readings idempotently and advance ``position`` in the same transaction
        (see :meth:`record_reading_rows`)."""
        return self.record_reading_rows([r.as_row() for r in readings], position)

    def record_reading_rows(
        self, rows: Sequence[ReadingRow], position: Position | None = None
    ) -> list[dict[str, Any]]:
        """Store reading rows idempotently and advance ``position`` in the same transaction.

        Telemetry rows are keyed by ``(der_id, ts)``: a replay inserts nothing new.  The
        latest state only moves forward in source time.  Roll-ups of every touched minute
        are recomputed from the telemetry rows, so replays cannot double-count them.
        Keep batches to a few thousand readings (TiDB transaction size).  Returns the
        committed row changes as canal-json records (:mod:`vpp.adapters.store.changes`).
        """
        newest: dict[str, int] = {}  # DER -> index of its newest row
        for i, row in enumerate(rows):
            seen = newest.get(row[0])
            if seen is None or row[1] >= rows[seen][1]:
                newest[row[0]] = i
        received = _now()

        def write(con: Connection) -> None:
            dialect = con.dialect.name
            bound = bind_rows(dialect, s.telemetry, READING_ROW_FIELDS, rows)
            at = bind_value(dialect, s.latest_state, "received_at", received)
            latest = [(*bound[i], at) for i in newest.values()]
            insert_new_rows(con, s.telemetry, READING_ROW_FIELDS, bound, bound=True)
            upsert_newer_rows(con, s.latest_state, LATEST_FIELDS, latest, bound=True)
            if rows:
                mark_dirty_from(con, min(row[1] for row in rows))
            if position is not None:
                self._save_position(con, position)

        self._write(write)
        ms = int(received.timestamp() * 1000)
        tel_text = text_rows(s.telemetry, READING_ROW_FIELDS, rows)
        received_text = received.isoformat(sep=" ", timespec="microseconds")[:26]
        latest_text = [{**tel_text[i], "received_at": received_text} for i in newest.values()]
        step = CHANGE_ROWS_PER_RECORD
        return [
            canal_json_rows(table, data[i : i + step], kind, commit_ms=ms)
            for table, data, kind in (
                (s.telemetry, tel_text, "INSERT"),
                (s.latest_state, latest_text, "UPDATE"),
            )
            for i in range(0, len(data), step)
        ]

    @staticmethod
    def _changes(
        parts: Sequence[tuple[Any, Sequence[dict[str, Any]], str]],
    ) -> list[dict[str, Any]]:
        ms = int(_now().timestamp() * 1000)
        step = CHANGE_ROWS_PER_RECORD
        return [
            canal_json(t, rows[i : i + step], kind, commit_ms=ms)
            for t, rows, kind in parts
            for i in range(0, len(rows), step)
        ]

    def record_commands(
        self, cmds: Sequence[SetpointCommand], position: Position | None = None
    ) -> list[dict[str, Any]]:
        """Commands as sent (the COMMANDS stream); a replay inserts nothing new."""
        now = _now()
        rows = [
            {
                "command_id": c.command_id,
                "dispatch_id": c.dispatch_id,
                "der_id": c.der_id,
                "gateway_id": c.gateway_id,
                "seq": c.seq,
                "p_w": c.p_w,
                "valid_from": c.valid_from,
                "valid_until": c.valid_until,
                "created_at": now,
            }
            for c in cmds
        ]

        def write(con: Connection) -> None:
            insert_new(con, s.commands, rows)
            if position is not None:
                self._save_position(con, position)

        self._write(write)
        return self._changes([(s.commands, rows, "INSERT")])

    def record_acks(
        self, acks: Sequence[CommandAck], position: Position | None = None
    ) -> list[dict[str, Any]]:
        """Command outcomes; the newest outcome of a command wins (by ack ts)."""
        rows = [
            {
                "command_id": a.command_id,
                "der_id": a.der_id,
                "gateway_id": a.gateway_id,
                "dispatch_id": a.dispatch_id,
                "seq": a.seq,
                "outcome": a.outcome.value,
                "p_w_requested": a.p_w_requested,
                "p_w_applied": a.p_w_applied,
                "clamped": a.clamped,
                "reason": a.reason[:500],
                "ts": a.ts,
            }
            for a in acks
        ]

        def write(con: Connection) -> None:
            upsert_newer(con, s.acks, rows)
            if position is not None:
                self._save_position(con, position)

        self._write(write)
        return self._changes([(s.acks, rows, "UPDATE")])

    def roll_up(self, *, include_open: bool = True) -> int:
        """Bring the 1-minute roll-ups up to date (see :mod:`vpp.adapters.store.rollups`);
        ``include_open=False`` leaves the minute still filling for later."""
        return roll_up(self.engine, include_open=include_open)

    def latest_readings(self, der_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        q = select(s.latest_state)
        if der_ids is not None:
            q = q.where(s.latest_state.c.der_id.in_(list(der_ids)))
        with self.engine.connect() as con:
            return {r.der_id: row_reading(r._mapping) for r in con.execute(q)}

    def telemetry(self, der_id: str, start: datetime, end: datetime) -> list[Reading]:
        t = s.telemetry
        q = (
            select(t)
            .where(and_(t.c.der_id == der_id, t.c.ts >= start, t.c.ts < end))
            .order_by(t.c.ts)
        )
        with self.engine.connect() as con:
            return [row_reading(r._mapping) for r in con.execute(q)]

    def count_telemetry(self) -> int:
        from sqlalchemy import func

        with self.engine.connect() as con:
            return int(con.execute(select(func.count()).select_from(s.telemetry)).scalar_one())

    def rollups(self, der_id: str, start: datetime, end: datetime) -> list[RollupRow]:
        t = s.telemetry_1m
        q = (
            select(t)
            .where(and_(t.c.der_id == der_id, t.c.bucket >= start, t.c.bucket < end))
            .order_by(t.c.bucket)
        )
        with self.engine.connect() as con:
            return [RollupRow(**r._mapping) for r in con.execute(q)]

    # positions ------------------------------------------------------------------------
    @staticmethod
    def _save_position(con: Connection, p: Any) -> None:
        upsert(
            con,
            s.projection_positions,
            [
                {
                    "projection": p.projection,
                    "stream": p.stream,
                    "stream_seq": p.stream_seq,
                    "updated_at": _now(),
                }
            ],
        )

    def save_position(self, position: Position) -> None:
        self._write(lambda con: self._save_position(con, position))

    def position(self, projection: str) -> int:
        """Last committed stream sequence of ``projection`` (0 before the first)."""
        pp = s.projection_positions
        with self.engine.connect() as con:
            seq = con.execute(
                select(pp.c.stream_seq).where(pp.c.projection == projection)
            ).scalar_one_or_none()
        return int(seq or 0)
