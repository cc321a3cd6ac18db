"""Rolling re-planning: plan a block of steps, move the fleet's state, plan the rest.

A plan made once for the whole day from one price vector (or one aggregate) can use up
room that a later step needs (see :mod:`vpp.optimizer.decomposition`).  Re-planning from
the state actually reached — new prices, new clusters by state of charge — corrects that.
Each block's planner keeps every device within its limits, so the joined plan does too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from vpp.optimizer.fleet_oracle import FleetOracle, FleetSchedules
from vpp.optimizer.horizon import FloatArray, HorizonProblem

#: plans the first steps of a (remaining) problem; returns those steps' schedules
BlockPlanner = Callable[[HorizonProblem, FleetOracle], FleetSchedules | None]


def remaining(problem: HorizonProblem, first: int, energy_wh: FloatArray) -> HorizonProblem:
    """The problem from step ``first`` on, storage starting at ``energy_wh``."""
    s, pv = problem.storage, problem.pv
    if s is not None:
        s = replace(
            s,
            charge_max_w=s.charge_max_w[:, first:],
            discharge_max_w=s.discharge_max_w[:, first:],
            energy_min_wh=s.energy_min_wh[:, first:],
            energy_max_wh=s.energy_max_wh[:, first:],
            energy0_wh=energy_wh,
        )
    if pv is not None:
        pv = replace(pv, p_avail_w=pv.p_avail_w[:, first:])
    return replace(
        problem,
        start=problem.start + first * problem.step,
        target_w=problem.target_w[first:],
        price=problem.price[first:],
        storage=s,
        pv=pv,
    )


def rolling_dispatch(problem: HorizonProblem, planner: BlockPlanner) -> FleetSchedules | None:
    """Join the blocks ``planner`` returns until the horizon is covered (``None`` if a
    block cannot be planned)."""
    t_ = problem.steps
    n_s = problem.storage.size if problem.storage is not None else 0
    energy = problem.storage.energy0_wh.copy() if problem.storage is not None else np.zeros(0)
    p_parts: list[FloatArray] = []
    e_parts: list[FloatArray] = []
    through = np.zeros(n_s)
    first = 0
    while first < t_:
        sub = remaining(problem, first, energy)
        part = planner(sub, FleetOracle(sub))
        if part is None or part.p_w.shape[1] == 0:
            return None
        p_parts.append(part.p_w)
        e_parts.append(part.energy_wh)
        through += part.throughput_wh
        if n_s:
            energy = part.energy_wh[:, -1].copy()
        first += part.p_w.shape[1]
    return FleetSchedules(np.concatenate(p_parts, axis=1), np.concatenate(e_parts, axis=1), through)
