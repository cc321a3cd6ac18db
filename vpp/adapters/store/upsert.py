"""Dialect-aware upserts: SQLite ``ON CONFLICT`` and MySQL/TiDB ``ON DUPLICATE KEY UPDATE``.

Last-write-wins by source timestamp: a row is only overwritten by a newer ``ts``.  On
MySQL every column is guarded with ``IF(VALUES(ts) >= ts, VALUES(col), col)`` and ``ts``
is assigned last (MySQL evaluates assignments left to right).  The MySQL 8 ``AS new``
alias is avoided: MariaDB rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert

from vpp.adapters.store.types import UtcDateTime


def _utc_naive(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError(f"naive datetime {v!r}: vpp stores UTC-aware timestamps only")
    return v.astimezone(UTC).replace(tzinfo=None)


def _bind_converter(table: Table, column: str, dialect: str) -> Callable[[Any], Any]:
    """The DB-API value of one column: what the column type's bind processing would give."""
    if isinstance(table.c[column].type, UtcDateTime):
        if dialect == "sqlite":  # SQLAlchemy's SQLite DATETIME text, microseconds always
            return lambda v: (
                None if v is None else _utc_naive(v).isoformat(sep=" ", timespec="microseconds")
            )
        return lambda v: None if v is None else _utc_naive(v)
    return lambda v: v


def execute_many(
    con: Connection, table: Table, stmt: Insert, rows: Sequence[dict[str, Any]]
) -> None:
    """``executemany`` straight through the driver: the statement is compiled once and the
    rows converted by :func:`_bind_converter`, skipping SQLAlchemy's per-row parameter
    processing (several times faster for thousands of rows; PyMySQL still rewrites it
    into one multi-row ``INSERT``)."""
    keys = list(rows[0])
    compiled = stmt.compile(dialect=con.dialect, column_keys=keys)
    order = list(compiled.positiontup or [])
    if not compiled.positional or sorted(order) != sorted(keys):
        con.execute(stmt, list(rows))  # unusual statement shape: let SQLAlchemy do it
        return
    get = itemgetter(*order)
    convs = [
        (i, _bind_converter(table, k, con.dialect.name))
        for i, k in enumerate(order)
        if isinstance(table.c[k].type, UtcDateTime)
    ]
    if len(order) == 1:
        params: list[Any] = [(convs[0][1](get(row)) if convs else get(row),) for row in rows]
    else:
        params = []
        for row in rows:
            values = list(get(row))
            for i, conv in convs:
                values[i] = conv(values[i])
            params.append(tuple(values))
    con.exec_driver_sql(compiled.string, params)


def _key_columns(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def upsert(con: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite every non-key column (plain last-write-wins by arrival)."""
    if not rows:
        return
    keys = _key_columns(table)
    cols = [c for c in rows[0] if c not in keys]
    if con.dialect.name == "sqlite":
        s_stmt = sqlite.insert(table)
        if cols:
            s_stmt = s_stmt.on_conflict_do_update(
                index_elements=keys, set_={c: s_stmt.excluded[c] for c in cols}
            )
        else:
            s_stmt = s_stmt.on_conflict_do_nothing(index_elements=keys)
        execute_many(con, table, s_stmt, rows)
        return
    m_stmt = mysql.insert(table)
    assign = [(c, m_stmt.inserted[c]) for c in cols] or [(keys[0], table.c[keys[0]])]
    execute_many(con, table, m_stmt.on_duplicate_key_update(assign), rows)


def insert_new(con: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose key is not there yet; rows already present are left alone.

    A natural key makes a replayed message a no-op (no ``INSERT IGNORE``: that would also
    swallow truncation and other errors).
    """
    if not rows:
        return
    keys = _key_columns(table)
    if con.dialect.name == "sqlite":
        s_stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
        execute_many(con, table, s_stmt, rows)
        return
    m_stmt = mysql.insert(table)
    execute_many(con, table, m_stmt.on_duplicate_key_update([(keys[0], table.c[keys[0]])]), rows)


def upsert_newer(
    con: Connection, table: Table, rows: Sequence[dict[str, Any]], ts_col: str = "ts"
) -> None:
    """Upsert where a row only replaces one with an older-or-equal ``ts_col``."""
    if not rows:
        return
    keys = _key_columns(table)
    cols = [c for c in rows[0] if c not in keys and c != ts_col]
    if con.dialect.name == "sqlite":
        s_stmt = sqlite.insert(table)
        s_stmt = s_stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: s_stmt.excluded[c] for c in [*cols, ts_col]},
            where=s_stmt.excluded[ts_col] >= table.c[ts_col],
        )
        execute_many(con, table, s_stmt, rows)
        return
    m_stmt = mysql.insert(table)
    newer = m_stmt.inserted[ts_col] >= table.c[ts_col]
    assign: list[tuple[str, Any]] = [
        (c, func.IF(newer, m_stmt.inserted[c], table.c[c])) for c in cols
    ]
    assign.append((ts_col, func.GREATEST(table.c[ts_col], m_stmt.inserted[ts_col])))
    execute_many(con, table, m_stmt.on_duplicate_key_update(assign), rows)
