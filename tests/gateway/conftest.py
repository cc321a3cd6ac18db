"""Fixtures of the gateway tests: in-process SunSpec simulators.  NATS comes from the
shared harness (tests/conftest.py), the helpers from :mod:`tests.harness.gateway`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.harness.sunspec_fleet import SunSpecFleet, start_sunspec_fleet
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
