"""Holdable flexibility per interval: hand-computed values and feasibility against HiGHS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vpp.domain import Der, DerKind, DerRatings, Reading
from vpp.optimizer import SolveStatus
from vpp.optimizer.fleet_problem import EvSession, build_fleet_problem, solve_fleet_problem
from vpp.optimizer.flexibility_horizon import horizon_flexibility

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def small_fleet() -> tuple[list[Der], dict[str, Reading]]:
    ders = [
        Der("bat", DerKind.BATTERY, DerRatings(-20_000, 20_000, energy_wh=10_000), "gw"),
        Der("chp", DerKind.CHP, DerRatings(0, 40_000, min_stable_w=10_000), "gw"),
        Der("ev", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw"),
    ]
    readings = {
        "bat": Reading("bat", NOW, 0.0, soc=0.5),
        "chp": Reading("chp", NOW, 20_000.0),
        "ev": Reading("ev", NOW, -11_000.0, connected=True, energy_wh=5_000.0),
    }
    return ders, readings


def test_small_fleet_by_hand() -> None:
    ders, readings = small_fleet()
    fp = build_fleet_problem(ders, readings, start=NOW, step=HALF_HOUR, steps=3, target_w=0.0)
    flex = horizon_flexibility(fp)
    # battery idle, 5 kWh either way in 30 min: +-10 kW; CHP at 20 kW: up 20, down 20 (off);
    # EV at full power takes 5 kWh in the first half hour (10 kW average), then is done
    assert flex.baseline_w == pytest.approx([20_000 - 10_000, 20_000, 20_000])
    assert flex.up_w == pytest.approx([10_000 + 20_000 + 10_000, 30_000, 30_000])
    assert flex.down_w == pytest.approx([10_000 + 20_000, 30_000, 30_000])


def test_ev_deadline_leaves_no_up_flexibility_when_it_needs_full_power() -> None:
    ders = [Der("ev", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw")]
    readings = {"ev": Reading("ev", NOW, -11_000.0, connected=True)}
    fp = build_fleet_problem(
        ders,
        readings,
        start=NOW,
        step=HALF_HOUR,
        steps=4,
        target_w=0.0,
        ev_sessions={"ev": EvSession(NOW + timedelta(hours=1), 11_000.0)},
    )
    flex = horizon_flexibility(fp)
    assert flex.baseline_w == pytest.approx([-11_000, -11_000, 0, 0])
    # charging less would miss departure (within the 1e-9 the builder keeps off the limit)
    assert flex.up_w == pytest.approx([0, 0, 0, 0], abs=0.01)
    assert flex.down_w == pytest.approx([0, 0, 0, 0], abs=0.01)  # full power; gone after


@pytest.mark.parametrize("k", [0, 1, 3])
def test_offered_up_power_is_feasible_and_tight_for_a_battery(k: int) -> None:
    ders = [
        Der("bat", DerKind.BATTERY, DerRatings(-20_000, 20_000, energy_wh=10_000), "gw"),
    ]
    readings = {"bat": Reading("bat", NOW, 4_000.0, soc=0.6)}  # discharging 4 kW now
    flex = horizon_flexibility(
        build_fleet_problem(ders, readings, start=NOW, step=HALF_HOUR, steps=4, target_w=0.0)
    )
    for extra, ok in ((0.0, True), (1_000.0, False)):
        target = np.concatenate((flex.baseline_w[:k], [flex.p_max_w[k] + extra]))
        fp = build_fleet_problem(
            ders,
            readings,
            start=NOW,
            step=HALF_HOUR,
            steps=k + 1,
            target_w=target,
            deviation_cost=None,
        )
        plan = solve_fleet_problem(fp)
        assert (plan.status is SolveStatus.OPTIMAL) is ok, (k, extra, plan.status)
