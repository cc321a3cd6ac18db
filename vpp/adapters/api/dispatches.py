"""Dispatch requests: send (idempotently) to a plant, follow, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from vpp.adapters.api.deps import (
    ID_PATTERN,
    DispatchIdPath,
    DispatchKey,
    PlantIdPath,
    ReadKey,
    ServicesDep,
)
from vpp.adapters.api.dispatch_schemas import (
    DispatchCreate,
    DispatchList,
    DispatchPublic,
    DispatchSummary,
)
from vpp.adapters.api.problems import problem_responses

router = APIRouter(tags=["dispatches"], responses=problem_responses(401, 403))

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="unique per request of this tenant, e.g. a UUID; a retry with the same "
        "key and body returns the same dispatch, a different body is a conflict",
    ),
]


@router.post(
    "/v1/plants/{plant_id}/dispatches",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DispatchPublic,
    responses={
        200: {"model": DispatchPublic, "description": "a retry: the dispatch already accepted"},
        **problem_responses(404, 409, 422, 429),
    },
)
def create_dispatch(
    plant_id: PlantIdPath,
    body: DispatchCreate,
    idempotency_key: IdempotencyKey,
    principal: DispatchKey,
    services: ServicesDep,
    response: Response,
) -> DispatchPublic:
    """Accept a target profile for the plant; the dispatcher plans and follows it.

    A target the plant cannot reach with its envelope now is accepted with the shortfall
    stated in ``shortfall_kw`` and ``detail`` (or refused with ``on_shortfall: refuse``).
    """
    submitted = services.dispatches.submit(
        principal.tenant_id, body.to_domain(plant_id), idempotency_key
    )
    dispatch_id = submitted.view.record.dispatch_id
    response.headers["Location"] = f"/v1/dispatches/{dispatch_id}"
    if not submitted.created:
        response.status_code = status.HTTP_200_OK
    return DispatchPublic.from_view(submitted.view)


@router.get("/v1/dispatches", response_model=DispatchList, responses=problem_responses(422))
def list_dispatches(
    principal: ReadKey,
    services: ServicesDep,
    plant_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DispatchList:
    """The tenant's dispatches, newest first."""
    records = services.dispatches.list(principal.tenant_id, plant_id=plant_id, limit=limit)
    return DispatchList(items=[DispatchSummary.from_record(r) for r in records])


@router.get(
    "/v1/dispatches/{dispatch_id}",
    response_model=DispatchPublic,
    responses=problem_responses(404, 422),
)
def get_dispatch(
    dispatch_id: DispatchIdPath, principal: ReadKey, services: ServicesDep
) -> DispatchPublic:
    """Status and, per interval, requested vs planned vs delivered power and energy."""
    return DispatchPublic.from_view(services.dispatches.get(principal.tenant_id, dispatch_id))


@router.delete(
    "/v1/dispatches/{dispatch_id}",
    response_model=DispatchPublic,
    responses=problem_responses(404, 409, 422, 429),
)
def cancel_dispatch(
    dispatch_id: DispatchIdPath, principal: DispatchKey, services: ServicesDep
) -> DispatchPublic:
    """Cancel a dispatch that is not final yet; the dispatcher stops sending commands."""
    return DispatchPublic.from_view(services.dispatches.cancel(principal.tenant_id, dispatch_id))
