"""Fixtures of the gateway tests: in-process SunSpec simulators, a gateway config, a
JetStream reader.  NATS comes from the shared harness (tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.gateway.sim_fleet import SunSpecFleet, start_sunspec_fleet
from vpp.bootstrap.gateway_config import gateway_config_from_endpoints
from vpp.config.gateway import GatewayConfig
from vpp.domain import DerKind

DEMO_KINDS = {
    DerKind.PV: 2,
    DerKind.BATTERY: 2,
    DerKind.EV_CHARGER: 1,
    DerKind.CHP: 1,
    DerKind.HEAT_PUMP: 1,
    DerKind.FLEXIBLE_LOAD: 1,
}


@pytest.fixture
async def fleet_factory() -> AsyncIterator[Callable[..., Awaitable[SunSpecFleet]]]:
    fleets: list[SunSpecFleet] = []

    async def start(kinds: dict[DerKind, int] | None = None, step_s: float = 0.5) -> SunSpecFleet:
        fleet = await start_sunspec_fleet(kinds or DEMO_KINDS, step_s)
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        await fleet.close()


def make_config(
    endpoints: list[dict[str, Any]],
    nats_url: str,
    data_dir: Path,
    *,
    gateway_id: str = "gw1",
    poll_s: float = 1.0,
    **overrides: Any,
) -> GatewayConfig:
    doc = gateway_config_from_endpoints(
        endpoints,
        gateway_id=gateway_id,
        nats_url=nats_url,
        data_dir=str(data_dir),
        poll_s=poll_s,
    )
    doc.update(overrides)
    return GatewayConfig.model_validate(doc)


async def read_stream(nats_url: str, stream: str, subject: str) -> list[Any]:
    """Every message of ``subject`` in a stream, in stream order (ephemeral consumer)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter=subject)
        total = sum((info.state.subjects or {}).values())
        out: list[Any] = []
        if total == 0:
            return out
        sub = await js.pull_subscribe(subject, stream=stream)
        while len(out) < total:
            try:
                msgs = await sub.fetch(min(500, total - len(out)), timeout=5)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for m in msgs:
                out.append(m)
                await m.ack()
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
