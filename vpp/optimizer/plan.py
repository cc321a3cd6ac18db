"""A horizon plan: power per DER and step, stored energy, plant total and its quality."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.horizon import HorizonProblem
from vpp.optimizer.status import Binding, SolveStatus

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class HorizonPlan:
    """``p_w[i, t]`` is DER ``der_ids[i]``'s power over step ``t`` (generator sign).

    ``objective`` is the cost of this plan (device costs − revenue + deviation penalty);
    ``lower_bound`` a proven bound on the optimum when the method gives one, so that
    ``gap`` = (objective − lower_bound) / max(|objective|, |lower_bound|) certifies the
    plan's quality: the plan is at most that fraction above the optimum (relative to
    the larger magnitude; near a zero objective read ``absolute_gap``, in currency).
    """

    status: SolveStatus
    method: str
    start: datetime
    step: timedelta
    der_ids: tuple[str, ...]
    p_w: FloatArray  # (N, T)
    storage_ids: tuple[str, ...]
    energy_wh: FloatArray  # (N_storage, T): stored energy at the end of each step
    target_w: FloatArray  # (T,)
    objective: float
    lower_bound: float | None = None
    binding: tuple[Binding, ...] = ()
    seconds: float = 0.0
    iterations: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def plant_w(self) -> FloatArray:
        return np.asarray(self.p_w.sum(axis=0), dtype=np.float64)

    @property
    def deviation_w(self) -> FloatArray:
        return self.plant_w - self.target_w

    @property
    def gap(self) -> float | None:
        if self.lower_bound is None:
            return None
        return relative_gap(self.objective, self.lower_bound)

    @property
    def absolute_gap(self) -> float | None:
        """Objective − lower bound (currency)."""
        return None if self.lower_bound is None else self.objective - self.lower_bound

    def power_of(self, der_id: str) -> FloatArray:
        return np.asarray(self.p_w[self.der_ids.index(der_id)], dtype=np.float64)


def relative_gap(objective: float, lower_bound: float) -> float:
    """(objective − bound) / max(|objective|, |bound|); 0 when both are 0."""
    scale = max(abs(objective), abs(lower_bound))
    return 0.0 if scale == 0.0 else (objective - lower_bound) / scale


def plan_cost(problem: HorizonProblem, p_w: FloatArray, throughput_wh: FloatArray) -> float:
    """Device costs − plant revenue + deviation penalty of a plan (currency).

    ``throughput_wh`` is each storage row's charged + discharged energy (wear).
    """
    dt = problem.dt_h
    cost = 0.0
    row = 0
    if problem.storage is not None:
        ns = problem.storage.size
        cost += float(problem.storage.wear_cost @ throughput_wh)
        row += ns
    for fleet in (problem.pv, problem.chp):
        if fleet is not None:
            cost += float(fleet.cost @ p_w[row : row + fleet.size].sum(axis=1)) * dt
            row += fleet.size
    if problem.chp is not None:
        chp = problem.chp
        on = p_w[row - chp.size : row] > 1e-6 * np.maximum(chp.p_max_w, 1.0)[:, None]
        prev = np.concatenate((chp.on0[:, None], on[:, :-1]), axis=1)
        cost += float(chp.start_cost @ (on & ~prev).sum(axis=1))
    plant = p_w.sum(axis=0)
    cost -= float(problem.price @ plant) * dt
    if problem.deviation_cost is not None:
        cost += problem.deviation_cost * float(np.abs(plant - problem.target_w).sum()) * dt
    return cost


def deviation_bindings(
    target_w: FloatArray, plant_w: FloatArray, tol_w: float
) -> tuple[Binding, ...]:
    """One :class:`Binding` per step where the plant misses its target by more than tol."""
    miss = target_w - plant_w
    return tuple(
        Binding("plant target", float(miss[t]), step=int(t))
        for t in np.flatnonzero(np.abs(miss) > tol_w)
    )
