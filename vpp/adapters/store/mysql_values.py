"""Multi-row ``INSERT … VALUES`` for MySQL-protocol servers with the values rendered here.

PyMySQL's ``executemany`` already sends one multi-row ``INSERT``, but it escapes every
value through a generic, per-type converter lookup: on the projector's hot path that was
well over half of the process's CPU on MariaDB.  Rows here are tuples of a few known types
(validated upstream), so each value is rendered by its type directly: numbers and
timestamps by their exact text, ``NULL``, booleans as ``1``/``0`` — and every string still
through the driver's own escaping (:meth:`pymysql.connections.Connection.escape`, what its
cursors use, which knows the server's ``NO_BACKSLASH_ESCAPES`` mode).  A value of any
other type raises :class:`TypeError` and the caller lets the driver do it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from vpp.domain.errors import InvalidValue

#: bytes per statement, below PyMySQL's own executemany bound and MySQL's default packet
MAX_STATEMENT_BYTES = 1_000_000


def _float(v: float) -> str:
    if not math.isfinite(v):
        raise InvalidValue(f"{v!r} can not be stored in MySQL")
    text = repr(v)
    return text if "e" in text else text + "e0"  # a DOUBLE literal, as PyMySQL sends it


def _datetime(v: datetime) -> str:
    if v.tzinfo is not None:
        raise TypeError("timestamps reach the driver as naive UTC")
    return "'" + v.isoformat(sep=" ", timespec="microseconds") + "'"


def render_row(row: Sequence[Any], literal: Callable[[str], str]) -> str:
    """``(v1,v2,…)`` of one row; ``literal`` quotes and escapes a string."""
    out = []
    for v in row:
        t = type(v)
        if v is None:
            out.append("NULL")
        elif t is float:
            out.append(_float(v))
        elif t is str:
            out.append(literal(v))
        elif t is bool:
            out.append("1" if v else "0")
        elif t is int:
            out.append(str(v))
        elif t is datetime:
            out.append(_datetime(v))
        else:
            raise TypeError(f"no literal for {t.__name__}")
    return "(" + ",".join(out) + ")"


def split_insert(sql: str, n_columns: int) -> tuple[str, str] | None:
    """``(head, tail)`` around the one ``(%s, …)`` group of a compiled ``INSERT``, with the
    ``%%`` of the format paramstyle undone (the statement is sent without parameters)."""
    group = "(" + ", ".join(["%s"] * n_columns) + ")"
    if sql.count(group) != 1 or " VALUES " not in sql:
        return None
    head, tail = sql.split(group)
    if not head.endswith("VALUES "):
        return None
    return head.replace("%%", "%"), tail.replace("%%", "%")


def statements(
    head: str, tail: str, rows: Sequence[Sequence[Any]], literal: Callable[[str], str]
) -> list[str]:
    """The multi-row statements for ``rows``, each at most :data:`MAX_STATEMENT_BYTES`."""
    out: list[str] = []
    parts: list[str] = []
    size = len(head) + len(tail)
    for row in rows:
        text = render_row(row, literal)
        if parts and size + len(text) + 1 > MAX_STATEMENT_BYTES:
            out.append(head + ",".join(parts) + tail)
            parts, size = [], len(head) + len(tail)
        parts.append(text)
        size += len(text) + 1
    if parts:
        out.append(head + ",".join(parts) + tail)
    return out
