"""Large fleets over a horizon: prices from an aggregate, plans from values, a proven gap.

The fleet couples only through the plant balance ``Σ_i p_i,t = target_t`` (with a penalty
on deviation).  Relaxing it with prices ``λ_t`` splits the problem into one small problem
per device, answered exactly and all at once by :class:`FleetOracle`; any ``λ`` gives the
Lagrangian value ``L(λ)``, a proven lower bound on the optimal cost.

1. **Prices.**  The fleet is clustered (identical models, split by state of charge) and
   each cluster summed into one virtual battery; HiGHS solves that small LP in well under a
   second, and its balance duals are the prices ``λ0``.  On the examples ``L(λ0)`` equals
   the full LP's optimum to 1e-7, i.e. the aggregate's prices are the optimal prices.
2. **Plans.**  Two feasible plans are built from ``λ0``: the aggregate's schedule split
   back among cluster members (:func:`disaggregate`) and a step-by-step dispatch of the
   whole fleet with the water values of ``λ0`` (:func:`dispatch_with_values`).  Every
   device stays within its limits in both; what they cannot follow is plant deviation,
   priced by the penalty.
3. **Re-plan.**  If the gap is still open, two more plans are rolled forward from the
   state actually reached (rolling.py): water values re-priced every ``rolling_block``
   steps, and the aggregate re-solved and split every ``rolling_block // 2`` steps.
4. **Mix and refine.**  A Dantzig–Wolfe master (a tiny LP) mixes the plans and the price
   responses (same weights for every device, so the mix stays feasible); its value is an
   upper bound.  While the gap is open, box-step cutting-plane iterations add responses.
5. The plan reports ``objective`` (upper bound), ``lower_bound`` and ``gap``.

The lower bound is exact on every instance tried; the plan is not always as good: when
the optimal prices are degenerate (many devices indifferent, which is common when a hard
target dominates the cost) a step-by-step dispatch can use up flexibility that a later
step needs, and the gap shows it.  Small fleets go to HiGHS instead (see :mod:`solve`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from vpp.optimizer.aggregation import aggregate, cluster_storage, disaggregate
from vpp.optimizer.fleet_oracle import Column, FleetOracle, FleetSchedules
from vpp.optimizer.horizon import FloatArray, HorizonProblem
from vpp.optimizer.horizon_lp import build_horizon_lp
from vpp.optimizer.lp import LinearProgram, solve_highs
from vpp.optimizer.plan import HorizonPlan, deviation_bindings, plan_cost
from vpp.optimizer.rolling import rolling_dispatch
from vpp.optimizer.status import SolveStatus
from vpp.optimizer.value_dispatch import dispatch_with_values

KW = 1000.0


def _penalty(problem: HorizonProblem) -> float:
    if problem.deviation_cost is not None:
        return problem.deviation_cost
    return 1e3 * max(1e-9, float(np.abs(problem.price).max()))


def _master(
    problem: HorizonProblem, columns: list[Column], penalty: float
) -> tuple[float, FloatArray, FloatArray]:
    """Solve the restricted master: (objective, weights, prices λ)."""
    t_, dt = problem.steps, problem.dt_h
    k = len(columns)
    lp = LinearProgram()
    plants = np.stack([c.plant_w for c in columns])  # (k, T)
    costs = np.array([c.device_cost for c in columns]) - dt * plants @ problem.price
    w = lp.add_vars(k, 0.0, np.inf, costs)
    up = lp.add_vars(t_, 0.0, np.inf, penalty * KW * dt)
    down = lp.add_vars(t_, 0.0, np.inf, penalty * KW * dt)
    steps = np.arange(t_)
    rows = np.concatenate((np.repeat(steps[None, :], k, axis=0).ravel(), steps, steps))
    cols = np.concatenate((np.repeat(w, t_), up, down))
    vals = np.concatenate(((plants / KW).ravel(), -np.ones(t_), np.ones(t_)))
    tgt = problem.target_w / KW
    balance = lp.add_rows(t_, rows, cols, vals, tgt, tgt)
    lp.add_rows(1, np.zeros(k, np.int64), w, np.ones(k), 1.0, 1.0)
    sol = solve_highs(lp)
    y = sol.row_dual[balance]
    lam = problem.price + y / (KW * dt)
    lam = np.clip(lam, problem.price - penalty, problem.price + penalty)
    return sol.objective, sol.x[w], lam


def _dual_step(
    problem: HorizonProblem,
    columns: list[Column],
    penalty: float,
    center: FloatArray,
    radius: float,
) -> tuple[FloatArray, float]:
    """Box-step: maximise the cutting-plane model of L within ``|λ - center| <= radius``.

    Returns the maximiser and the model's value there."""
    t_, dt = problem.steps, problem.dt_h
    k = len(columns)
    lp = LinearProgram()
    lo = np.maximum(problem.price - penalty, center - radius)
    hi = np.minimum(problem.price + penalty, center + radius)
    scale = KW * dt  # λ in currency per kWh inside this LP
    lam = lp.add_vars(t_, lo * KW, hi * KW)
    z = lp.add_vars(1, -np.inf, np.inf, -1.0)
    plants = np.stack([c.plant_w for c in columns])
    # z <= C_k + dt λ·(target − P_k) − dt price·target
    slope = (problem.target_w[None, :] - plants) * dt / KW  # per (currency per kWh)
    rhs = np.array([c.device_cost for c in columns]) - dt * float(problem.price @ problem.target_w)
    rows = np.concatenate((np.repeat(np.arange(k), t_), np.arange(k)))
    cols = np.concatenate((np.tile(lam, k), np.repeat(z, k)))
    vals = np.concatenate((-slope.ravel(), np.ones(k)))
    lp.add_rows(k, rows, cols, vals, -np.inf, rhs)
    sol = solve_highs(lp)
    del scale
    return sol.x[lam] / KW, float(-sol.objective)


def solve_horizon_decomposed(
    problem: HorizonProblem,
    *,
    rel_gap: float = 1e-3,
    max_clusters: int = 64,
    max_iter: int = 10,
    rolling_block: int | None = 8,
    time_limit_s: float | None = None,
) -> HorizonPlan:
    """Plan a fleet of storage and PV by aggregation + price decomposition.

    See the module docstring; the returned plan carries ``lower_bound`` and ``gap``."""
    t0 = time.perf_counter()
    if problem.chp is not None and problem.chp.size:
        return _refuse(problem, "CHP on/off is not convex: use solve_horizon_lp (MILP)", t0)
    if problem.storage is not None and problem.storage.ramp_can_bind():
        return _refuse(problem, "ramp limits that can bind: use solve_horizon_lp", t0)
    oracle = FleetOracle(problem)
    penalty = _penalty(problem)
    first = _aggregate_plan(problem, oracle, max_clusters, penalty)
    if first is None:
        return _refuse(problem, "the aggregated problem could not be solved", t0)
    lam0, split = first
    valued = dispatch_with_values(oracle, lam0)
    columns = [_column_of(problem, split), _column_of(problem, valued), oracle.respond(lam0)]
    explicit = {0: split, 1: valued}
    best = columns[2]
    upper, weights, _ = _master(problem, columns, penalty)
    if _gap(upper, best.lagrangian) > rel_gap and rolling_block:
        for rolled in _rolled_plans(problem, max_clusters, penalty, rolling_block):
            explicit[len(columns)] = rolled
            columns.append(_column_of(problem, rolled))
        upper, weights, _ = _master(problem, columns, penalty)
    radius = 0.05 * max(float(np.abs(problem.price).max()), 1e-12)
    iterations = 0
    while _gap(upper, best.lagrangian) > rel_gap and iterations < max_iter:
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
        iterations += 1
        query, model = _dual_step(problem, columns, penalty, best.lam, radius)
        col = oracle.respond(query)
        columns.append(col)
        predicted = model - best.lagrangian
        gained = col.lagrangian - best.lagrangian
        if gained > 0 and gained >= 0.1 * predicted:
            best = col
            if gained >= 0.5 * predicted:
                radius = min(2.0 * radius, penalty)
        elif gained < 0:
            radius = max(0.5 * radius, 1e-6 * penalty)
        upper, weights, _ = _master(problem, columns, penalty)
    return _recover(problem, oracle, columns, explicit, weights, best.lagrangian, iterations, t0)


def _rolled_plans(
    problem: HorizonProblem, max_clusters: int, penalty: float, rolling_block: int
) -> list[FleetSchedules]:
    """Plans re-planned from the state actually reached (see vpp.optimizer.rolling): water
    values re-priced every block, and the aggregate re-solved and split every half block."""

    def valued_block(sub: HorizonProblem, o: FleetOracle) -> FleetSchedules | None:
        lam = _prices(sub, o, max_clusters, penalty)
        return None if lam is None else dispatch_with_values(o, lam, steps=rolling_block)

    def split_block(sub: HorizonProblem, o: FleetOracle) -> FleetSchedules | None:
        block = max(1, rolling_block // 2)
        found = _aggregate_plan(sub, o, max_clusters, penalty, steps=block)
        return None if found is None else found[1]

    plans = []
    for planner in (valued_block, split_block):
        rolled = rolling_dispatch(problem, planner)
        if rolled is not None:
            plans.append(rolled)
    return plans


def _aggregate_plan(
    problem: HorizonProblem,
    oracle: FleetOracle,
    max_clusters: int,
    penalty: float,
    *,
    split: bool = True,
    steps: int | None = None,
) -> tuple[FloatArray, FleetSchedules] | None:
    """Solve the clustered problem with HiGHS; return its prices and (with ``split``) the
    plan split back among the members."""
    s, pv = problem.storage, problem.pv
    cluster = (
        cluster_storage(s, oracle.group, max_clusters)
        if s is not None and s.size
        else np.zeros(0, np.int64)
    )
    agg = aggregate(problem, cluster)
    if problem.deviation_cost is None:
        agg = replace(agg, deviation_cost=penalty)
    model = build_horizon_lp(agg)
    sol = solve_highs(model.lp)
    if not sol.has_solution or model.balance_rows is None:
        return None
    dt = problem.dt_h
    lam = problem.price + sol.row_dual[model.balance_rows] / (KW * dt)
    lam = np.clip(lam, problem.price - penalty, problem.price + penalty)
    if not split:
        return lam, FleetSchedules(np.zeros((0, problem.steps)), np.zeros((0, 0)), np.zeros(0))
    parts: list[FloatArray] = []
    energy = np.zeros((0, problem.steps))
    through = np.zeros(0)
    if s is not None and s.size and model.storage_cd is not None:
        c_agg, d_agg = (sol.x[v].reshape(-1, problem.steps) * KW for v in model.storage_cd)
        c, d, energy = disaggregate(s, cluster, c_agg, d_agg, dt)
        k = problem.steps if steps is None else min(steps, problem.steps)
        c, d, energy = c[:, :k], d[:, :k], energy[:, :k]
        parts.append(d - c)
        through = (c + d).sum(axis=1) * dt
    if pv is not None and pv.size and model.power_cols:
        p_agg = sol.x[model.power_cols[0]].reshape(-1, problem.steps) * KW
        _, pv_cluster = np.unique(pv.cost, return_inverse=True)
        pv_cluster = pv_cluster.ravel()
        avail = np.zeros_like(p_agg)
        np.add.at(avail, pv_cluster, pv.p_avail_w)
        ratio = np.divide(p_agg, avail, out=np.zeros_like(p_agg), where=avail > 0)
        parts.append(pv.p_avail_w * np.clip(ratio[pv_cluster], 0.0, 1.0))
    k = problem.steps if steps is None else min(steps, problem.steps)
    p_w = np.concatenate([q[:, :k] for q in parts], axis=0) if parts else np.zeros((0, k))
    return lam, FleetSchedules(p_w, energy, through)


def _prices(
    problem: HorizonProblem, oracle: FleetOracle, max_clusters: int, penalty: float
) -> FloatArray | None:
    first = _aggregate_plan(problem, oracle, max_clusters, penalty, split=False)
    return None if first is None else first[0]


def _column_of(problem: HorizonProblem, sched: FleetSchedules) -> Column:
    """A plan as a master column (its Lagrangian value is not a bound: set to -inf)."""
    cost = plan_cost(problem, sched.p_w, sched.throughput_wh)
    plant = sched.p_w.sum(axis=0)
    dt = problem.dt_h
    device_cost = cost + dt * float(problem.price @ plant)
    if problem.deviation_cost is not None:
        device_cost -= problem.deviation_cost * float(np.abs(plant - problem.target_w).sum()) * dt
    return Column(problem.price.copy(), plant, device_cost, -np.inf)


def _gap(upper: float, lower: float) -> float:
    return (upper - lower) / max(abs(upper), 1.0)


def _recover(
    problem: HorizonProblem,
    oracle: FleetOracle,
    columns: list[Column],
    explicit: dict[int, FleetSchedules],
    weights: FloatArray,
    lower: float,
    iterations: int,
    t0: float,
) -> HorizonPlan:
    """Per-device schedules: the master's mix of each column's schedules."""
    n_s = problem.storage.size if problem.storage is not None else 0
    p_w = np.zeros((len(problem.der_ids), problem.steps))
    energy = np.zeros((n_s, problem.steps))
    through = np.zeros(n_s)
    used = np.flatnonzero(weights > 1e-12)
    total = float(weights[used].sum())
    for k in used:
        sched = explicit.get(int(k)) or oracle.schedules(columns[int(k)].lam)
        share = float(weights[k]) / total
        p_w += share * sched.p_w
        energy += share * sched.energy_wh
        through += share * sched.throughput_wh
    # a hard target is priced at the internal penalty: the bounds then bracket the
    # penalised problem, whose optimum is at most the hard one's
    priced = replace(problem, deviation_cost=_penalty(problem))
    objective = plan_cost(priced, p_w, through)
    tol = 1e-3 * max(1.0, float(np.abs(problem.target_w).max()))
    binding = deviation_bindings(problem.target_w, p_w.sum(axis=0), tol)
    status = SolveStatus.OPTIMAL
    notes = list(problem.notes)
    if problem.deviation_cost is None and binding:
        # the heuristic plan misses the target; that does not prove the target infeasible
        status = SolveStatus.TIME_LIMIT
        notes.append("plan misses the hard target; HiGHS may still find it feasible")
    infeasible = oracle.infeasible_devices()
    if infeasible.size:
        notes.append(f"{infeasible.size} storage device(s) cannot meet their own energy bounds")
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
        iterations=iterations,
        notes=(*notes, f"{oracle.distinct_storage_rows} distinct storage rows"),
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
