"""Device state narrows the envelope: heat-pump comfort band, flexible-load job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vpp.domain import Der, DerKind, DerRatings, Reading, der_envelope

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HP = Der("hp-1", DerKind.HEAT_PUMP, DerRatings(-3000, 0, min_stable_w=900), "gw-1")
LOAD = Der("load-1", DerKind.FLEXIBLE_LOAD, DerRatings(-2000, 0), "gw-1")


def env(der: Der, **state: object) -> tuple[float, float]:
    e = der_envelope(der, Reading(der.der_id, NOW, -500.0, **state), NOW)  # type: ignore[arg-type]
    assert e is not None
    return e.p_min_w, e.p_max_w


def test_heat_pump_comfort_band() -> None:
    assert env(HP, soc=0.5) == (-3000, 0)
    assert env(HP, soc=0.99) == (0, 0)  # at the top: may not heat
    assert env(HP, soc=0.01) == (-3000, -900)  # at the bottom: must run, at least its minimum
    assert env(HP) == (-3000, 0)  # no state reported: the nameplate range


def test_flexible_load_job() -> None:
    due = NOW + timedelta(hours=2)
    assert env(LOAD, energy_wh=1500.0, deadline=due) == (-2000, 0)
    assert env(LOAD, energy_wh=0.0, deadline=due) == (0, 0)  # done
    assert env(LOAD, energy_wh=800.0) == (0, 0)  # outside its window: no deadline
    assert env(LOAD) == (-2000, 0)  # no state reported: the nameplate range
