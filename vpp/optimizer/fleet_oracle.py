"""The fleet's response to a price vector: every device's exact best schedule at once.

For plant prices ``λ_t`` (currency per Wh injected) each device minimises its own cost
minus ``λ``-valued revenue, independently of the others.  That is the Lagrangian
subproblem of the horizon dispatch with the plant balance relaxed; summed over the fleet
it gives a proven lower bound on the optimum (see :mod:`vpp.optimizer.decomposition`).

Storage rows go through the vectorised dynamic programme of :mod:`storage_dp`, grouped by
identical parameters; PV produces when the price beats its cost; CHP units run the
two-state on/off programme of :mod:`chp_dp` (exact for the unit, though not convex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.chp_dp import chp_response
from vpp.optimizer.horizon import FloatArray, HorizonProblem
from vpp.optimizer.storage_dp import StorageRows, StorageSchedule, backward, forward


@dataclass(frozen=True, slots=True)
class Column:
    """The fleet's answer to one price vector: plant power, device cost, dual value."""

    lam: FloatArray  # (T,) currency per Wh
    plant_w: FloatArray  # (T,)
    device_cost: float  # wear + fuel, currency
    lagrangian: float  # L(λ): a lower bound on the optimal plan cost


@dataclass(frozen=True, slots=True)
class FleetSchedules:
    p_w: FloatArray  # (N, T) in problem.der_ids order
    energy_wh: FloatArray  # (N_storage, T)
    throughput_wh: FloatArray  # (N_storage,)


class FleetOracle:
    """Prepared once per problem; answers price vectors in a few tens of milliseconds."""

    def __init__(self, problem: HorizonProblem) -> None:
        self.problem = problem
        self.dt = problem.dt_h
        s = problem.storage
        self.rows: StorageRows | None = None
        self.group = np.zeros(0, dtype=np.int64)
        if s is not None and s.size:
            params = np.hstack(
                (
                    s.charge_max_w,
                    s.discharge_max_w,
                    s.energy_min_wh,
                    s.energy_max_wh,
                    np.stack((s.eff_charge, s.eff_discharge, s.wear_cost), axis=1),
                )
            )
            first, self.group = _identical_rows(params)
            self.rows = StorageRows(
                s.charge_max_w[first],
                s.discharge_max_w[first],
                s.energy_min_wh[first],
                s.energy_max_wh[first],
                s.eff_charge[first],
                s.eff_discharge[first],
                s.wear_cost[first],
            )

    @property
    def distinct_storage_rows(self) -> int:
        return 0 if self.rows is None else int(self.rows.eff_charge.shape[0])

    def storage_schedule(self, lam: FloatArray) -> StorageSchedule | None:
        """Every storage device's best schedule at prices ``lam`` (None without storage)."""
        s = self.problem.storage
        if self.rows is None or s is None:
            return None
        u = self.rows.eff_charge.shape[0]
        policy = backward(self.rows, np.broadcast_to(lam, (u, lam.shape[0])), self.dt)
        return forward(
            policy,
            self.group,
            s.energy0_wh,
            s.charge_max_w,
            s.discharge_max_w,
            s.eff_charge,
            s.eff_discharge,
            self.dt,
        )

    def _pv(self, lam: FloatArray) -> FloatArray | None:
        pv = self.problem.pv
        if pv is None or pv.size == 0:
            return None
        run = lam[None, :] > pv.cost[:, None]
        return np.where(run, pv.p_avail_w, 0.0)

    def respond(self, lam: FloatArray, sched: StorageSchedule | None = None) -> Column:
        """Plant power, device cost and Lagrangian value at prices ``lam`` (``sched``: the
        storage schedule at ``lam`` when the caller has it already)."""
        pb, dt = self.problem, self.dt
        plant = np.zeros(pb.steps)
        cost = 0.0
        if sched is None:
            sched = self.storage_schedule(lam)
        if sched is not None and pb.storage is not None:
            plant += sched.p_w.sum(axis=0)
            through = (sched.charge_w + sched.discharge_w).sum(axis=1) * dt
            cost += float(pb.storage.wear_cost @ through)
        pv_p = self._pv(lam)
        if pv_p is not None and pb.pv is not None:
            plant += pv_p.sum(axis=0)
            cost += float(pb.pv.cost @ pv_p.sum(axis=1)) * dt
        if pb.chp is not None and pb.chp.size:
            chp_p, chp_cost = chp_response(pb.chp, lam, dt)
            plant += chp_p.sum(axis=0)
            cost += float(chp_cost.sum())
        lagr = cost - dt * float(lam @ plant) + dt * float((lam - pb.price) @ pb.target_w)
        return Column(lam.copy(), plant, cost, lagr)

    def schedules(self, lam: FloatArray) -> FleetSchedules:
        """Every device's schedule at prices ``lam`` (for primal recovery)."""
        pb = self.problem
        parts: list[FloatArray] = []
        energy = np.zeros((0, pb.steps))
        through = np.zeros(0)
        sched = self.storage_schedule(lam)
        if sched is not None:
            parts.append(sched.p_w)
            energy = sched.energy_wh
            through = (sched.charge_w + sched.discharge_w).sum(axis=1) * self.dt
        pv_p = self._pv(lam)
        if pv_p is not None:
            parts.append(pv_p)
        if pb.chp is not None and pb.chp.size:
            parts.append(chp_response(pb.chp, lam, self.dt)[0])
        p = np.concatenate(parts, axis=0) if parts else np.zeros((0, pb.steps))
        return FleetSchedules(p, energy, through)

    def infeasible_devices(self) -> NDArray[np.int64]:
        """Storage rows whose initial energy cannot satisfy their own bounds."""
        sched = self.storage_schedule(self.problem.price)
        if sched is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(~sched.feasible)


def _identical_rows(params: FloatArray) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Index of the first row of each distinct row, and each row's group (hashing the bytes
    of each row is much faster than ``np.unique(axis=0)``'s lexicographic sort)."""
    seen: dict[bytes, int] = {}
    first: list[int] = []
    group = np.empty(params.shape[0], dtype=np.int64)
    rows = np.ascontiguousarray(params)
    for i in range(rows.shape[0]):
        key = rows[i].tobytes()
        g = seen.get(key)
        if g is None:
            g = seen[key] = len(first)
            first.append(i)
        group[i] = g
    return np.asarray(first, dtype=np.int64), group
