"""Large fleets over a horizon: a small LP that splits back exactly, and a proven gap.

The fleet couples only through the plant balance ``Σ_i p_i,t = target_t`` (with a penalty
on deviation).  Two things are computed, and their distance is the certificate:

1. **A plan** (upper bound).  Storage devices of one model differ only in their initial
   energy; each model is represented by ``per_model`` of its members and every member
   follows the interpolation of its two neighbouring representatives
   (:mod:`vpp.optimizer.representatives`), PV is summed per cost class (exact, it has no
   dynamics).  HiGHS solves that LP — its size depends on the number of models, not of
   devices — and the solution splits back into a feasible schedule for every device,
   whose cost is the LP's value.
2. **A lower bound.**  Relaxing the balance with prices ``λ_t`` splits the problem into one
   small problem per device, answered exactly by the dynamic programme of
   :class:`FleetOracle`; the fleet's value ``L(λ)`` bounds the optimum from below for any
   ``λ``.  The prices tried are the small LP's balance duals and, if that leaves a gap,
   those of a clustered aggregate (:mod:`aggregation`).  Summing the members of one
   model is a relaxation of the fleet, so the aggregate's own optimum is a bound too.

While the proven gap is above ``rel_gap`` the number of representatives is multiplied by
four (up to ``max_per_model``).  On the benchmark fleets 8 representatives per model
already close the gap to ~1e-6 or better.  A hard target (``deviation_cost=None``) is
planned with deviation priced at a large internal penalty; objective and bound are then
those of the penalised problem, whose optimum is at most the hard one's.

CHP on/off units stay as they are in the small problem, which becomes a MILP (HiGHS, to
``problem.mip_rel_gap``).  Their Lagrangian term is the exact two-state programme of
:mod:`chp_dp`, but start costs leave a duality gap (a few start costs); the aggregate
relaxation with the CHP units kept as a MILP gives the tighter bound there (its dual bound,
HiGHS to 1e-6).  The gap reported includes the MILP's own tolerance, so with CHP the gap
asked for is at least ``mip_rel_gap``.  The MILP grows with the number of CHP units (not
of storage devices); ramp limits that can bind are refused (the DP has no ramp state).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from vpp.optimizer.aggregation import aggregate, cluster_storage
from vpp.optimizer.fleet_oracle import FleetOracle
from vpp.optimizer.horizon import FloatArray, HorizonProblem
from vpp.optimizer.horizon_lp import HorizonModel, build_horizon_lp
from vpp.optimizer.lp import LpSolution, fix_integers, solve_highs
from vpp.optimizer.plan import HorizonPlan, deviation_bindings, plan_cost, relative_gap
from vpp.optimizer.representatives import Representation, represent, scaled_fleet, split_back
from vpp.optimizer.status import SolveStatus

KW = 1000.0


def internal_penalty(problem: HorizonProblem) -> float:
    """Deviation price used for a hard target (currency per Wh): 1,000 times the largest
    price, so that missing the target is never worth it while it can be met."""
    if problem.deviation_cost is not None:
        return problem.deviation_cost
    return 1e3 * max(1e-9, float(np.abs(problem.price).max()))


def solve_horizon_decomposed(
    problem: HorizonProblem,
    *,
    rel_gap: float = 1e-4,
    per_model: int = 8,
    max_per_model: int = 128,
    max_clusters: int = 64,
    time_limit_s: float | None = None,
) -> HorizonPlan:
    """Plan a fleet of storage and PV with a proven gap (see the module docstring)."""
    t0 = time.perf_counter()
    if problem.storage is not None and problem.storage.ramp_can_bind():
        return _refuse(problem, "ramp limits that can bind: use solve_horizon_lp", t0)
    if problem.chp is not None and problem.chp.size:
        rel_gap = max(rel_gap, problem.mip_rel_gap)
    oracle = FleetOracle(problem)
    penalty = internal_penalty(problem)
    priced = replace(problem, deviation_cost=penalty)
    lower = -np.inf
    tried_aggregate = False
    r = per_model
    solves = 0
    while True:
        solves += 1
        found = _represented_plan(priced, oracle, r, time_limit_s)
        if found is None:
            return _refuse(problem, "HiGHS could not solve the representatives' LP", t0)
        p_w, energy, through, lam, n_rows, exact_bound = found
        objective = plan_cost(priced, p_w, through)
        lower = max(lower, exact_bound, oracle.respond(lam).lagrangian)
        if not _closed(objective, lower, rel_gap) and not tried_aggregate:
            tried_aggregate = True
            lam0, bound = aggregate_bound(priced, oracle, max_clusters)
            lower = max(lower, bound)
            if lam0 is not None:
                lower = max(lower, oracle.respond(lam0).lagrangian)
        out_of_time = time_limit_s is not None and time.perf_counter() - t0 > time_limit_s
        n_storage = problem.storage.size if problem.storage is not None else 0
        every_device = n_rows == n_storage  # more representatives cannot change the LP
        if _closed(objective, lower, rel_gap) or r >= max_per_model or out_of_time or every_device:
            break
        # four times the representatives, or every device if that is not much more
        largest = int(np.bincount(oracle.group).max()) if oracle.group.size else 1
        r = min(4 * r, max_per_model)
        if n_storage <= 2 * n_rows:
            r = max(r, largest)
    return _plan(problem, oracle, p_w, energy, objective, lower, rel_gap, (n_rows, r, solves), t0)


#: an absolute gap this small (currency) counts as closed whatever the objective's size
ABS_GAP = 1e-7


def _closed(objective: float, lower: float, rel_gap: float) -> bool:
    return objective - lower <= max(rel_gap * max(abs(objective), abs(lower)), ABS_GAP)


def _represented_plan(
    priced: HorizonProblem, oracle: FleetOracle, per_model: int, time_limit_s: float | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, int, float] | None:
    """Solve the representatives' LP; the fleet's (p_w, energy, throughput), the LP's
    balance prices, the number of storage rows in the LP and, when every storage device
    is its own representative (the LP is then the whole problem, PV summed exactly), the
    solver's bound on its optimum (else -inf)."""
    s, dt, t_ = priced.storage, priced.dt_h, priced.steps
    rep: Representation | None = None
    small = replace(aggregate(replace(priced, storage=None), np.zeros(0, np.int64)), chp=priced.chp)
    if s is not None and s.size:
        rep = represent(s, oracle.group, per_model)
        small = replace(small, storage=scaled_fleet(s, rep))
    model = build_horizon_lp(small)
    sol = solve_highs(model.lp, time_limit_s=time_limit_s, mip_rel_gap=priced.mip_rel_gap)
    if not sol.has_solution or model.balance_rows is None:
        return None
    duals = sol.row_dual
    if priced.chp is not None and priced.chp.size:
        # a MILP has no duals: price the balance with the on/off decisions fixed
        fixed = solve_highs(fix_integers(model.lp, sol.x), time_limit_s=time_limit_s)
        duals = fixed.row_dual if fixed.has_solution else np.zeros_like(duals)

    parts: list[FloatArray] = []
    energy = np.zeros((0, t_))
    through = np.zeros(0)
    if rep is not None and s is not None and model.storage_cd is not None:
        c, d = (
            np.clip(split_back(rep, sol.x[v].reshape(-1, t_) * KW), 0.0, None)
            for v in model.storage_cd
        )
        c, d = np.minimum(c, s.charge_max_w), np.minimum(d, s.discharge_max_w)
        steps = (c * s.eff_charge[:, None] - d / s.eff_discharge[:, None]) * dt
        energy = s.energy0_wh[:, None] + np.cumsum(steps, axis=1)
        parts.append(d - c)
        through = (c + d).sum(axis=1) * dt
    pv = _pv_split(priced, model, sol)
    if pv is not None:
        parts.append(pv)
    if priced.chp is not None and priced.chp.size:
        parts.append(sol.x[model.power_cols[-1]].reshape(-1, t_) * KW)
    p_w = np.concatenate(parts, axis=0) if parts else np.zeros((0, t_))
    lam = priced.price + duals[model.balance_rows] / (KW * dt)
    pen = internal_penalty(priced)
    lam = np.clip(lam, priced.price - pen, priced.price + pen)
    n_rows = 0 if rep is None else rep.size
    whole = s is None or n_rows == s.size
    bound = sol.dual_bound if whole and np.isfinite(sol.dual_bound) else -np.inf
    return p_w, energy, through, lam, n_rows, bound


def _pv_split(problem: HorizonProblem, model: HorizonModel, sol: LpSolution) -> FloatArray | None:
    """PV per device from the LP's per-cost-class totals (same share of availability)."""
    pv = problem.pv
    if pv is None or pv.size == 0 or not model.power_cols:
        return None
    p_cls = sol.x[model.power_cols[0]].reshape(-1, problem.steps) * KW
    _, cls = np.unique(pv.cost, return_inverse=True)
    cls = cls.ravel()
    avail = np.zeros_like(p_cls)
    np.add.at(avail, cls, pv.p_avail_w)
    ratio = np.divide(p_cls, avail, out=np.zeros_like(p_cls), where=avail > 0)
    return np.asarray(pv.p_avail_w * np.clip(ratio[cls], 0.0, 1.0))


def aggregate_bound(
    priced: HorizonProblem, oracle: FleetOracle, max_clusters: int
) -> tuple[FloatArray | None, float]:
    """Balance prices and optimum of the clustered aggregate (each cluster one virtual
    battery with summed limits, CHP kept as it is).  Summing members of one model is a
    relaxation of their feasible sets, so when every cluster holds one model only, the
    aggregate's optimum (HiGHS' dual bound for a MILP) is a lower bound too; otherwise
    the bound returned is -inf and only the prices are of use."""
    s = priced.storage
    cluster = np.zeros(0, np.int64)
    uniform = True
    if s is not None and s.size:
        cluster = (
            np.arange(s.size, dtype=np.int64)  # small fleets: the relaxation is exact
            if s.size <= max_clusters
            else cluster_storage(s, oracle.group, max_clusters)
        )
        for values in (s.eff_charge, s.eff_discharge, s.wear_cost):
            lo = np.full(int(cluster.max()) + 1, np.inf)
            hi = np.full_like(lo, -np.inf)
            np.minimum.at(lo, cluster, values)
            np.maximum.at(hi, cluster, values)
            uniform = uniform and bool(np.all(hi - lo <= 1e-12 * np.maximum(1.0, hi)))
    model = build_horizon_lp(replace(aggregate(priced, cluster), chp=priced.chp))
    sol = solve_highs(model.lp, mip_rel_gap=min(priced.mip_rel_gap, 1e-6))
    bound = sol.dual_bound if uniform and np.isfinite(sol.dual_bound) else -np.inf
    if not sol.has_solution or model.balance_rows is None:
        return None, bound
    duals = sol.row_dual
    if priced.chp is not None and priced.chp.size:
        fixed = solve_highs(fix_integers(model.lp, sol.x))
        duals = fixed.row_dual if fixed.has_solution else np.zeros_like(duals)
    lam = priced.price + duals[model.balance_rows] / (KW * priced.dt_h)
    pen = internal_penalty(priced)
    return np.asarray(np.clip(lam, priced.price - pen, priced.price + pen)), bound


def _plan(
    problem: HorizonProblem,
    oracle: FleetOracle,
    p_w: FloatArray,
    energy: FloatArray,
    objective: float,
    lower: float,
    rel_gap: float,
    size: tuple[int, int, int],
    t0: float,
) -> HorizonPlan:
    """``size``: LP storage rows, representatives per model, LP solves."""
    n_rows, per_model, solves = size
    tol = 1e-3 * max(1.0, float(np.abs(problem.target_w).max()))
    binding = deviation_bindings(problem.target_w, p_w.sum(axis=0), tol)
    closed = _closed(objective, lower, rel_gap)
    status = SolveStatus.OPTIMAL if closed else SolveStatus.TIME_LIMIT
    notes = list(problem.notes)
    if problem.deviation_cost is None and binding:
        # the bound (at the internal penalty) shows no plan deviates less expensively
        status = SolveStatus.INFEASIBLE if closed else SolveStatus.TIME_LIMIT
        notes.append(
            "hard target missed: objective and bound are of the problem with deviation "
            f"priced at {internal_penalty(problem):.3g} per Wh"
        )
    infeasible = oracle.infeasible_devices()
    if infeasible.size:
        notes.append(f"{infeasible.size} storage device(s) cannot meet their own energy bounds")
    notes.append(
        f"{n_rows} LP storage rows for {oracle.distinct_storage_rows} distinct models "
        f"(up to {per_model} representatives each); proven gap {relative_gap(objective, lower):.1e}"
    )
    return HorizonPlan(
        status=status,
        method="decomposition",
        start=problem.start,
        step=problem.step,
        der_ids=problem.der_ids,
        p_w=p_w,
        storage_ids=problem.storage.der_ids if problem.storage is not None else (),
        energy_wh=energy,
        target_w=problem.target_w,
        objective=objective,
        lower_bound=lower,
        binding=binding,
        seconds=time.perf_counter() - t0,
        iterations=solves,
        notes=tuple(notes),
    )


def _refuse(problem: HorizonProblem, why: str, t0: float) -> HorizonPlan:
    n_s = problem.storage.size if problem.storage is not None else 0
    return HorizonPlan(
        status=SolveStatus.ERROR,
        method="decomposition",
        start=problem.start,
        step=problem.step,
        der_ids=problem.der_ids,
        p_w=np.zeros((len(problem.der_ids), problem.steps)),
        storage_ids=problem.storage.der_ids if problem.storage is not None else (),
        energy_wh=np.zeros((n_s, problem.steps)),
        target_w=problem.target_w,
        objective=float("nan"),
        seconds=time.perf_counter() - t0,
        notes=(why,),
    )
