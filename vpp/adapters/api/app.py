"""The FastAPI application factory: routers, problem details, OpenAPI at /openapi.json."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from vpp.adapters.api import admin, ders, dispatches, flexibility, health, plants
from vpp.adapters.api.middleware import BodyLimit, RequestMetrics
from vpp.adapters.api.problems import install_problem_handlers
from vpp.adapters.api.refusals import Refusals
from vpp.adapters.api.services import ApiServices
from vpp.adapters.api.settings import ApiSettings
from vpp.application.rate_limits import RateLimiter

DESCRIPTION = """\
Operator API of the vpp virtual power plant.

* Powers in kW and energies in kWh (field names say so); positive power is injected
  into the grid.  Timestamps RFC 3339 in UTC, durations ISO 8601 (`PT15M`).
* Every endpoint needs `Authorization: Bearer vpp_<key_id>_<secret>`; a key belongs to
  one tenant and has scopes `read`, `dispatch`, `admin`.  Another tenant's plant, DER or
  dispatch is 404.  Creating tenants needs the platform operator's `platform` scope.
* Dispatch and admin routes are rate limited per key (token bucket): over the limit is a
  429 problem with `Retry-After`.
* Errors are RFC 9457 problem documents (`application/problem+json`).
"""


def create_app(
    services: ApiServices,
    settings: ApiSettings | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    readiness: Callable[[], str | None] | None = None,
) -> FastAPI:
    """The app on ``services``; ``clock`` (monotonic seconds) drives the rate limits;
    ``readiness`` answers ``/readyz`` (``None``: ready, else why not; blocking allowed)."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="vpp operator API",
        version="1",
        description=DESCRIPTION,
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.state.readiness = readiness
    app.state.metrics_registry = CollectorRegistry()
    app.state.refusals = Refusals(app.state.metrics_registry)
    app.state.rate_limits = {
        "dispatch": RateLimiter(settings.dispatch, clock=clock),
        "admin": RateLimiter(settings.admin, clock=clock),
    }
    install_problem_handlers(app)
    app.add_middleware(RequestMetrics, registry=app.state.metrics_registry)
    app.add_middleware(BodyLimit)
    for module in (plants, flexibility, ders, dispatches, admin, health):
        app.include_router(module.router)
    return app
