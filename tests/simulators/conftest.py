"""Fixtures: the demo fleet, started once per session as real worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.fleet import RunningFleet, start_fleet

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "simulators" / "fleets" / "demo.yaml"


@pytest.fixture(scope="session")
def demo_fleet() -> Iterator[RunningFleet]:
    fleet = start_fleet(DEMO, seed=1, ready_timeout_s=60)
    try:
        yield fleet
    finally:
        codes = fleet.stop()
        assert codes == [0] * len(codes), f"workers did not exit cleanly: {codes}"
