"""``/v1/plants/{plant_id}/flexibility``: what the plant can hold, interval by interval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from vpp.adapters.api.deps import PlantIdPath, ReadKey, ServicesDep
from vpp.adapters.api.flexibility_schemas import PlantFlexibilityPublic
from vpp.adapters.api.problems import problem_responses
from vpp.application.use_case_errors import Refused
from vpp.domain.errors import InvalidValue
from vpp.domain.units import parse_duration

router = APIRouter(prefix="/v1/plants", tags=["flexibility"], responses=problem_responses(401, 403))

StartQuery = Annotated[
    AwareDatetime | None,
    Query(description="RFC 3339; default the interval holding now, on the step's grid"),
]
EndQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339; default start + 4 h")]
StepQuery = Annotated[
    str | None, Query(max_length=40, description="ISO 8601 duration; default PT15M")
]


@router.get(
    "/{plant_id}/flexibility",
    response_model=PlantFlexibilityPublic,
    responses=problem_responses(404, 422),
)
def plant_flexibility(
    plant_id: PlantIdPath,
    principal: ReadKey,
    services: ServicesDep,
    start: StartQuery = None,
    end: EndQuery = None,
    step: StepQuery = None,
) -> PlantFlexibilityPublic:
    """Per interval: the up/down power (kW) the plant can hold for all of it given its
    members' energy limits, and the baseline.  At most 672 intervals, 7 days ahead, steps
    PT1M..P1D; the range must be a whole number of steps."""
    try:
        delta = parse_duration(step) if step is not None else None
    except InvalidValue as exc:
        raise Refused(str(exc)) from None
    view = services.flexibility.horizon(
        principal.tenant_id, plant_id, start=start, end=end, step=delta
    )
    return PlantFlexibilityPublic.from_view(view)
