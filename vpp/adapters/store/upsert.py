"""Dialect-aware upserts: SQLite ``ON CONFLICT`` and MySQL/TiDB ``ON DUPLICATE KEY UPDATE``.

Last-write-wins by source timestamp: a row is only overwritten by a newer ``ts``.  On
MySQL every column is guarded with ``IF(VALUES(ts) >= ts, VALUES(col), col)`` and ``ts``
is assigned last (MySQL evaluates assignments left to right).  The MySQL 8 ``AS new``
alias is avoided: MariaDB rejects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection


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
        con.execute(s_stmt, list(rows))
        return
    m_stmt = mysql.insert(table)
    assign = [(c, m_stmt.inserted[c]) for c in cols] or [(keys[0], table.c[keys[0]])]
    con.execute(m_stmt.on_duplicate_key_update(assign), list(rows))


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
        con.execute(s_stmt, list(rows))
        return
    m_stmt = mysql.insert(table)
    con.execute(m_stmt.on_duplicate_key_update([(keys[0], table.c[keys[0]])]), list(rows))


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
        con.execute(s_stmt, list(rows))
        return
    m_stmt = mysql.insert(table)
    newer = m_stmt.inserted[ts_col] >= table.c[ts_col]
    assign: list[tuple[str, Any]] = [
        (c, func.IF(newer, m_stmt.inserted[c], table.c[c])) for c in cols
    ]
    assign.append((ts_col, func.GREATEST(table.c[ts_col], m_stmt.inserted[ts_col])))
    con.execute(m_stmt.on_duplicate_key_update(assign), list(rows))
