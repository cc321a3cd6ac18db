"""The live fleet as a horizon problem: registered DERs + latest readings -> HorizonProblem.

:func:`build_fleet_problem` is pure (no clock, no I/O).  What each kind becomes:

- **battery** — a storage row from ``reading.soc`` and ``ratings`` (``energy_wh``,
  ``soc_min``/``soc_max``, efficiencies, ``ramp_w_per_s`` × step).  Without ``soc`` it is
  held at its measured power (as its envelope is) and counted in the baseline.
- **EV charger** — charge-only, and only while ``reading.connected`` is true (a car that
  is not plugged in gets a zero row: arrivals are not forecast).  Energy wanted: an
  :class:`EvSession` if given (the data model has no departure time), else
  ``reading.energy_wh`` (what the car still wants), else the room up to ``soc_max``.  With
  a departure, that energy is a lower bound at departure (or, when departure is after the
  horizon, what must be in by the horizon's end); without one, only an upper bound.
- **PV** — curtailable up to the forecast available power (``HorizonForecast.pv_avail_w``);
  default: the clear-sky shape scaled to ``reading.p_avail_w`` (else ``p_w``) now, or that
  power held constant when the sun's shape is below 5 % now (night, dawn).
- **CHP** — :class:`ChpFleet` (min stable power, on now iff it injects more than 1 % of
  its maximum), plus :class:`ChpDynamics` (ramp from ``ramp_w_per_s``, min up time from
  ``chp_min_up_steps``; minimum off time from ``ratings.min_off_s``, and a unit seen
  stopping resting until ``chp_off_until``) solved by :func:`solve_fleet_problem`.
- **flexible load** — must consume what its job still needs (``reading.energy_wh``; or
  ``(1 - soc) * ratings.energy_wh``) by its :class:`LoadWindow` end, or by the horizon's
  end when none is given.  Without an energy state: held at its baseline.
- **heat pump** — an energy band keeping its store in the comfort band
  (:func:`vpp.optimizer.fleet_rows.thermal_band_row`): fill ``reading.soc``, band
  ``ratings.energy_wh`` electrical Wh (default ``DEFAULT_BAND_H`` × full power, noted),
  demand from ``HorizonForecast.load_w`` (else its present consumption held).  Without
  ``soc``: held at its baseline.  Minimum stable power is relaxed (convex).

What is held counts in ``baseline_w`` and is taken off the target, as is the forecast's
plant-level ``fixed_w``: the problem's target is what the planned rows must sum to.
DERs without a fresh reading, or in ``unavailable``, are left out and the notes say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from vpp.domain import Der, DerKind, Reading
from vpp.domain.flexibility import DEFAULT_MAX_AGE
from vpp.optimizer.chp_dynamics import ChpDynamics
from vpp.optimizer.fleet_allocation import DEFAULT_COSTS, DerCost
from vpp.optimizer.fleet_build import FleetRows
from vpp.optimizer.fleet_inputs import EvSession, HorizonForecast, LoadWindow
from vpp.optimizer.horizon import FloatArray, HorizonProblem
from vpp.optimizer.plan import HorizonPlan

__all__ = [
    "EvSession",
    "FleetProblem",
    "HorizonForecast",
    "LoadWindow",
    "build_fleet_problem",
    "plan_setpoints",
    "solve_fleet_problem",
]

#: Default deviation penalty: 1 EUR per kWh off target (currency per Wh).
DEFAULT_DEVIATION_COST = 1e-3


@dataclass(frozen=True, slots=True)
class FleetProblem:
    """The horizon problem of the planned members, plus what was not planned."""

    problem: HorizonProblem
    chp_dynamics: ChpDynamics | None
    baseline_w: FloatArray  # (T,) held members + forecast fixed_w, taken off the target
    plant_target_w: FloatArray  # (T,) the target as given, for the whole plant
    left_out: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    #: (N_storage, T) what each storage row does on its own, W: a battery its measured
    #: power, an EV / flexible load full power while plugged in / in its window, a heat
    #: pump its demand.  The baseline of :mod:`vpp.optimizer.flexibility_horizon`.
    storage_intent_w: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))

    def plant_w(self, plan: HorizonPlan) -> FloatArray:
        """The plant's expected power under ``plan``: planned rows + baseline."""
        return np.asarray(plan.plant_w + self.baseline_w, dtype=np.float64)


def build_fleet_problem(
    ders: Sequence[Der],
    readings: Mapping[str, Reading],
    *,
    start: datetime,
    step: timedelta,
    steps: int,
    target_w: FloatArray | Sequence[float] | float,
    price: FloatArray | Sequence[float] | float = 0.0,
    forecast: HorizonForecast | None = None,
    ev_sessions: Mapping[str, EvSession] | None = None,
    load_windows: Mapping[str, LoadWindow] | None = None,
    chp_min_up_steps: Mapping[str, int] | None = None,
    chp_off_until: Mapping[str, datetime] | None = None,
    unavailable: frozenset[str] = frozenset(),
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    costs: Mapping[DerKind, DerCost] = DEFAULT_COSTS,
    deviation_cost: float | None = DEFAULT_DEVIATION_COST,
) -> FleetProblem:
    """See the module doc.  ``now`` (default ``start``) is when readings must be fresh."""
    if steps < 1 or step <= timedelta(0):
        raise ValueError("a horizon needs steps >= 1 and a positive step")
    target, prices = _per_step(target_w, steps), _per_step(price, steps)
    rows = FleetRows(
        start=start,
        step=step,
        steps=steps,
        forecast=forecast or HorizonForecast(),
        ev_sessions=ev_sessions or {},
        load_windows=load_windows or {},
        chp_min_up_steps=chp_min_up_steps or {},
        chp_off_until=chp_off_until or {},
        costs=costs,
    )
    at = now or start
    left_out = [
        der.der_id
        for der in ders
        if not rows.include(der, readings.get(der.der_id), at, max_age, unavailable)
    ]
    baseline = rows.held_w.copy()
    fixed = rows.forecast.fixed_w
    if fixed is not None:
        baseline += np.asarray(fixed, np.float64)[:steps]
    storage, pv, chp, dyn = rows.fleets()
    problem = HorizonProblem(
        start=start,
        step=step,
        target_w=target - baseline,
        price=prices,
        deviation_cost=deviation_cost,
        storage=storage,
        pv=pv,
        chp=chp,
        notes=tuple(rows.notes),
    )
    return FleetProblem(
        problem, dyn, baseline, target, tuple(left_out), tuple(rows.held), rows.intents()
    )


def _per_step(value: FloatArray | Sequence[float] | float, steps: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, np.float64), (steps,)).copy()


def plan_setpoints(plan: HorizonPlan, now: datetime) -> dict[str, float]:
    """Each planned DER's power (W) over the step covering ``now``; empty outside the plan
    or when the plan has no usable solution."""
    if not plan.status.has_plan or now < plan.start:
        return {}
    k = int((now - plan.start) // plan.step)
    if k >= plan.p_w.shape[1]:
        return {}
    return {der_id: float(plan.p_w[i, k]) for i, der_id in enumerate(plan.der_ids)}


def solve_fleet_problem(
    fp: FleetProblem, *, method: str = "auto", time_limit_s: float | None = None
) -> HorizonPlan:
    """:func:`solve_horizon` unless a CHP ramp or minimum up time can bind; then the exact
    MILP with those rows (:func:`vpp.optimizer.chp_dynamics.solve_with_chp_dynamics`)."""
    from vpp.optimizer.chp_dynamics import solve_with_chp_dynamics
    from vpp.optimizer.solve import solve_horizon

    chp = fp.problem.chp
    if fp.chp_dynamics is not None and chp is not None and fp.chp_dynamics.binds(chp.p_max_w):
        return solve_with_chp_dynamics(fp.problem, fp.chp_dynamics, time_limit_s=time_limit_s)
    return solve_horizon(fp.problem, method=method, time_limit_s=time_limit_s)
