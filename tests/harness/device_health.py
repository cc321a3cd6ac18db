"""The device-state tests' helpers: the gateway's DERs registered in the store (so the
projector admits their telemetry) and the projector running in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.harness.read_models import ReadModels
from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport
from vpp.bootstrap.projector import run_projector
from vpp.domain import Der, DerKind, DerRatings
from vpp.domain.der import RATINGS_FIELDS


def register_endpoints(
    store: ReadModels, endpoints: list[dict[str, Any]], gateway_id: str, site_id: str
) -> dict[str, Der]:
    """Register every endpoint's DER behind ``gateway_id`` on ``site_id``."""
    ders: dict[str, Der] = {}
    protocols: dict[str, str] = {}
    for e in endpoints:
        ratings = DerRatings(**{k: v for k, v in e["ratings"].items() if k in RATINGS_FIELDS})
        der = Der(e["der_id"], DerKind(e["kind"]), ratings, gateway_id=gateway_id, site_id=site_id)
        ders[der.der_id] = der
        protocols[der.der_id] = e["protocol"]
    store.registry.import_registry(
        RegistryImport(
            gateways=[GatewayRecord(gateway_id, site_id)],
            ders=[DerRecord(d, protocols[d.der_id]) for d in ders.values()],
        )
    )
    return ders


@contextlib.asynccontextmanager
async def running_projector(nats_url: str, db_url: str) -> AsyncIterator[None]:
    """The projector (all three projections) as a task until the block ends."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_projector(nats_url, db_url, stop, publish_changes=False, ready=ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
