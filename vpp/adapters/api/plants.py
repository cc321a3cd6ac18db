"""``/v1/plants``: the tenant's plants, their envelope now and their telemetry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from vpp.adapters.api.deps import ID_PATTERN, PlantIdPath, ReadKey, ServicesDep
from vpp.adapters.api.problems import problem_responses
from vpp.adapters.api.schemas import PlantDetail, PlantList, PlantPublic, PlantTelemetryPublic
from vpp.application.queries import Resolution

router = APIRouter(prefix="/v1/plants", tags=["plants"], responses=problem_responses(401, 403))

AfterQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="page after this id")]
LimitQuery = Annotated[int, Query(ge=1, le=1000)]
StartQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339; default end - 1 h")]
EndQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339; default now")]


@router.get("", response_model=PlantList, responses=problem_responses(422))
def list_plants(
    principal: ReadKey, services: ServicesDep, after: AfterQuery = None, limit: LimitQuery = 100
) -> PlantList:
    plants = services.queries.plants(principal.tenant_id, after=after, limit=limit)
    next_after = plants[-1].plant_id if len(plants) == limit else None
    return PlantList(items=[PlantPublic.from_plant(p) for p in plants], next_after=next_after)


@router.get("/{plant_id}", response_model=PlantDetail, responses=problem_responses(404, 422))
def get_plant(plant_id: PlantIdPath, principal: ReadKey, services: ServicesDep) -> PlantDetail:
    """The plant, its members and its flexibility envelope now."""
    return PlantDetail.from_view(services.queries.plant_view(principal.tenant_id, plant_id))


@router.get(
    "/{plant_id}/telemetry",
    response_model=PlantTelemetryPublic,
    responses=problem_responses(404, 422),
)
def plant_telemetry(
    plant_id: PlantIdPath,
    principal: ReadKey,
    services: ServicesDep,
    start: StartQuery = None,
    end: EndQuery = None,
    resolution: Annotated[Resolution | None, Query(description="1m or 15m for plants")] = None,
) -> PlantTelemetryPublic:
    """Members' 1-minute averages summed per minute; at most 7 days and 10 000 minutes."""
    result = services.queries.plant_telemetry(
        principal.tenant_id, plant_id, start=start, end=end, resolution=resolution
    )
    return PlantTelemetryPublic.from_result(result)
