"""A small exact-to-disaggregate LP: a few representatives per storage model.

Devices of one storage model (identical parameters, see :class:`FleetOracle`) differ only in
their initial energy ``e0``, which enters the constraints as a right-hand side.  The set of
pairs (``e0``, feasible schedule) is therefore convex: if two devices at ``a`` and ``b`` have
feasible schedules, a device at ``e0 = (1 − θ) a + θ b`` may follow ``(1 − θ)`` of the first
plus ``θ`` of the second, and stays within its power, energy, final-state and ramp limits.

So a model's members, sorted by ``e0``, are represented by ``R`` of them (quantiles,
extremes included), and every member follows the interpolation of its two neighbouring
representatives.  Representative ``j`` carries weight ``W_j`` (the sum of the members'
interpolation weights) and enters the LP as a virtual device scaled by ``W_j``.  The LP
has ``R`` rows per model, whatever the fleet size, and every solution of it splits back
exactly: a feasible plan of the full fleet with the LP's cost.  It restricts the members
to piecewise-linear decision rules in ``e0``; the Lagrangian bound says how much that
costs, and more representatives close the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from vpp.optimizer.horizon import FloatArray, StorageFleet

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Representation:
    """``mix[i, j]``: member ``i``'s weight on representative ``j`` (rows sum to 1)."""

    source: IntArray  # (R,) the device each representative copies
    weight: FloatArray  # (R,) W_j = column sums of mix
    mix: sparse.csr_matrix  # (N, R)

    @property
    def size(self) -> int:
        return int(self.source.shape[0])


def represent(storage: StorageFleet, group: IntArray, per_group: int) -> Representation:
    """Up to ``per_group`` representatives per group of identical models (a group no larger
    than that is represented by all its members, exactly)."""
    e0 = storage.energy0_wh
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    source: list[IntArray] = []
    n_rep = 0
    order = np.lexsort((e0, group))
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        x = e0[members]  # sorted
        m = members.size
        if m <= per_group:
            picks = np.arange(m)
        else:
            picks = np.unique(np.round(np.linspace(0, m - 1, per_group)).astype(np.int64))
        rep_x = x[picks]
        # distinct representative values (members with equal e0 share one)
        rep_x, first = np.unique(rep_x, return_index=True)
        picks = picks[first]
        if rep_x.size == 1:
            j = np.zeros(m, dtype=np.int64)
            rows.append(members)
            cols.append(n_rep + j)
            vals.append(np.ones(m))
        else:
            j = np.clip(np.searchsorted(rep_x, x, side="right") - 1, 0, rep_x.size - 2)
            theta = np.clip((x - rep_x[j]) / (rep_x[j + 1] - rep_x[j]), 0.0, 1.0)
            rows += [members, members]
            cols += [n_rep + j, n_rep + j + 1]
            vals += [1.0 - theta, theta]
        source.append(members[picks])
        n_rep += rep_x.size
    mix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(storage.size, n_rep),
    )
    weight = np.asarray(mix.sum(axis=0)).ravel()
    return Representation(np.concatenate(source), weight, mix)


def scaled_fleet(storage: StorageFleet, rep: Representation) -> StorageFleet:
    """The representatives as virtual devices, each scaled by its weight."""
    src, w = rep.source, rep.weight
    col = w[:, None]
    return StorageFleet(
        der_ids=tuple(f"rep-{k}" for k in range(rep.size)),
        charge_max_w=storage.charge_max_w[src] * col,
        discharge_max_w=storage.discharge_max_w[src] * col,
        energy0_wh=storage.energy0_wh[src] * w,
        energy_min_wh=storage.energy_min_wh[src] * col,
        energy_max_wh=storage.energy_max_wh[src] * col,
        eff_charge=storage.eff_charge[src],
        eff_discharge=storage.eff_discharge[src],
        wear_cost=storage.wear_cost[src],
        ramp_w=storage.ramp_w[src] * w,
        capacity_wh=storage.capacity_wh[src] * w,
    )


def split_back(rep: Representation, virtual: FloatArray) -> FloatArray:
    """Members' values (N, T) from the scaled representatives' values (R, T)."""
    per_unit = virtual / rep.weight[:, None]
    return np.asarray(rep.mix @ per_unit)
