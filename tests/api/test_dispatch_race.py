"""Two requests for plants sharing a DER, at the same moment: exactly one is accepted.

The overlap check and the insert are one transaction that serialises with every other
insert sharing those DERs (issue 12: they were two, and both requests could pass the
check).  Real threads against the real store, SQLite and MariaDB."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from tests.harness.api_world import World, fresh_readings
from vpp.adapters.store.engine import make_engine
from vpp.application.dispatch_requests import DispatchInput, DispatchRequests
from vpp.application.use_case_errors import Conflict
from vpp.bootstrap import api_services
from vpp.domain import Plant
from vpp.domain.dispatch import DispatchMode, Interval

TRIALS = 6


def test_concurrent_overlapping_requests_accept_exactly_one(world: World) -> None:
    world.readings(*fresh_readings())
    world.save_plant(Plant("plant-a-bat", "t-a", frozenset({"bat-a1"}), "A's battery"))
    engines = [make_engine(world.db_url) for _ in range(2)]
    services = [api_services(e).dispatches for e in engines]  # one connection pool each
    try:
        for trial in range(TRIALS):
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1 + trial)
            ivs = [Interval(start, timedelta(minutes=15), 5000.0)]
            requests = [
                ("plant-a", DispatchInput("plant-a", DispatchMode.ABSOLUTE, ivs)),
                ("plant-a-bat", DispatchInput("plant-a-bat", DispatchMode.ABSOLUTE, ivs)),
            ]
            barrier = threading.Barrier(2)
            outcomes: list[str] = []
            args = [(i, *requests[i], f"race-{trial}", barrier, outcomes) for i in range(2)]
            threads = [threading.Thread(target=submit, args=(services, *a)) for a in args]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(outcomes) == ["accepted", "conflict"], (trial, outcomes)
    finally:
        for e in engines:
            e.dispose()


def submit(
    services: list[DispatchRequests],
    i: int,
    plant: str,
    req: DispatchInput,
    key: str,
    barrier: threading.Barrier,
    outcomes: list[str],
) -> None:
    """Request ``i``, released together with the other one by ``barrier``."""
    barrier.wait()
    try:
        services[i].submit("t-a", req, f"{key}-{plant}")
        outcomes.append("accepted")
    except Conflict as exc:
        assert "already dispatched" in str(exc)
        outcomes.append("conflict")
