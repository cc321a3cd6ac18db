"""The horizon plan of a dispatch: made at acceptance and every ``replan_s`` (rolling).

The plan covers the dispatch from now to its end over every member's constraints — state
of charge, EV energy by departure, CHP ramps and minimum up time, heat-pump comfort band,
flexible-load energy — from the forecasts of what is not controllable (PV available
power: a clear-sky shape scaled to what each PV has now; loads: persistence), with
:func:`vpp.optimizer.fleet_problem.build_fleet_problem` and
:func:`~vpp.optimizer.fleet_problem.solve_fleet_problem` (HiGHS for small plants, the
decomposition with its proven gap for large ones).  Between intervals the plant is asked
for what it does now.

Every 4 s the cycle tracks the plan: the plan's power for the current step is each
member's reference, and the target's remainder (measured error, members that dropped out)
is spread around those references at a quadratic cost — so energy is used as planned and
the fast correction does not drain a battery the plan needs later.  Without a usable plan
(solver error, time limit, nothing to plan) the cycle falls back to merit order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from vpp.application.ports import OpenDispatch
from vpp.domain.der import Der, DerKind
from vpp.domain.telemetry import Reading
from vpp.optimizer.fleet_allocation import DerCost, FleetAllocation, allocate_fleet
from vpp.optimizer.fleet_problem import (
    FleetProblem,
    build_fleet_problem,
    plan_setpoints,
    solve_fleet_problem,
)
from vpp.optimizer.plan import HorizonPlan

MAX_STEPS = 96
MIN_STEP = timedelta(seconds=30)

#: The cost of moving a member off its planned power for a few seconds (currency per W²h):
#: batteries first, then what is flexible at little discomfort, PV and CHP last.
TRACKING_COSTS: Mapping[DerKind, DerCost] = {
    DerKind.BATTERY: DerCost(quad=1e-9),
    DerKind.EV_CHARGER: DerCost(quad=2e-9),
    DerKind.HEAT_PUMP: DerCost(quad=4e-9),
    DerKind.FLEXIBLE_LOAD: DerCost(quad=4e-9),
    DerKind.PV: DerCost(quad=8e-9),
    DerKind.CHP: DerCost(quad=8e-9),
}


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    plan: HorizonPlan
    fleet: FleetProblem
    made_at: datetime
    excluded: frozenset[str] = frozenset()  # members planned around (held, dropped out)

    @property
    def usable(self) -> bool:
        return self.plan.status.has_plan

    def references(self, now: datetime) -> dict[str, float]:
        """Each planned member's power for the step covering ``now``."""
        return plan_setpoints(self.plan, now) if self.usable else {}

    def planned_plant_w(self, now: datetime) -> float | None:
        """The plant's planned power (planned rows + what the plan held) at ``now``."""
        if not self.usable or now < self.plan.start:
            return None
        k = int((now - self.plan.start) // self.plan.step)
        total = self.fleet.plant_w(self.plan)
        return float(total[k]) if k < total.shape[0] else None

    def describe(self) -> str:
        p = self.plan
        text = f"horizon plan {p.status.value} ({p.method}, {p.p_w.shape[1]} steps"
        gap = p.gap
        if gap is not None and math.isfinite(gap):
            text += f", proven gap {gap:.2%}"
        text += ")"
        if self.fleet.held:
            text += f", {len(self.fleet.held)} member(s) planned at their baseline"
        return text


def plan_step(d: OpenDispatch, now: datetime) -> tuple[datetime, timedelta, int]:
    """The plan's start, step and steps: the step is the shortest interval (at least 30 s,
    at most 96 steps to the end), laid on the grid of the intervals' starts — the first
    step is the one covering now — so that a step never straddles two targets (a plan
    made mid-interval would otherwise plan the next interval's target for now)."""
    remaining = max((d.end - now).total_seconds(), 1.0)
    shortest = min(iv.duration_s for iv in d.intervals)
    step_s = max(MIN_STEP.total_seconds(), min(shortest, 900.0), remaining / MAX_STEPS)
    step = timedelta(seconds=step_s)
    anchor = d.intervals[0].start  # steps on the intervals' grid, the one covering now first
    start = anchor + math.floor((now - anchor) / step) * step
    return start, step, max(1, math.ceil((d.end - start).total_seconds() / step_s))


def step_targets(
    d: OpenDispatch, start: datetime, step: timedelta, steps: int, idle_w: float
) -> np.ndarray:
    """The plant target per step (by the step's midpoint); ``idle_w`` between intervals."""
    out = np.full(steps, idle_w)
    for k in range(steps):
        mid = start + step * k + step / 2
        iv = next((iv for iv in d.intervals if iv.start <= mid < iv.end), None)
        if iv is not None and iv.p_w_target is not None:
            out[k] = iv.p_w_target
    return out


def make_plan(
    d: OpenDispatch,
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    excluded: frozenset[str],
    held_w: float,
    measured_w: float,
    now: datetime,
    chp_off_until: Mapping[str, datetime] | None = None,
    time_limit_s: float = 3.0,
) -> DispatchPlan:
    """Plan ``d`` from ``now`` to its end around the ``excluded`` members, which hold
    ``held_w`` between them (pure: the optimizer and the inputs)."""
    start, step, steps = plan_step(d, now)
    targets = step_targets(d, start, step, steps, measured_w) - held_w
    fleet = build_fleet_problem(
        [m for m in members if m.der_id not in excluded],
        readings,
        start=start,
        step=step,
        steps=steps,
        target_w=targets,
        now=now,
        chp_off_until=chp_off_until,
    )
    plan = solve_fleet_problem(fleet, time_limit_s=time_limit_s)
    return DispatchPlan(plan, fleet, now, excluded)


def preparations(
    plan: DispatchPlan,
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    tolerance_w: Mapping[str, float],
    now: datetime,
) -> dict[str, float]:
    """Before an interval: the members the plan moves away from what they do now (a CHP
    that must ramp up ahead, storage that must charge first), and their planned power."""
    refs = plan.references(now)
    out = {}
    for m in members:
        r, ref = readings.get(m.der_id), refs.get(m.der_id)
        if r is not None and ref is not None and abs(ref - r.p_w) > tolerance_w[m.der_id]:
            out[m.der_id] = ref
    return out


def due(plan: DispatchPlan | None, replan_s: float, now: datetime) -> bool:
    """A plan is made again every ``replan_s`` (rolling).  Not sooner when a member is held
    or drops out: the allocation already spreads its share around the plan, and a new plan
    mid-interval reshuffles every member at once (a dip while they move)."""
    return plan is None or (now - plan.made_at).total_seconds() >= replan_s


def track(
    plan: DispatchPlan | None,
    followers: Sequence[Der],
    readings: Mapping[str, Reading],
    limits: Mapping[str, tuple[float, float]],
    wanted_w: float,
    now: datetime,
) -> FleetAllocation:
    """This cycle's setpoints: ``wanted_w`` spread around the plan's powers for now at the
    tracking costs, or in merit order when there is no usable plan."""
    refs = plan.references(now) if plan is not None else {}
    if not refs:
        return allocate_fleet(followers, readings, now, wanted_w, limits_by_der=limits)
    limits = commitments(followers, refs, limits)
    return allocate_fleet(
        followers,
        readings,
        now,
        wanted_w,
        costs=TRACKING_COSTS,
        p_ref_by_der=refs,
        limits_by_der=limits,
    )


def commitments(
    followers: Sequence[Der],
    refs: Mapping[str, float],
    limits: Mapping[str, tuple[float, float]],
) -> dict[str, tuple[float, float]]:
    """The plan decides which CHPs run: a unit it runs is not tripped by the fast
    correction (at least its minimum), one it stops gets 0 W (it would not restart soon)."""
    out = dict(limits)
    for m in followers:
        ref = refs.get(m.der_id)
        if m.kind is not DerKind.CHP or ref is None or m.ratings.min_stable_w <= 0:
            continue
        lo, hi = out.get(m.der_id, (m.ratings.p_min_w, m.ratings.p_max_w))
        if ref >= 0.5 * m.ratings.min_stable_w:
            lo = max(lo, m.ratings.min_stable_w)
            out[m.der_id] = (min(lo, hi), hi)
        else:
            out[m.der_id] = (0.0, 0.0)
    return out
