"""Rows of the read-model tables to domain values and back: one mapping per table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from vpp.adapters.store import schema as s
from vpp.domain.der import RATINGS_FIELDS, Der, DerKind, DerRatings, ratings_as_dict
from vpp.domain.telemetry import Reading
from vpp.domain.units import Quality


def reading_row(r: Reading) -> dict[str, Any]:
    return {
        "der_id": r.der_id,
        "ts": r.ts,
        **{f: getattr(r, f) for f in s.READING_FIELDS},
        "quality": r.quality.value,
    }


def row_reading(row: RowMapping) -> Reading:
    return Reading(
        der_id=row["der_id"],
        ts=row["ts"],
        quality=Quality(row["quality"]),
        **{f: row[f] for f in s.READING_FIELDS},
    )


def der_row(
    der: Der, updated_at: datetime, *, protocol: str | None = None, address: str | None = None
) -> dict[str, Any]:
    return {
        "der_id": der.der_id,
        "gateway_id": der.gateway_id,
        "site_id": der.site_id,
        "kind": der.kind.value,
        "name": der.name,
        "protocol": protocol,
        "address": address,
        **ratings_as_dict(der.ratings),
        "updated_at": updated_at,
    }


def row_der(row: RowMapping) -> Der:
    return Der(
        der_id=row["der_id"],
        kind=DerKind(row["kind"]),
        ratings=DerRatings(**{k: row[k] for k in RATINGS_FIELDS}),
        gateway_id=row["gateway_id"],
        site_id=row["site_id"],
        name=row["name"],
    )
