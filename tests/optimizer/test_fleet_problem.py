"""The live fleet -> HorizonProblem builder, solved exactly: every kind's constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vpp.domain import Der, DerKind, DerRatings, Reading
from vpp.optimizer import SolveStatus, solve_horizon_lp
from vpp.optimizer.fleet_problem import (
    EvSession,
    HorizonForecast,
    LoadWindow,
    build_fleet_problem,
    plan_setpoints,
    solve_fleet_problem,
)

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
STEP = timedelta(minutes=15)
DT_H = 0.25
T = 16
BAT = DerRatings(-20_000, 20_000, energy_wh=40_000, soc_min=0.1, soc_max=0.9, eff_charge=0.95)
HP = DerRatings(-6_000, 0, energy_wh=3_000, min_stable_w=2_000)


def mixed_fleet() -> tuple[list[Der], dict[str, Reading]]:
    ders = [
        Der("bat-1", DerKind.BATTERY, BAT, "gw-1"),
        Der("ev-1", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-1"),
        Der("ev-away", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-1"),
        Der("pv-1", DerKind.PV, DerRatings(0, 30_000), "gw-1"),
        Der("chp-1", DerKind.CHP, DerRatings(0, 40_000, min_stable_w=15_000), "gw-2"),
        Der("hp-1", DerKind.HEAT_PUMP, HP, "gw-2"),
        Der("load-1", DerKind.FLEXIBLE_LOAD, DerRatings(-4_000, 0), "gw-2"),
        Der("stale", DerKind.BATTERY, BAT, "gw-2"),
        Der("sick", DerKind.BATTERY, BAT, "gw-2"),
    ]
    readings = {
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.5),
        "ev-1": Reading("ev-1", NOW, -3_000.0, soc=0.4, connected=True, energy_wh=15_000.0),
        "ev-away": Reading("ev-away", NOW, 0.0, connected=False),
        "pv-1": Reading("pv-1", NOW, 12_000.0, p_avail_w=15_000.0),
        "chp-1": Reading("chp-1", NOW, 20_000.0),
        "hp-1": Reading("hp-1", NOW, -2_000.0, soc=0.3),
        "load-1": Reading("load-1", NOW, 0.0, energy_wh=6_000.0),
        "stale": Reading("stale", NOW - timedelta(hours=1), 0.0, soc=0.5),
        "sick": Reading("sick", NOW, 0.0, soc=0.5),
    }
    return ders, readings


def test_mixed_fleet_of_every_kind_is_planned_within_each_kinds_limits() -> None:
    ders, readings = mixed_fleet()
    demand = np.full(T, 2_500.0)
    fp = build_fleet_problem(
        ders,
        readings,
        start=NOW,
        step=STEP,
        steps=T,
        target_w=np.linspace(10_000.0, 30_000.0, T),
        price=1e-4,
        forecast=HorizonForecast(load_w={"hp-1": tuple(-demand)}),
        ev_sessions={"ev-1": EvSession(NOW + timedelta(hours=3), 15_000.0)},
        unavailable=frozenset({"sick"}),
    )
    assert fp.left_out == ("stale", "sick")
    assert any("stale: left out, no fresh reading" in n for n in fp.problem.notes)
    assert any("sick: left out, marked unhealthy" in n for n in fp.problem.notes)
    plan = solve_horizon_lp(fp.problem)
    assert plan.status is SolveStatus.OPTIMAL
    assert set(plan.der_ids) == {"bat-1", "ev-1", "ev-away", "pv-1", "chp-1", "hp-1", "load-1"}
    p = {d: plan.power_of(d) for d in plan.der_ids}
    tol = 1e-3
    assert np.allclose(plan.plant_w, fp.problem.target_w, atol=1.0)  # reachable target met
    # battery: power and state of charge within ratings
    e_bat = plan.energy_wh[plan.storage_ids.index("bat-1")]
    assert np.all(np.abs(p["bat-1"]) <= 20_000 + tol)
    assert np.all((e_bat >= 0.1 * 40_000 - tol) & (e_bat <= 0.9 * 40_000 + tol))
    # EVs: charge only, nothing without a car, the session's energy by its departure
    assert np.all(p["ev-1"] <= tol) and np.all(p["ev-1"] >= -11_000 - tol)
    assert np.all(np.abs(p["ev-away"]) <= tol)
    assert -p["ev-1"][:12].sum() * DT_H >= 15_000.0 - 1.0
    # PV: between 0 and the clear-sky forecast scaled to 15 kW available now
    assert np.all(p["pv-1"] >= -tol) and np.all(p["pv-1"] <= fp.problem.pv.p_avail_w[0] + tol)  # type: ignore[union-attr]
    assert fp.problem.pv.p_avail_w[0, 0] > 15_000.0  # type: ignore[union-attr]  # 10:00 UTC: rising
    # CHP: off, or between min stable and max
    chp = p["chp-1"]
    assert np.all((np.abs(chp) <= tol) | ((chp >= 15_000 - tol) & (chp <= 40_000 + tol)))
    # heat pump: the store stays within its comfort band under the forecast demand
    store = 0.3 * 3_000 + np.cumsum(-p["hp-1"] - demand) * DT_H
    assert np.all((store >= -1.0) & (store <= 3_000 + 1.0))
    assert np.all(p["hp-1"] <= tol) and np.all(p["hp-1"] >= -6_000 - tol)
    # flexible load: its remaining job consumed within the horizon
    assert -p["load-1"].sum() * DT_H == pytest.approx(6_000.0, abs=1.0)
    # the plan's step covering an instant gives the setpoints
    sp = plan_setpoints(plan, NOW + 5 * STEP + timedelta(seconds=7))
    assert sp == {d: pytest.approx(float(p[d][5])) for d in plan.der_ids}
    assert plan_setpoints(plan, NOW + T * STEP) == {}
    assert plan_setpoints(plan, NOW - timedelta(seconds=1)) == {}


def test_members_without_state_are_held_and_taken_off_the_target() -> None:
    ders = [
        Der("bat-1", DerKind.BATTERY, BAT, "gw-1"),
        Der("bat-nosoc", DerKind.BATTERY, BAT, "gw-1"),
        Der("hp-nosoc", DerKind.HEAT_PUMP, HP, "gw-1"),
        Der("load-noenergy", DerKind.FLEXIBLE_LOAD, DerRatings(-4_000, 0), "gw-1"),
    ]
    readings = {
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.5),
        "bat-nosoc": Reading("bat-nosoc", NOW, 1_000.0),
        "hp-nosoc": Reading("hp-nosoc", NOW, -3_000.0),
        "load-noenergy": Reading("load-noenergy", NOW, -500.0),
    }
    fp = build_fleet_problem(
        ders, readings, start=NOW, step=STEP, steps=4, target_w=5_000.0, forecast=None
    )
    assert fp.held == ("bat-nosoc", "hp-nosoc", "load-noenergy")
    assert np.allclose(fp.baseline_w, 1_000.0 - 3_000.0 - 500.0)
    assert np.allclose(fp.problem.target_w, 5_000.0 + 2_500.0)
    assert fp.problem.der_ids == ("bat-1",)
    plan = solve_fleet_problem(fp)
    assert np.allclose(fp.plant_w(plan), 5_000.0, atol=1.0)


def ev_fleet(session: EvSession | None) -> tuple[np.ndarray, np.ndarray, float]:
    ders = [
        Der("bat-1", DerKind.BATTERY, BAT, "gw-1"),
        Der("ev-1", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-1"),
    ]
    readings = {
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.8),
        "ev-1": Reading("ev-1", NOW, 0.0, soc=0.2, connected=True),
    }
    fp = build_fleet_problem(
        ders,
        readings,
        start=NOW,
        step=STEP,
        steps=T,
        target_w=0.0,
        ev_sessions={"ev-1": session} if session is not None else None,
    )
    plan = solve_fleet_problem(fp)
    assert plan.status is SolveStatus.OPTIMAL
    assert np.allclose(plan.plant_w, 0.0, atol=1.0)
    eff = fp.problem.storage.eff_charge[1]  # type: ignore[union-attr]
    return plan.power_of("ev-1"), plan.energy_wh[1], float(eff)


def test_ev_deadline_makes_the_plan_charge_ahead_although_the_target_does_not() -> None:
    idle, _, _ = ev_fleet(None)
    assert np.all(np.abs(idle) < 1.0)  # a flat zero target alone never charges the car
    p_ev, energy, eff = ev_fleet(EvSession(NOW + timedelta(hours=2), 18_000.0))
    assert -p_ev[:8].sum() * DT_H * eff >= 18_000.0 - 1.0  # in the car by departure
    assert np.all(np.abs(p_ev[8:]) < 1e-6)  # gone after departure
    assert energy[7] >= 18_000.0 - 1.0


def test_ev_departing_after_the_horizon_gets_what_the_time_after_cannot_add() -> None:
    # 40 kWh by 6 h; the 4 h horizon must put in what 2 h at 11 kW cannot
    p_ev, energy, eff = ev_fleet(EvSession(NOW + timedelta(hours=6), 40_000.0))
    must = 40_000.0 - 11_000.0 * eff * 2.0
    assert must > 10_000.0
    assert energy[-1] >= must - 1.0
    assert -p_ev.sum() * DT_H * eff == pytest.approx(energy[-1], abs=1.0)


def chp_plan(ramp_w_per_s: float | None, min_up: int = 1) -> tuple[np.ndarray, np.ndarray]:
    chp = DerRatings(0, 40_000, min_stable_w=10_000, ramp_w_per_s=ramp_w_per_s)
    sink = DerRatings(-50_000, 50_000, energy_wh=100_000, soc_min=0.1, soc_max=0.9)
    ders = [Der("chp-1", DerKind.CHP, chp, "gw-1"), Der("bat-1", DerKind.BATTERY, sink, "gw-1")]
    readings = {
        "chp-1": Reading("chp-1", NOW, 0.0),
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.1),  # empty: it can only absorb
    }
    target = np.zeros(12)
    target[4:8] = 40_000.0
    fp = build_fleet_problem(
        ders,
        readings,
        start=NOW,
        step=STEP,
        steps=12,
        target_w=target,
        chp_min_up_steps={"chp-1": min_up},
    )
    plan = solve_fleet_problem(fp)
    assert plan.status is SolveStatus.OPTIMAL
    assert np.allclose(plan.plant_w, target, atol=1.0)
    return plan.power_of("chp-1"), target


def test_chp_ramp_starts_before_the_interval_that_needs_it() -> None:
    jump, _ = chp_plan(None)
    assert np.all(jump[:4] < 1.0)  # without a ramp limit it starts with the interval
    ramp = 10_000.0 / STEP.total_seconds()  # 10 kW per step
    p, _ = chp_plan(ramp)
    assert p[:4].max() > 10_000.0  # ramping before the 40 kW interval (target met: chp_plan)
    on = p > 1.0
    prev = np.concatenate(([0.0], p[:-1]))
    step_up = np.diff(np.concatenate(([0.0], p)))
    # a start may jump to min stable + ramp; running, one ramp per step
    assert np.all(step_up <= 10_000.0 + np.where(prev > 1.0, 0.0, 10_000.0) + 1.0)
    assert np.all(-step_up <= 10_000.0 + np.where(on, 0.0, 10_000.0) + 1.0)


def test_chp_minimum_up_time_keeps_it_running() -> None:
    p, _ = chp_plan(None, min_up=8)
    on = np.flatnonzero(p > 1.0)
    assert on.size >= 8 and np.all(np.diff(on) == 1)  # one run of at least 8 steps
    free, _ = chp_plan(None)
    assert np.flatnonzero(free > 1.0).size < 8  # the run is the minimum up time's doing


def test_load_window_and_bad_series_length() -> None:
    ders = [Der("load-1", DerKind.FLEXIBLE_LOAD, DerRatings(-4_000, 0), "gw-1")]
    readings = {"load-1": Reading("load-1", NOW, 0.0, energy_wh=2_000.0)}
    fp = build_fleet_problem(
        ders,
        readings,
        start=NOW,
        step=STEP,
        steps=T,
        target_w=-1_000.0,
        load_windows={"load-1": LoadWindow(NOW + timedelta(hours=1))},
    )
    plan = solve_fleet_problem(fp)
    p = plan.power_of("load-1")
    assert -p[:4].sum() * DT_H == pytest.approx(2_000.0, abs=1.0)
    assert np.all(np.abs(p[4:]) < 1e-6)
    with pytest.raises(ValueError, match="3 values for 16 steps"):
        build_fleet_problem(
            [Der("pv-1", DerKind.PV, DerRatings(0, 1_000), "gw-1")],
            {"pv-1": Reading("pv-1", NOW, 0.0)},
            start=NOW,
            step=STEP,
            steps=T,
            target_w=0.0,
            forecast=HorizonForecast(pv_avail_w={"pv-1": (1.0, 2.0, 3.0)}),
        )
