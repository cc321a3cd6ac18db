"""CHP ramp limits and minimum up time on top of the horizon LP (``ChpFleet`` has neither).

:class:`ChpFleet` models on/off, minimum stable power and start costs only.  A unit that
ramps (W per step) or must stay on for ``min_up_steps`` once started is described here and
its rows are added to the LP that :func:`vpp.optimizer.horizon_lp.build_horizon_lp` builds
(that module stays untouched).  Rows, with ``p`` kW and ``u`` the on/off binaries:

- up:   ``p[t] - p[t-1] <= R + Pmin (1 - u[t-1])`` — a start may jump to ``Pmin + R``;
- down: ``p[t-1] - p[t] <= R + Pmin (1 - u[t])`` — a unit stops only from ``<= Pmin + R``;
- ``p[-1] = p0_w`` and ``u[-1] = on0`` come from the unit's reading, so a ramp that must
  start before an interval is planned from where the unit is now;
- min up: ``u[tau] >= u[t] - u[t-1]`` for ``tau`` in ``t+1 .. t+L-1``.  A unit already on
  is assumed to have served its minimum up time (the reading says nothing about since when);
- min down (``ratings.min_off_s``): a stop keeps the unit off for ``L`` steps, and a unit
  seen stopping (``off_steps``, from the dispatcher's loop state) rests that long first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.horizon import FloatArray, HorizonProblem
from vpp.optimizer.horizon_lp import KW, HorizonModel, _assign, build_horizon_lp
from vpp.optimizer.lp import solve_highs
from vpp.optimizer.plan import HorizonPlan, deviation_bindings, plan_cost
from vpp.optimizer.status import SolveStatus


@dataclass(frozen=True, slots=True)
class ChpDynamics:
    """Per CHP unit, in the order of the problem's :class:`ChpFleet`."""

    ramp_w: FloatArray  # (N,) largest change of power per step; inf = none
    p0_w: FloatArray  # (N,) power now
    min_up_steps: NDArray[np.int64]  # (N,) 1 = none
    min_down_steps: NDArray[np.int64] | None = None  # (N,) once stopped, off this long
    off_steps: NDArray[np.int64] | None = None  # (N,) steps it must still stay off from now

    def binds(self, p_max_w: FloatArray) -> bool:
        down = self.min_down_steps is not None and bool(np.any(self.min_down_steps > 1))
        off = self.off_steps is not None and bool(np.any(self.off_steps > 0))
        return bool(np.any(self.ramp_w < p_max_w) or np.any(self.min_up_steps > 1)) or down or off


def add_chp_dynamics(m: HorizonModel, dyn: ChpDynamics) -> None:
    """Add ramp and minimum-up rows for the CHP columns of ``m`` (built by build_horizon_lp)."""
    chp, t_ = m.problem.chp, m.problem.steps
    if chp is None or chp.size == 0:
        return
    n = chp.size
    p = m.power_cols[-1].reshape(n, t_)  # define_chp adds p, then u, as the last family
    u = p + n * t_
    assert np.concatenate(m.lp.integer)[u].all(), "CHP on/off columns not where expected"
    pmin = chp.min_stable_w / KW
    on0 = chp.on0.astype(float)
    for i in np.flatnonzero(dyn.ramp_w < chp.p_max_w):
        r = dyn.ramp_w[i] / KW
        p0 = dyn.p0_w[i] / KW
        k = t_ - 1
        rows = np.arange(k)
        if k:
            # up:   p[t] - p[t-1] + Pmin u[t-1] <= R + Pmin
            # down: p[t-1] - p[t] + Pmin u[t] <= R + Pmin
            for a, b, uu in ((p[i, 1:], p[i, :-1], u[i, :-1]), (p[i, :-1], p[i, 1:], u[i, 1:])):
                m.lp.add_rows(
                    k,
                    np.r_[rows, rows, rows],
                    np.r_[a, b, uu],
                    np.r_[np.ones(k), -np.ones(k), np.full(k, pmin[i])],
                    -np.inf,
                    r + pmin[i],
                )
        # first step from the reading: p[0] <= p0 + R + Pmin (1 - on0)
        #                              p0 - p[0] <= R + Pmin (1 - u[0])
        first_up = p0 + r + pmin[i] * (1 - on0[i])
        m.lp.add_rows(1, np.r_[0], np.r_[p[i, 0]], np.ones(1), -np.inf, first_up)
        m.lp.add_rows(
            1, np.r_[0, 0], np.r_[p[i, 0], u[i, 0]], np.r_[-1.0, pmin[i]], -np.inf, r + pmin[i] - p0
        )
    for i in np.flatnonzero(dyn.min_up_steps > 1):
        _min_up_rows(m, u[i], int(dyn.min_up_steps[i]), on0[i])
    if dyn.min_down_steps is not None:
        for i in np.flatnonzero(dyn.min_down_steps > 1):
            _min_down_rows(m, u[i], int(dyn.min_down_steps[i]), on0[i])
    if dyn.off_steps is not None:
        for i in np.flatnonzero(dyn.off_steps > 0):
            k = min(int(dyn.off_steps[i]), t_)  # still resting: off for its first k steps
            m.lp.add_rows(k, np.arange(k), u[i, :k], np.ones(k), -np.inf, 0.0)


def _min_down_rows(m: HorizonModel, u: NDArray[np.int64], length: int, on0: float) -> None:
    """A stop at ``t`` (on at ``t-1``, off at ``t``) keeps the unit off until ``t+L-1``:
    ``u[tau] + u[t-1] - u[t] <= 1`` (``u[-1] = on0``)."""
    t_ = u.size
    for t in range(t_):
        taus = np.arange(t + 1, min(t + length, t_))
        k = taus.size
        if not k:
            continue
        r = np.arange(k)
        if t == 0:  # u[tau] - u[0] <= 1 - on0
            m.lp.add_rows(
                k,
                np.r_[r, r],
                np.r_[u[taus], np.full(k, u[0])],
                np.r_[np.ones(k), -np.ones(k)],
                -np.inf,
                1.0 - on0,
            )
        else:
            m.lp.add_rows(
                k,
                np.r_[r, r, r],
                np.r_[u[taus], np.full(k, u[t - 1]), np.full(k, u[t])],
                np.r_[np.ones(k), np.ones(k), -np.ones(k)],
                -np.inf,
                1.0,
            )


def _min_up_rows(m: HorizonModel, u: NDArray[np.int64], length: int, on0: float) -> None:
    t_ = u.size
    for t in range(t_):
        taus = np.arange(t + 1, min(t + length, t_))
        k = taus.size
        if not k:
            continue
        r = np.arange(k)
        if t == 0:  # u[tau] - u[0] >= -on0
            m.lp.add_rows(
                k,
                np.r_[r, r],
                np.r_[u[taus], np.full(k, u[0])],
                np.r_[np.ones(k), -np.ones(k)],
                -on0,
                np.inf,
            )
        else:  # u[tau] - u[t] + u[t-1] >= 0
            m.lp.add_rows(
                k,
                np.r_[r, r, r],
                np.r_[u[taus], np.full(k, u[t]), np.full(k, u[t - 1])],
                np.r_[np.ones(k), -np.ones(k), np.ones(k)],
                0.0,
                np.inf,
            )


def solve_with_chp_dynamics(
    problem: HorizonProblem, dyn: ChpDynamics, *, time_limit_s: float | None = None
) -> HorizonPlan:
    """The exact MILP of :func:`solve_horizon_lp` plus the rows of :func:`add_chp_dynamics`.

    A hard target (``deviation_cost=None``) that cannot be met is re-solved with a penalty,
    as :func:`solve_horizon_lp` does, and the plan's status says INFEASIBLE."""
    t0 = time.perf_counter()
    m = build_horizon_lp(problem)
    add_chp_dynamics(m, dyn)
    sol = solve_highs(m.lp, time_limit_s=time_limit_s, mip_rel_gap=problem.mip_rel_gap)
    if sol.status == "infeasible" and problem.deviation_cost is None:
        scale = max(1.0, float(np.abs(problem.price).max()))
        plan = solve_with_chp_dynamics(
            replace(problem, deviation_cost=1e3 * scale), dyn, time_limit_s=time_limit_s
        )
        status = SolveStatus.INFEASIBLE if plan.status.has_plan else plan.status
        return replace(plan, status=status, objective=float("nan"))
    ids = problem.storage.der_ids if problem.storage is not None else ()
    if not sol.has_solution:
        t_ = problem.steps
        return HorizonPlan(
            status=SolveStatus.TIME_LIMIT if sol.status == "time_limit" else SolveStatus.ERROR,
            method="highs+chp-dynamics",
            start=problem.start,
            step=problem.step,
            der_ids=problem.der_ids,
            p_w=np.zeros((len(problem.der_ids), t_)),
            storage_ids=ids,
            energy_wh=np.zeros((len(ids), t_)),
            target_w=problem.target_w,
            objective=float("nan"),
            notes=(*problem.notes, f"HiGHS: {sol.status}"),
        )
    p_w, energy, throughput = _assign(m, sol.x)
    tol = 1e-3 * max(1.0, float(np.abs(problem.target_w).max()))
    return HorizonPlan(
        status=SolveStatus.OPTIMAL if sol.status == "optimal" else SolveStatus.TIME_LIMIT,
        method="highs+chp-dynamics",
        start=problem.start,
        step=problem.step,
        der_ids=problem.der_ids,
        p_w=p_w,
        storage_ids=ids,
        energy_wh=energy,
        target_w=problem.target_w,
        objective=plan_cost(problem, p_w, throughput),
        binding=deviation_bindings(problem.target_w, p_w.sum(axis=0), tol),
        seconds=time.perf_counter() - t0,
        notes=problem.notes + ((f"mip gap {sol.mip_gap:.2e}",) if sol.mip_gap else ()),
    )
