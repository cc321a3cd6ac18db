"""Exact price response of on/off CHP units: a two-state dynamic programme per unit.

At prices ``λ_t`` (currency per Wh injected) a running unit produces at full power when
``λ_t`` beats its fuel cost and at its minimum stable power otherwise; a stopped unit
produces nothing; every start costs ``start_cost``.  The best on/off sequence is a
shortest path over two states per step, solved for all units at once.  This makes CHP a
device of the price decomposition: its Lagrangian term is exact (the MILP's own
non-convexity stays in the plan, which comes from HiGHS, see :mod:`decomposition`).
"""

from __future__ import annotations

import numpy as np

from vpp.optimizer.horizon import ChpFleet, FloatArray


def chp_response(chp: ChpFleet, lam: FloatArray, dt: float) -> tuple[FloatArray, FloatArray]:
    """Power (N, T) and cost (N,: fuel + starts) of every unit's best schedule at ``lam``."""
    n, t_ = chp.size, lam.shape[0]
    margin = chp.cost[:, None] - lam[None, :]  # (N, T) currency per Wh, < 0 earns
    p_on = np.where(margin < 0, chp.p_max_w[:, None], chp.min_stable_w[:, None])
    stage_on = margin * p_on * dt  # cost of running through step t (less revenue)
    # value-to-go from the start of step t given the state during step t - 1
    go_off = np.zeros(n)  # previous step off
    go_on = np.zeros(n)  # previous step on
    choose_on_from_off = np.zeros((n, t_), dtype=bool)
    choose_on_from_on = np.zeros((n, t_), dtype=bool)
    for t in range(t_ - 1, -1, -1):
        run = stage_on[:, t] + go_on
        from_off_on = run + chp.start_cost
        choose_on_from_off[:, t] = from_off_on < go_off
        choose_on_from_on[:, t] = run < go_off
        go_off, go_on = (
            np.minimum(from_off_on, go_off),
            np.minimum(run, go_off),
        )
    on = chp.on0.copy()
    state = np.zeros((n, t_), dtype=bool)
    for t in range(t_):
        on = np.where(on, choose_on_from_on[:, t], choose_on_from_off[:, t])
        state[:, t] = on
    p = np.where(state, p_on, 0.0)
    prev = np.concatenate((chp.on0[:, None], state[:, :-1]), axis=1)
    starts = (state & ~prev).sum(axis=1)
    cost = (chp.cost * p.sum(axis=1)) * dt + chp.start_cost * starts
    return np.asarray(p, dtype=np.float64), np.asarray(cost, dtype=np.float64)
