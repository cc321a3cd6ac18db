"""Row changes of the read models as canal-json records, the shape TiCDC emits.

``{"id", "database", "table", "pkNames", "isDdl", "type", "es", "ts", "sql", "sqlType",
"mysqlType", "data", "old"}`` — every column value a JSON string (or null), ``data`` a list
of rows.  The projector emits one record per table and commit.  Without reading the row
first it cannot tell an insert from an update of an upserted row: ``latest_state`` changes
are always typed ``UPDATE`` with ``old`` null (TiCDC would carry the old values).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Table, Text

from vpp.adapters.store.types import UtcDateTime


def _mysql_type(col_type: Any) -> str:
    if isinstance(col_type, UtcDateTime):
        return "datetime(6)"
    if isinstance(col_type, BigInteger):
        return "bigint"
    if isinstance(col_type, Boolean):
        return "tinyint(1)"
    if isinstance(col_type, Integer):
        return "int"
    if isinstance(col_type, Float):
        return "double"
    if isinstance(col_type, String) and col_type.length:
        return f"varchar({col_type.length})"
    if isinstance(col_type, Text):
        return "text"
    return "text"


def _row_text(row: Mapping[str, Any], names: list[str], special: set[str]) -> dict[str, Any]:
    """Every value as text (canal-json), ``None`` kept; datetimes with microseconds."""
    out: dict[str, Any] = {}
    for name in names:
        v = row.get(name)
        if v is None:
            out[name] = None
        elif name in special:
            if isinstance(v, datetime):
                out[name] = v.isoformat(sep=" ", timespec="microseconds")[:26]
            else:
                out[name] = "1" if v else "0"
        else:
            out[name] = str(v)
    return out


def canal_json(
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    change_type: str,
    *,
    commit_ms: int,
    database: str = "vpp",
) -> dict[str, Any]:
    names = [str(c.name) for c in table.columns]
    times = {str(c.name) for c in table.columns if isinstance(c.type, UtcDateTime | Boolean)}
    data = [_row_text(row, names, times) for row in rows]
    return _record(table, data, change_type, commit_ms, database)


def _record(
    table: Table, data: list[dict[str, Any]], change_type: str, commit_ms: int, database: str
) -> dict[str, Any]:
    return {
        "id": 0,
        "database": database,
        "table": str(table.name),
        "pkNames": [str(c.name) for c in table.primary_key.columns],
        "isDdl": False,
        "type": change_type,
        "es": commit_ms,
        "ts": commit_ms,
        "sql": "",
        "mysqlType": _mysql_types(table),
        "data": data,
        "old": None,
    }


@functools.cache
def _mysql_types_of(table: Table) -> tuple[tuple[str, str], ...]:
    return tuple((str(c.name), _mysql_type(c.type)) for c in table.columns)


def _mysql_types(table: Table) -> dict[str, str]:
    return dict(_mysql_types_of(table))


def _datetime_text(v: datetime) -> str:
    return v.isoformat(sep=" ", timespec="microseconds")[:26]


def _bool_text(v: Any) -> str:
    return "1" if v else "0"


def text_rows(
    table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Tuples in ``columns`` order as canal-json ``data`` rows (every value text or null).

    Strings pass through; only the other columns are converted, which keeps this cheap
    enough for the telemetry hot path.
    """
    convert: list[tuple[int, str, Any]] = []
    for i, name in enumerate(columns):
        col_type = table.c[name].type
        if isinstance(col_type, UtcDateTime):
            convert.append((i, name, _datetime_text))
        elif isinstance(col_type, Boolean):
            convert.append((i, name, _bool_text))
        elif not isinstance(col_type, String | Text):
            convert.append((i, name, str))
    # a column that is null in every row needs no conversion (most optional fields are)
    convert = [c for c in convert if any(row[c[0]] is not None for row in rows)]
    names = list(columns)
    out = []
    for row in rows:
        d = dict(zip(names, row, strict=True))
        for i, name, conv in convert:
            v = row[i]
            if v is not None:
                d[name] = conv(v)
        out.append(d)
    return out


def canal_json_rows(
    table: Table,
    data: list[dict[str, Any]],
    change_type: str,
    *,
    commit_ms: int,
    database: str = "vpp",
) -> dict[str, Any]:
    """A record of ``data`` rows already converted by :func:`text_rows`."""
    return _record(table, data, change_type, commit_ms, database)
