"""RFC 9457 problem details: the one place where errors become HTTP responses.

Use cases raise domain or use-case errors; this module maps each class to a status and a
problem ``type``.  Request validation errors list each failing field.  Anything unforeseen
becomes a 500 problem without internals (and is logged).
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from vpp.application.ports import StoreUnavailable
from vpp.application.use_case_errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    Refused,
)
from vpp.domain.errors import InvalidValue, UnknownDer, VppError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:vpp:problem:"
#: what a 503 (the store is away) asks a client to wait before it tries again
RETRY_AFTER_S = 5

#: (error class, HTTP status, problem type slug, title) — first match wins.
_MAPPING: tuple[tuple[type[Exception], int, str, str], ...] = (
    (NotAuthenticated, 401, "not-authenticated", "Not authenticated"),
    (PermissionDenied, 403, "forbidden", "Missing scope"),
    (NotFound, 404, "not-found", "Not found"),
    (Conflict, 409, "conflict", "Conflict"),
    (Refused, 422, "refused", "Request refused"),
    (RateLimited, 429, "rate-limited", "Too many requests"),
    (InvalidValue, 422, "invalid-value", "Invalid value"),
    (UnknownDer, 422, "unknown-der", "Unknown DER"),
    (StoreUnavailable, 503, "store-unavailable", "Store unavailable"),
)


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    *,
    retry_after_s: float = RETRY_AFTER_S,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank" if slug == "" else PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="vpp"'}
    elif status in (429, 503):
        headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, NotAuthenticated | PermissionDenied | RateLimited):
        refusals = getattr(request.app.state, "refusals", None)
        if refusals is not None:
            refusals.record(request, exc)
        if isinstance(exc, RateLimited):
            extra["retry_after_s"] = exc.retry_after_s
    for cls, status, slug, title in _MAPPING:
        if isinstance(exc, cls):
            return problem_response(request, status, slug, title, str(exc), **extra)
    log.error("unmapped error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal", "Internal error", "see the server log")


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(
        request, 422, "validation", "Invalid request", where or "invalid request", errors=errors
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        title = HTTPStatus(exc.status_code).phrase  # RFC 9457: about:blank takes the phrase
    except ValueError:
        title = "HTTP error"
    response = problem_response(request, exc.status_code, "", title, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal", "Internal error", "see the server log")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VppError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for ``statuses``."""
    titles = {
        400: "Bad request",
        401: "No or invalid API key",
        403: "The key lacks the scope",
        404: "Not found (or another tenant's)",
        409: "Conflict with the current state",
        422: "Invalid or refused request",
        429: "Over the key's rate limit (see Retry-After)",
    }
    return {
        s: {"model": Problem, "description": titles[s], "content": {PROBLEM_JSON: {}}}
        for s in statuses
    }
