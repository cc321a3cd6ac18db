"""The price-response DP is exact, and the decomposition's bounds bracket HiGHS' optimum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpp.optimizer import (
    ChargeWindow,
    HorizonProblem,
    SolveStatus,
    battery_fleet,
    concat_storage,
    solve_horizon,
    solve_horizon_decomposed,
    solve_horizon_lp,
    window_fleet,
)
from vpp.optimizer.examples import battery_problem, mixed_problem
from vpp.optimizer.fleet_oracle import FleetOracle

START = datetime(2026, 1, 1, tzinfo=UTC)


def random_storage_problem(seed: int, steps: int = 16) -> HorizonProblem:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    dt_h = 0.5
    bats = battery_fleet(
        tuple(f"b{i}" for i in range(n)),
        steps=steps,
        p_charge_w=rng.uniform(1e3, 5e3, n),
        p_discharge_w=rng.uniform(0, 5e3, n),
        capacity_wh=rng.uniform(2e3, 1e4, n),
        soc0=rng.uniform(0.1, 0.9, n),
        soc_min=0.1,
        soc_max=0.9,
        soc_final_min=float(rng.uniform(0, 0.6)),
        eff_charge=rng.uniform(0.8, 1, n),
        eff_discharge=rng.uniform(0.8, 1, n),
        wear_cost=rng.uniform(0, 3e-5, n),
    )
    a = int(rng.integers(0, steps - 2))
    ev = window_fleet(
        [ChargeWindow("ev", a, int(rng.integers(a, steps)), 4_000.0, 3_000.0, 0.9)],
        steps=steps,
        dt_h=dt_h,
    )
    # prices of both signs: the LP may then charge and discharge at once
    lam = rng.normal(1e-4, 2e-4, steps)
    return HorizonProblem(
        START,
        timedelta(hours=dt_h),
        np.zeros(steps),
        lam,
        deviation_cost=0.0,
        storage=concat_storage([bats, ev]),
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_price_response_equals_the_lp(seed: int) -> None:
    """With a zero deviation cost the plant balance is free: the LP optimum is the sum of
    each device's best response to the price, which the DP must reproduce exactly."""
    problem = random_storage_problem(seed)
    lp = solve_horizon_lp(problem)
    column = FleetOracle(problem).respond(problem.price)
    assert column.lagrangian == pytest.approx(lp.objective, rel=1e-7, abs=1e-9)
    sched = FleetOracle(problem).schedules(problem.price)
    s = problem.storage
    assert s is not None
    assert np.all(sched.energy_wh >= s.energy_min_wh - 1e-6)
    assert np.all(sched.energy_wh <= s.energy_max_wh + 1e-6)


@pytest.mark.parametrize(
    "problem",
    [
        battery_problem(40, steps=48, seed=1),
        mixed_problem(steps=48, with_chp=False, battery_ramp_w=np.inf),
    ],
    ids=["batteries", "mixed"],
)
def test_bounds_bracket_the_optimum(problem: HorizonProblem) -> None:
    exact = solve_horizon_lp(problem)
    plan = solve_horizon_decomposed(problem)
    assert plan.status.has_plan and plan.lower_bound is not None and plan.gap is not None
    tol = 1e-7 * max(1.0, abs(exact.objective))
    assert plan.lower_bound <= exact.objective + tol
    assert plan.objective >= exact.objective - tol
    assert plan.gap >= -1e-9
    s = problem.storage
    assert s is not None
    ns = s.size
    assert np.all(plan.energy_wh >= s.energy_min_wh - 1e-3)
    assert np.all(plan.energy_wh <= s.energy_max_wh + 1e-3)
    assert np.all(plan.p_w[:ns] <= s.discharge_max_w + 1e-3)
    assert np.all(plan.p_w[:ns] >= -s.charge_max_w - 1e-3)


def test_mixed_fleet_reaches_the_optimum() -> None:
    problem = mixed_problem(steps=48, with_chp=False, battery_ramp_w=np.inf)
    plan = solve_horizon_decomposed(problem)
    assert plan.status is SolveStatus.OPTIMAL
    assert plan.gap is not None and plan.gap <= 1e-3
    exact = solve_horizon_lp(problem)
    assert plan.objective == pytest.approx(exact.objective, rel=1e-3)


def test_binding_ramps_are_refused_as_a_status() -> None:
    plan = solve_horizon_decomposed(mixed_problem(steps=24, with_chp=False))
    assert plan.status is SolveStatus.ERROR
    assert "ramp" in plan.notes[0]


def test_auto_picks_a_plan_at_least_as_good_as_the_decomposition() -> None:
    problem = battery_problem(250, steps=24, seed=4)
    auto = solve_horizon(problem)
    dec = solve_horizon_decomposed(problem)
    assert auto.status.has_plan
    assert auto.objective <= dec.objective + 1e-9 * max(1.0, abs(dec.objective))
    if dec.gap is not None and dec.gap > 1e-3:
        assert auto.method == "highs"
