"""The projector's writes: telemetry, latest state, commands and acks, each transaction
with the projection's stream position.  Implements
:class:`vpp.application.ports.ProjectionWriter`.

Writes of a projection happen in one short transaction together with its stream
position, so a restarted projector resumes exactly where the committed data ends.  Each
write returns the canal-json change records of what it committed
(:mod:`vpp.adapters.store.changes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from vpp.adapters.store import schema as s
from vpp.adapters.store.changes import canal_json, canal_json_rows, text_rows
from vpp.adapters.store.rollups import mark_dirty_from
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import (
    bind_rows,
    bind_value,
    insert_new,
    insert_new_rows,
    upsert,
    upsert_newer,
    upsert_newer_rows,
)
from vpp.application.ports import ChangeRecord, StreamPosition
from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.telemetry import READING_ROW_FIELDS, DeviceHealth, Reading, ReadingRow
from vpp.runtime import utc_now

#: canal-json records carry at most this many rows (a NATS message is at most 1 MB)
CHANGE_ROWS_PER_RECORD = 500

#: latest_state's columns: a reading row and the time it was received
LATEST_FIELDS: tuple[str, ...] = (*READING_ROW_FIELDS, "received_at")
assert tuple(c.name for c in s.telemetry.columns) == READING_ROW_FIELDS
assert tuple(c.name for c in s.latest_state.columns) == LATEST_FIELDS


def _newest_per_der(rows: Sequence[ReadingRow]) -> dict[str, int]:
    """DER -> index of its newest row (by source time; the later one on a tie)."""
    newest: dict[str, int] = {}
    for i, row in enumerate(rows):
        seen = newest.get(row[0])
        if seen is None or row[1] >= rows[seen][1]:
            newest[row[0]] = i
    return newest


def _change_records(
    parts: Sequence[tuple[Table, Sequence[dict[str, Any]], str]], at: datetime
) -> list[ChangeRecord]:
    ms = int(at.timestamp() * 1000)
    step = CHANGE_ROWS_PER_RECORD
    return [
        canal_json(t, rows[i : i + step], kind, commit_ms=ms)
        for t, rows, kind in parts
        for i in range(0, len(rows), step)
    ]


class SqlProjectionWriter:
    """Projections into the read models on SQLite or a MySQL-protocol server."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # positions ------------------------------------------------------------------------
    def position(self, projection: str) -> int:
        """Last committed stream sequence of ``projection`` (0 before the first)."""
        pp = s.projection_positions
        with reading(self.engine) as con:
            seq = con.execute(
                select(pp.c.stream_seq).where(pp.c.projection == projection)
            ).scalar_one_or_none()
        return int(seq or 0)

    def save_position(self, position: StreamPosition) -> None:
        writing(self.engine, lambda con: _save_position(con, position))

    # telemetry ------------------------------------------------------------------------
    def record_readings(
        self, readings: Sequence[Reading], position: StreamPosition | None = None
    ) -> list[ChangeRecord]:
        """:meth:`record_reading_rows` for domain readings."""
        return self.record_reading_rows([r.as_row() for r in readings], position)

    def record_reading_rows(
        self,
        rows: Sequence[ReadingRow],
        position: StreamPosition | None = None,
        *,
        health: Sequence[DeviceHealth] = (),
    ) -> list[ChangeRecord]:
        """Store reading rows idempotently and advance ``position`` in the same transaction.

        Telemetry rows are keyed by ``(der_id, ts)``: a replay inserts nothing new.  The
        latest state only moves forward in source time.  The roll-up watermark is lowered
        to the oldest reading, so the roll-ups of every touched minute are recomputed from
        the telemetry rows (replays cannot double-count them).  Keep batches to a few
        thousand readings (TiDB transaction size).

        ``health`` (the gateway's statements about its devices) sets ``ders.healthy`` and
        ``health_reason`` in the same transaction, where it is newer than what the row
        holds (``health_ts``): replays and late deliveries never undo a newer statement.
        """
        newest = _newest_per_der(rows)
        received = utc_now()
        health_rows: list[dict[str, Any]] = []

        def write(con: Connection) -> None:
            dialect = con.dialect.name
            bound = bind_rows(dialect, s.telemetry, READING_ROW_FIELDS, rows)
            at = bind_value(dialect, s.latest_state, "received_at", received)
            latest = [(*bound[i], at) for i in newest.values()]
            insert_new_rows(con, s.telemetry, READING_ROW_FIELDS, bound, bound=True)
            upsert_newer_rows(con, s.latest_state, LATEST_FIELDS, latest, bound=True)
            if rows:
                mark_dirty_from(con, min(row[1] for row in rows))
            health_rows[:] = _write_health(con, health)
            if position is not None:
                _save_position(con, position)

        writing(self.engine, write)
        changes = _reading_changes(rows, newest, received)
        if health_rows:
            changes += _change_records([(s.ders, health_rows, "UPDATE")], received)
        return changes

    # commands and acks ----------------------------------------------------------------
    def record_commands(
        self, cmds: Sequence[SetpointCommand], position: StreamPosition | None = None
    ) -> list[ChangeRecord]:
        """Commands as sent (the COMMANDS stream); a replay inserts nothing new."""
        now = utc_now()
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
                _save_position(con, position)

        writing(self.engine, write)
        return _change_records([(s.commands, rows, "INSERT")], utc_now())

    def record_acks(
        self, acks: Sequence[CommandAck], position: StreamPosition | None = None
    ) -> list[ChangeRecord]:
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
                _save_position(con, position)

        writing(self.engine, write)
        return _change_records([(s.acks, rows, "UPDATE")], utc_now())


_HEALTH_UPDATE = (
    update(s.ders)
    .where(
        and_(
            s.ders.c.der_id == bindparam("b_der_id"),
            or_(s.ders.c.health_ts.is_(None), s.ders.c.health_ts < bindparam("b_ts")),
        )
    )
    .values(healthy=bindparam("b_healthy"), health_reason=bindparam("b_reason"))
    .values(health_ts=bindparam("b_ts"))
)


def _write_health(con: Connection, health: Sequence[DeviceHealth]) -> list[dict[str, Any]]:
    """Apply the newest statement per DER where it is newer than the stored one; return
    the ``ders`` rows it changed (for their change records)."""
    if not health:
        return []
    newest: dict[str, DeviceHealth] = {}
    for h in health:
        seen = newest.get(h.der_id)
        if seen is None or h.ts >= seen.ts:
            newest[h.der_id] = h
    params = [
        {"b_der_id": h.der_id, "b_ts": h.ts, "b_healthy": h.healthy, "b_reason": h.reason}
        for h in newest.values()
    ]
    con.execute(_HEALTH_UPDATE, params)
    d = s.ders
    changed = con.execute(select(d).where(d.c.der_id.in_(sorted(newest))))
    return [
        dict(r._mapping)
        for r in changed
        if r.health_ts is not None and r.health_ts == newest[r.der_id].ts
    ]


def _save_position(con: Connection, p: StreamPosition) -> None:
    row = {
        "projection": p.projection,
        "stream": p.stream,
        "stream_seq": p.stream_seq,
        "updated_at": utc_now(),
    }
    upsert(con, s.projection_positions, [row])


def _reading_changes(
    rows: Sequence[ReadingRow], newest: dict[str, int], received: datetime
) -> list[ChangeRecord]:
    """Change records of a committed telemetry write: the rows inserted, and the latest
    state of each DER (typed UPDATE: an upsert cannot tell insert from update)."""
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
