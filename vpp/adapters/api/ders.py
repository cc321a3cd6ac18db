"""``/v1/ders``: the tenant's DERs, their state now and their telemetry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vpp.adapters.api.deps import DerIdPath, ReadKey, ServicesDep
from vpp.adapters.api.plants import AfterQuery, EndQuery, LimitQuery, StartQuery
from vpp.adapters.api.problems import problem_responses
from vpp.adapters.api.schemas import DerDetail, DerList, DerPublic, DerTelemetryPublic
from vpp.application.queries import Resolution

router = APIRouter(prefix="/v1/ders", tags=["ders"], responses=problem_responses(401, 403))


@router.get("", response_model=DerList, responses=problem_responses(422))
def list_ders(
    principal: ReadKey, services: ServicesDep, after: AfterQuery = None, limit: LimitQuery = 100
) -> DerList:
    records = services.queries.ders(principal.tenant_id, after=after, limit=limit)
    next_after = records[-1].der.der_id if len(records) == limit else None
    return DerList(items=[DerPublic.from_record(r) for r in records], next_after=next_after)


@router.get("/{der_id}", response_model=DerDetail, responses=problem_responses(404, 422))
def get_der(der_id: DerIdPath, principal: ReadKey, services: ServicesDep) -> DerDetail:
    """The DER, its latest reading and its envelope now."""
    return DerDetail.from_view(services.queries.der_view(principal.tenant_id, der_id))


@router.get(
    "/{der_id}/telemetry", response_model=DerTelemetryPublic, responses=problem_responses(404, 422)
)
def der_telemetry(
    der_id: DerIdPath,
    principal: ReadKey,
    services: ServicesDep,
    start: StartQuery = None,
    end: EndQuery = None,
    resolution: Annotated[
        Resolution | None,
        Query(description="raw (up to 1 day), 1m or 15m (up to 100 days); default by range"),
    ] = None,
) -> DerTelemetryPublic:
    """Raw readings, 1- or 15-minute roll-ups; at most 7 days (raw: 1 day, 15m: 100
    days) and 10 000 rows.  Without ``resolution`` an old range is served from the
    roll-ups once retention deleted its raw readings (or its 1-minute roll-ups)."""
    result = services.queries.der_telemetry(
        principal.tenant_id, der_id, start=start, end=end, resolution=resolution
    )
    return DerTelemetryPublic.from_result(result)
