"""Row changes of the read models as canal-json records, the shape TiCDC emits.

``{"id", "database", "table", "pkNames", "isDdl", "type", "es", "ts", "sql", "sqlType",
"mysqlType", "data", "old"}`` — every column value a JSON string (or null), ``data`` a list
of rows.  The projector emits one record per table and commit.  Without reading the row
first it cannot tell an insert from an update of an upserted row: ``latest_state`` changes
are always typed ``UPDATE`` with ``old`` null (TiCDC would carry the old values).
"""

from __future__ import annotations

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
    names = [c.name for c in table.columns]
    times = {c.name for c in table.columns if isinstance(c.type, UtcDateTime | Boolean)}
    return {
        "id": 0,
        "database": database,
        "table": table.name,
        "pkNames": [c.name for c in table.primary_key.columns],
        "isDdl": False,
        "type": change_type,
        "es": commit_ms,
        "ts": commit_ms,
        "sql": "",
        "mysqlType": {c.name: _mysql_type(c.type) for c in table.columns},
        "data": [_row_text(row, names, times) for row in rows],
        "old": None,
    }
