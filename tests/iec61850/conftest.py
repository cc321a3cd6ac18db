"""Real IEC 61850 peers for the driver tests: the simulators' libiec61850 servers.

``sim_fleet`` starts one simulated device per DER kind (two batteries: one direct, one
select-before-operate) in a worker process of ``simulators.fleet``; teardown stops the
workers by PID.  ``drivers`` builds an :class:`Iec61850Driver` from an endpoint the way
the gateway's composition root does from an ``Iec61850Device`` config (the helpers are in
:mod:`tests.harness.iec61850`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from simulators.fleet import start_fleet
from tests.harness.iec61850 import (
    SBO,
    driver_for,
    fleet_spec,
    group,
    start_threaded_servers,
    threaded_endpoints,
)
from vpp.adapters.iec61850 import Iec61850Driver
from vpp.runtime import stop_process


@pytest.fixture(scope="module")
def sim_fleet() -> Iterator[dict[str, dict[str, Any]]]:
    spec = fleet_spec(
        [
            group("battery", "batd"),
            group("battery", "bats", ctl=SBO),
            group("battery", "batc"),  # a test switches its ctlModel to SBO
            group("pv", "pv"),
            group("ev_charger", "ev"),
            group("chp", "chp"),
            group("heat_pump", "hp"),
            group("flexible_load", "load"),
        ]
    )
    fleet = start_fleet(spec)
    try:
        yield {e["der_id"]: e for e in fleet.endpoints}
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def threaded_servers() -> Iterator[list[dict[str, Any]]]:
    """Two minimal libiec61850 servers on their own threads (``minimal_fleet``, its own
    process; even = direct, odd = SBO): a peer whose reports flow without any request."""
    proc, base = start_threaded_servers(2)
    try:
        yield threaded_endpoints(base, 2)
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def enhanced_servers() -> Iterator[list[dict[str, Any]]]:
    """Like ``threaded_servers`` with direct- and sbo-with-enhanced-security."""
    proc, base = start_threaded_servers(2, "enhanced")
    try:
        yield threaded_endpoints(base, 2)
    finally:
        stop_process(proc)


@pytest.fixture
async def drivers() -> AsyncIterator[Callable[..., Iec61850Driver]]:
    """Drivers made by a test are closed after it, even when it fails."""
    made: list[Iec61850Driver] = []

    def make(endpoint: dict[str, Any], **kwargs: Any) -> Iec61850Driver:
        made.append(driver_for(endpoint, **kwargs))
        return made[-1]

    yield make
    await asyncio.gather(*(d.close() for d in made), return_exceptions=True)
