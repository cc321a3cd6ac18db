"""Dialect-aware upserts: SQLite ``ON CONFLICT`` and MySQL/TiDB ``ON DUPLICATE KEY UPDATE``.

Last-write-wins by source timestamp: a row is only overwritten by a newer ``ts``.  On
MySQL every column is guarded with ``IF(VALUES(ts) >= ts, VALUES(col), col)`` and ``ts``
is assigned last (MySQL evaluates assignments left to right).  The MySQL 8 ``AS new``
alias is avoided: MariaDB rejects it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import Insert

from vpp.adapters.store import mysql_values
from vpp.adapters.store.types import UtcDateTime
from vpp.domain.errors import InvalidValue


def _utc_naive(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise InvalidValue(f"naive datetime {v!r}: vpp stores UTC-aware timestamps only")
    return v.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(v: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text of a UTC instant, microseconds always."""
    if v is None:
        return None
    if v.tzinfo is UTC:  # the common case: one call
        return v.isoformat(sep=" ", timespec="microseconds")[:26]
    return _utc_naive(v).isoformat(sep=" ", timespec="microseconds")


def _mysql_datetime(v: datetime | None) -> datetime | None:
    if v is None:
        return None
    if v.tzinfo is UTC:
        return v.replace(tzinfo=None)
    return _utc_naive(v)


def _bind_converter(table: Table, column: str, dialect: str) -> Callable[[Any], Any]:
    """The DB-API value of one column: what the column type's bind processing would give."""
    if isinstance(table.c[column].type, UtcDateTime):
        return _sqlite_datetime if dialect == "sqlite" else _mysql_datetime
    return lambda v: v


def bind_rows(
    dialect: str, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Tuples in ``columns`` order with their timestamps as the driver takes them."""
    convs = [
        (i, _bind_converter(table, k, dialect))
        for i, k in enumerate(columns)
        if isinstance(table.c[k].type, UtcDateTime)
        and any(row[i] is not None for row in rows)  # an all-NULL column needs nothing
    ]
    if not convs:
        return list(rows)
    if len(convs) == 1:
        i, conv = convs[0]
        return [(*row[:i], conv(row[i]), *row[i + 1 :]) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, conv in convs:
            values[i] = conv(values[i])
        out.append(tuple(values))
    return out


def bind_value(dialect: str, table: Table, column: str, value: Any) -> Any:
    return _bind_converter(table, column, dialect)(value)


def _positional(dialect: Dialect) -> Dialect:
    """The dialect itself when its driver takes positional parameters, else a copy that
    compiles ``%s`` placeholders (PyMySQL takes both styles; only with tuples is the
    per-row work left to the driver, which turns them into one multi-row ``INSERT``)."""
    if dialect.positional:
        return dialect
    cached: Dialect | None = getattr(dialect, "_vpp_positional", None)
    if cached is None:
        if dialect.paramstyle != "pyformat":
            return dialect
        cached = copy.copy(dialect)
        cached.paramstyle = "format"
        cached.positional = True
        dialect._vpp_positional = cached  # type: ignore[attr-defined]
    return cached


def execute_many(
    con: Connection, table: Table, stmt: Insert, rows: Sequence[dict[str, Any]]
) -> None:
    """``executemany`` straight through the driver: the statement is compiled once and the
    rows converted by :func:`_bind_converter`, skipping SQLAlchemy's per-row parameter
    processing (several times faster for thousands of rows; PyMySQL still rewrites it
    into one multi-row ``INSERT``)."""
    keys = list(rows[0])
    compiled = stmt.compile(dialect=_positional(con.dialect), column_keys=keys)
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


def execute_rows(
    con: Connection,
    table: Table,
    stmt: Insert,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    bound: bool = False,
) -> None:
    """``executemany`` of rows that are already tuples in ``columns`` order (the hot path
    of the projector): only timestamp columns are converted (none when ``bound``: the
    rows come from :func:`bind_rows`), nothing else is touched."""
    compiled = stmt.compile(dialect=_positional(con.dialect), column_keys=list(columns))
    if not compiled.positional or list(compiled.positiontup or []) != list(columns):
        raise ValueError(f"statement on {table.name} does not take rows in column order")
    params = rows if bound else bind_rows(con.dialect.name, table, columns, rows)
    if con.dialect.driver == "pymysql" and _execute_rendered(con, compiled.string, columns, params):
        return
    con.exec_driver_sql(compiled.string, params)


def _execute_rendered(
    con: Connection, sql: str, columns: Sequence[str], params: Sequence[tuple[Any, ...]]
) -> bool:
    """Send the rows as multi-row statements rendered by :mod:`mysql_values`; ``False``
    when the statement or a value is not of the kinds it renders (the driver does it)."""
    split = mysql_values.split_insert(sql, len(columns))
    if split is None:
        return False
    # the escaping PyMySQL's cursors use, aware of the server's NO_BACKSLASH_ESCAPES mode
    literal = con.connection.driver_connection.escape  # type: ignore[union-attr]
    try:
        sqls = mysql_values.statements(*split, params, literal)
    except (TypeError, ValueError):
        return False
    for text in sqls:
        con.exec_driver_sql(text, execution_options={"no_parameters": True})
    return True


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
    execute_many(con, table, _insert_new_stmt(con, table), rows)


def insert_new_rows(
    con: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    bound: bool = False,
) -> None:
    """:func:`insert_new` of tuples in ``columns`` order."""
    if rows:
        execute_rows(con, table, _insert_new_stmt(con, table), columns, rows, bound=bound)


def _insert_new_stmt(con: Connection, table: Table) -> Insert:
    keys = _key_columns(table)
    if con.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    m_stmt = mysql.insert(table)
    return m_stmt.on_duplicate_key_update([(keys[0], table.c[keys[0]])])


def upsert_newer(
    con: Connection, table: Table, rows: Sequence[dict[str, Any]], ts_col: str = "ts"
) -> None:
    """Upsert where a row only replaces one with an older-or-equal ``ts_col``."""
    if not rows:
        return
    execute_many(con, table, _upsert_newer_stmt(con, table, list(rows[0]), ts_col), rows)


def upsert_newer_rows(
    con: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    ts_col: str = "ts",
    *,
    bound: bool = False,
) -> None:
    """:func:`upsert_newer` of tuples in ``columns`` order."""
    if rows:
        stmt = _upsert_newer_stmt(con, table, columns, ts_col)
        execute_rows(con, table, stmt, columns, rows, bound=bound)


def _upsert_newer_stmt(
    con: Connection, table: Table, columns: Sequence[str], ts_col: str
) -> Insert:
    keys = _key_columns(table)
    cols = [c for c in columns if c not in keys and c != ts_col]
    if con.dialect.name == "sqlite":
        s_stmt = sqlite.insert(table)
        return s_stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: s_stmt.excluded[c] for c in [*cols, ts_col]},
            where=s_stmt.excluded[ts_col] >= table.c[ts_col],
        )
    m_stmt = mysql.insert(table)
    newer = m_stmt.inserted[ts_col] >= table.c[ts_col]
    assign: list[tuple[str, Any]] = [
        (c, func.IF(newer, m_stmt.inserted[c], table.c[c])) for c in cols
    ]
    assign.append((ts_col, func.GREATEST(table.c[ts_col], m_stmt.inserted[ts_col])))
    return m_stmt.on_duplicate_key_update(assign)
