"""A CHP's minimum off time in the horizon plan: a stop keeps it off, a unit seen stopping
rests first (the demo CHPs stay off 5 min once they trip)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vpp.domain import Der, DerKind, DerRatings, Reading
from vpp.optimizer.fleet_problem import build_fleet_problem, solve_fleet_problem

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=60)
BAT = Der("bat", DerKind.BATTERY, DerRatings(-5000, 5000, energy_wh=20000), "gw")


def chp(min_off_s: float) -> Der:
    r = DerRatings(0, 50000, min_stable_w=25000, ramp_w_per_s=500.0, min_off_s=min_off_s)
    return Der("chp", DerKind.CHP, r, "gw")


def plan_chp(unit: Der, p0: float, targets: list[float], off_until: datetime | None = None):  # type: ignore[no-untyped-def]
    readings = {"bat": Reading("bat", T0, 0.0, soc=0.5), "chp": Reading("chp", T0, p0)}
    fp = build_fleet_problem(
        [BAT, unit],
        readings,
        start=T0,
        step=STEP,
        steps=len(targets),
        target_w=targets,
        chp_off_until={"chp": off_until} if off_until else None,
    )
    plan = solve_fleet_problem(fp)
    assert plan.status.has_plan
    return plan.power_of("chp")


def test_a_unit_needed_again_soon_is_kept_at_its_minimum_not_stopped() -> None:
    targets = [0.0, 40000.0, 40000.0]
    free = plan_chp(chp(0.0), 30000.0, targets)
    assert free[0] == 0.0 and free[1] > 30000  # no rest: stop, then start again
    kept = plan_chp(chp(600.0), 30000.0, targets)
    assert kept[0] >= 25000.0 - 1e-6  # 10 min of rest would lose both later steps
    assert kept[1] > 30000


def test_a_unit_seen_stopping_rests_before_it_runs_again() -> None:
    targets = [40000.0, 40000.0, 40000.0, 40000.0]
    rest = plan_chp(chp(300.0), 0.0, targets, off_until=T0 + timedelta(seconds=120))
    assert rest[0] == 0.0 and rest[1] == 0.0  # still resting for two steps
    assert rest[2] > 25000.0  # then it starts
