"""The whole horizon as one (MI)LP for HiGHS: build -> solve -> assign.

``define_storage``, ``define_pv``, ``define_chp`` and ``define_balance`` each add their
variables, constraints and objective terms to a :class:`LinearProgram`; ``solve_horizon_lp``
runs them, solves with HiGHS and assigns the solution back to a :class:`HorizonPlan`.
Inside the LP powers are kW and energies kWh (HiGHS' tolerances suit numbers near 1).

This is exact (to ``mip_rel_gap`` with CHP on/off) but grows faster than linearly with the
fleet: the decomposition in :mod:`vpp.optimizer.decomposition` is the large-fleet path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from vpp.optimizer.horizon import HorizonProblem
from vpp.optimizer.lp import FloatArray, IntArray, LinearProgram, solve_highs
from vpp.optimizer.plan import HorizonPlan, deviation_bindings, plan_cost
from vpp.optimizer.status import SolveStatus

KW = 1000.0


@dataclass
class HorizonModel:
    """The LP under construction plus where each family's variables are."""

    problem: HorizonProblem
    lp: LinearProgram = field(default_factory=LinearProgram)
    power_cols: list[IntArray] = field(default_factory=list)  # per family (N, T) kW columns
    storage_cd: tuple[IntArray, IntArray] | None = None
    storage_e: IntArray | None = None
    balance_rows: IntArray | None = None


def define_storage(m: HorizonModel) -> None:
    s, pb = m.problem.storage, m.problem
    if s is None or s.size == 0:
        return
    n, t_ = s.size, pb.steps
    dt = pb.dt_h
    price = np.tile(pb.price * KW * dt, n)
    wear = np.repeat(s.wear_cost * KW * dt, t_)
    c = m.lp.add_vars(n * t_, 0.0, s.charge_max_w.ravel() / KW, wear + price)
    d = m.lp.add_vars(n * t_, 0.0, s.discharge_max_w.ravel() / KW, wear - price)
    e = m.lp.add_vars(n * t_, s.energy_min_wh.ravel() / KW, s.energy_max_wh.ravel() / KW)
    # e[t] - e[t-1] - eta_c dt c[t] + dt / eta_d d[t] = (t == 0) * e0
    rows = np.arange(n * t_)
    prev = rows.reshape(n, t_)[:, 1:].ravel()
    eta_c = np.repeat(s.eff_charge, t_)
    eta_d = np.repeat(s.eff_discharge, t_)
    rhs = np.zeros((n, t_))
    rhs[:, 0] = s.energy0_wh / KW
    m.lp.add_rows(
        n * t_,
        np.concatenate((rows, prev, rows, rows)),
        np.concatenate((e, e[prev - 1], c, d)),
        np.concatenate((np.ones(n * t_), -np.ones(prev.size), -eta_c * dt, dt / eta_d)),
        rhs.ravel(),
        rhs.ravel(),
    )
    # ramp rows only for devices whose ramp can bind within one step
    span = s.charge_max_w.max(axis=1) + s.discharge_max_w.max(axis=1)
    ramped = np.flatnonzero(s.ramp_w < span)
    if ramped.size and t_ > 1:
        cols = (ramped[:, None] * t_ + np.arange(1, t_)[None, :]).ravel()
        k = cols.size
        r = np.arange(k)
        m.lp.add_rows(
            k,
            np.concatenate((r, r, r, r)),
            np.concatenate((d[cols], c[cols], d[cols - 1], c[cols - 1])),
            np.concatenate((np.ones(k), -np.ones(k), -np.ones(k), np.ones(k))),
            -np.repeat(s.ramp_w[ramped], t_ - 1) / KW,
            np.repeat(s.ramp_w[ramped], t_ - 1) / KW,
        )
    m.storage_cd = (c, d)
    m.storage_e = e


def define_pv(m: HorizonModel) -> None:
    pv, pb = m.problem.pv, m.problem
    if pv is None or pv.size == 0:
        return
    cost = (np.repeat(pv.cost, pb.steps) - np.tile(pb.price, pv.size)) * KW * pb.dt_h
    m.power_cols.append(m.lp.add_vars(pv.size * pb.steps, 0.0, pv.p_avail_w.ravel() / KW, cost))


def define_chp(m: HorizonModel) -> None:
    chp, pb = m.problem.chp, m.problem
    if chp is None or chp.size == 0:
        return
    n, t_ = chp.size, pb.steps
    cost = (np.repeat(chp.cost, t_) - np.tile(pb.price, n)) * KW * pb.dt_h
    p = m.lp.add_vars(n * t_, 0.0, np.repeat(chp.p_max_w, t_) / KW, cost)
    u = m.lp.add_vars(n * t_, 0.0, 1.0, integer=True)
    st = m.lp.add_vars(n * t_, 0.0, 1.0, np.repeat(chp.start_cost, t_))
    r = np.arange(n * t_)
    pmax = np.repeat(chp.p_max_w, t_) / KW
    pmin = np.repeat(chp.min_stable_w, t_) / KW
    m.lp.add_rows(n * t_, np.r_[r, r], np.r_[p, u], np.r_[np.ones(n * t_), -pmax], -np.inf, 0.0)
    m.lp.add_rows(n * t_, np.r_[r, r], np.r_[p, u], np.r_[np.ones(n * t_), -pmin], 0.0, np.inf)
    # start[t] >= u[t] - u[t-1];  u[-1] = on0
    later = r.reshape(n, t_)[:, 1:].ravel()
    rhs = np.zeros((n, t_))
    rhs[:, 0] = -chp.on0.astype(float)
    m.lp.add_rows(
        n * t_,
        np.r_[r, r, later],
        np.r_[st, u, u[later - 1]],
        np.r_[np.ones(n * t_), -np.ones(n * t_), np.ones(later.size)],
        rhs.ravel(),
        np.inf,
    )
    m.power_cols.append(p)


def define_balance(m: HorizonModel) -> None:
    """Plant power = target (+ deviation at a penalty): the only row coupling the fleet."""
    pb = m.problem
    t_ = pb.steps
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    if m.storage_cd is not None:
        c, d = m.storage_cd
        steps = np.tile(np.arange(t_), c.size // t_)
        rows += [steps, steps]
        cols += [d, c]
        vals += [np.ones(d.size), -np.ones(c.size)]
    for p in m.power_cols:
        rows.append(np.tile(np.arange(t_), p.size // t_))
        cols.append(p)
        vals.append(np.ones(p.size))
    if pb.deviation_cost is not None:
        pen = pb.deviation_cost * KW * pb.dt_h
        up = m.lp.add_vars(t_, 0.0, np.inf, pen)
        down = m.lp.add_vars(t_, 0.0, np.inf, pen)
        rows += [np.arange(t_), np.arange(t_)]
        cols += [up, down]
        vals += [-np.ones(t_), np.ones(t_)]
    tgt = pb.target_w / KW
    m.balance_rows = m.lp.add_rows(
        t_,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        tgt,
        tgt,
    )


def build_horizon_lp(problem: HorizonProblem) -> HorizonModel:
    m = HorizonModel(problem)
    define_storage(m)
    define_pv(m)
    define_chp(m)
    define_balance(m)
    return m


def solve_horizon_lp(
    problem: HorizonProblem,
    *,
    time_limit_s: float | None = None,
    options: dict[str, float | int | str | bool] | None = None,
) -> HorizonPlan:
    """Exact plan with HiGHS.  A hard target that cannot be met is re-solved with a
    penalty to tell, per step, by how much the fleet falls short (status INFEASIBLE)."""
    t0 = time.perf_counter()
    m = build_horizon_lp(problem)
    sol = solve_highs(
        m.lp, time_limit_s=time_limit_s, mip_rel_gap=problem.mip_rel_gap, options=options
    )
    if sol.status == "infeasible" and problem.deviation_cost is None:
        penalised = _with_penalty(problem)
        plan = solve_horizon_lp(penalised, time_limit_s=time_limit_s, options=options)
        status = SolveStatus.INFEASIBLE if plan.status.has_plan else plan.status
        return _replace_status(plan, status, problem, time.perf_counter() - t0)
    if not sol.has_solution:
        status = SolveStatus.TIME_LIMIT if sol.status == "time_limit" else SolveStatus.ERROR
        return _empty_plan(problem, status, sol.status, time.perf_counter() - t0)
    p_w, energy, throughput = _assign(m, sol.x)
    status = SolveStatus.OPTIMAL if sol.status == "optimal" else SolveStatus.TIME_LIMIT
    tol = 1e-3 * max(1.0, float(np.abs(problem.target_w).max()))
    ids = problem.storage.der_ids if problem.storage is not None else ()
    return HorizonPlan(
        status=status,
        method="highs",
        start=problem.start,
        step=problem.step,
        der_ids=problem.der_ids,
        p_w=p_w,
        storage_ids=ids,
        energy_wh=energy,
        target_w=problem.target_w,
        objective=plan_cost(problem, p_w, throughput),
        lower_bound=sol.dual_bound if np.isfinite(sol.dual_bound) else None,
        binding=deviation_bindings(problem.target_w, p_w.sum(axis=0), tol),
        seconds=time.perf_counter() - t0,
        notes=problem.notes + ((f"mip gap {sol.mip_gap:.2e}",) if sol.mip_gap else ()),
    )


def _assign(m: HorizonModel, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    pb = m.problem
    t_ = pb.steps
    parts: list[FloatArray] = []
    energy = np.zeros((0, t_))
    throughput = np.zeros(0)
    if m.storage_cd is not None and m.storage_e is not None:
        c, d = (x[v].reshape(-1, t_) * KW for v in m.storage_cd)
        parts.append(d - c)
        energy = x[m.storage_e].reshape(-1, t_) * KW
        throughput = (c + d).sum(axis=1) * pb.dt_h
    parts += [x[p].reshape(-1, t_) * KW for p in m.power_cols]
    p_w = np.concatenate(parts, axis=0) if parts else np.zeros((0, t_))
    return p_w, energy, throughput


def _with_penalty(problem: HorizonProblem) -> HorizonProblem:
    from dataclasses import replace

    scale = max(1.0, float(np.abs(problem.price).max()))
    return replace(problem, deviation_cost=1e3 * scale)


def _replace_status(
    plan: HorizonPlan, status: SolveStatus, problem: HorizonProblem, seconds: float
) -> HorizonPlan:
    from dataclasses import replace

    return replace(plan, status=status, seconds=seconds, objective=float("nan"))


def _empty_plan(
    problem: HorizonProblem, status: SolveStatus, why: str, seconds: float
) -> HorizonPlan:
    n_s = problem.storage.size if problem.storage is not None else 0
    ids = problem.storage.der_ids if problem.storage is not None else ()
    return HorizonPlan(
        status=status,
        method="highs",
        start=problem.start,
        step=problem.step,
        der_ids=problem.der_ids,
        p_w=np.zeros((len(problem.der_ids), problem.steps)),
        storage_ids=ids,
        energy_wh=np.zeros((n_s, problem.steps)),
        target_w=problem.target_w,
        objective=float("nan"),
        notes=(f"HiGHS: {why}",),
    )
