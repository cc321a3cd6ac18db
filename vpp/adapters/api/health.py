"""``/healthz`` (the process is alive: 200) and ``/readyz`` (200 when the store answers,
else a 503 problem with ``Retry-After``) on the API's own port, without authentication,
as load balancers and orchestrators call them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vpp.adapters.api.problems import PROBLEM_JSON, Problem, problem_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The API process is alive")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz",
    summary="The API can serve: its store answers",
    responses={
        503: {
            "model": Problem,
            "description": "Not ready: the store is away (see Retry-After)",
            "content": {PROBLEM_JSON: {}},
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    ready = getattr(request.app.state, "readiness", None)
    reason = None if ready is None else await run_in_threadpool(ready)
    if reason is None:
        return JSONResponse({"status": "ready"})
    return problem_response(request, 503, "not-ready", "Not ready", reason)
