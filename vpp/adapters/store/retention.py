"""Telemetry retention on the store: batched deletes, TiDB's TTL, the levels' horizons.

Implements :class:`vpp.application.ports.TelemetryRetentionStore`.

* MariaDB/MySQL (and TiDB for the roll-ups): ``DELETE FROM t WHERE ts < cutoff LIMIT n``
  in a loop, one transaction per batch, over the ``ts``/``bucket`` index.
* SQLite has no ``DELETE … LIMIT`` (unless compiled in): each batch deletes the rowids of
  ``SELECT rowid … WHERE ts < cutoff LIMIT n``.
* TiDB: raw readings expire by the table's TTL, ``ALTER TABLE telemetry TTL = ts +
  INTERVAL n DAY TTL_ENABLE = 'ON'`` (its TTL job runs every hour by default, in the
  background, in small batches of its own).  Emitted only when ``SELECT VERSION()`` says
  TiDB: MariaDB and MySQL refuse the syntax.  Deleting it again: ``ALTER TABLE telemetry
  REMOVE TTL``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, literal_column, select, text
from sqlalchemy.engine import Connection

from vpp.adapters.store import rollups, rollups_15m
from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import upsert
from vpp.application.ports import MINUTE, QUARTER, RAW
from vpp.runtime import utc_now

#: level → (table, its time column)
TABLES: dict[str, tuple[Any, Any]] = {
    RAW: (s.telemetry, s.telemetry.c.ts),
    MINUTE: (s.telemetry_1m, s.telemetry_1m.c.bucket),
    QUARTER: (s.telemetry_15m, s.telemetry_15m.c.bucket),
}


def is_tidb(con: Connection) -> bool:
    if con.dialect.name not in ("mysql", "mariadb"):
        return False
    return "tidb" in str(con.execute(text("SELECT VERSION()")).scalar_one()).lower()


def tidb_ttl_sql(keep: timedelta, table: str = "telemetry", column: str = "ts") -> str:
    """The TTL clause of TiDB for ``keep`` (in whole days, hours or minutes)."""
    seconds = int(keep.total_seconds())
    unit, amount = "MINUTE", max(1, round(seconds / 60))
    for name, size in (("DAY", 86400), ("HOUR", 3600)):
        if seconds % size == 0 and seconds >= size:
            unit, amount = name, seconds // size
            break
    return f"ALTER TABLE `{table}` TTL = `{column}` + INTERVAL {amount} {unit} TTL_ENABLE = 'ON'"


def _delete_batch(con: Connection, level: str, before: datetime, n: int) -> int:
    table, col = TABLES[level]
    if con.dialect.name == "sqlite":
        rowid: Any = literal_column("rowid")
        doomed = select(rowid).select_from(table).where(col < before).limit(n)
        stmt = delete(table).where(rowid.in_(doomed.scalar_subquery()))
    else:
        stmt = delete(table).where(col < before).with_dialect_options(mysql_limit=n)
    return int(con.execute(stmt).rowcount or 0)


class SqlTelemetryRetention:
    """Retention of ``telemetry``, ``telemetry_1m`` and ``telemetry_15m``; ``batches``
    counts the delete transactions it committed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.batches = 0

    def expires_raw_itself(self, keep: timedelta) -> bool:
        with reading(self.engine) as con:
            if not is_tidb(con):
                return False
        sql = tidb_ttl_sql(keep)
        writing(self.engine, lambda con: con.execute(text(sql)))
        return True

    def rolled_up_until(self, level: str) -> datetime | None:
        name = {RAW: rollups.NAME, MINUTE: rollups_15m.NAME}[level]
        w = s.rollup_watermarks
        with reading(self.engine) as con:
            dirty = con.execute(select(w.c.dirty_from).where(w.c.name == name)).scalar()
        if dirty is None:
            return None
        return rollups.minute(dirty) if level == RAW else rollups_15m.quarter(dirty)

    def delete_before(self, level: str, before: datetime, batch_rows: int) -> int:
        total = 0
        while True:
            n = writing(self.engine, lambda con: _delete_batch(con, level, before, batch_rows))
            self.batches += 1
            total += n
            if n < batch_rows:
                return total

    def set_kept_from(self, level: str, kept_from: datetime) -> None:
        row = {"level": level, "kept_from": kept_from, "updated_at": utc_now()}
        writing(self.engine, lambda con: upsert(con, s.telemetry_horizons, [row]))

    def kept_from(self) -> dict[str, datetime]:
        with reading(self.engine) as con:
            return kept_from(con)


def kept_from(con: Connection) -> dict[str, datetime]:
    """Per level, where its rows begin after the last retention pass."""
    h = s.telemetry_horizons
    return {r.level: r.kept_from for r in con.execute(select(h.c.level, h.c.kept_from))}
