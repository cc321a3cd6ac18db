"""Aggregate a large fleet into a few virtual devices, plan those, and split the plan back.

* :func:`cluster_storage` groups storage rows: identical parameters first (a fleet of
  10,000 batteries of 8 models has 8 groups); when there are more groups than
  ``max_clusters``, rows are binned by power, capacity and efficiency.
* :func:`aggregate` sums each cluster into one virtual storage row (powers and energy
  bounds add) and PV by cost, giving a problem HiGHS solves in well under a second.
* :func:`disaggregate` splits each virtual row's charge and discharge among its members
  step by step.  A member charges in proportion to its room and discharges in proportion
  to its usable energy (which keeps members' states of charge together), clipped to its
  power and to the energy range from which its later bounds (final state of charge, EV
  departure energy) are still reachable — so every member's schedule is feasible by
  construction.  Whatever the members cannot follow shows up as plant deviation, priced
  in the plan's cost and visible in the gap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.allocation import allocate
from vpp.optimizer.horizon import CurtailableFleet, FloatArray, HorizonProblem, StorageFleet

IntArray = NDArray[np.int64]


def cluster_storage(
    storage: StorageFleet, group: IntArray, max_clusters: int, energy_bins: int = 4
) -> IntArray:
    """Cluster id per storage row.

    ``group`` holds ids of rows with identical parameters.  Each group is split into up to
    ``energy_bins`` bins of similar initial state of charge (members of a bin then move
    together, which the split back relies on).  When there are more groups than fit into
    ``max_clusters``, rows are first binned by power, capacity, efficiency and start of
    availability."""
    n_groups = int(group.max()) + 1 if group.size else 0
    if n_groups * energy_bins > max_clusters:
        group = _bin_parameters(storage, max(1, max_clusters // energy_bins))
        n_groups = int(group.max()) + 1
    soc0 = storage.energy0_wh / np.maximum(storage.capacity_wh, 1e-9)
    order = np.lexsort((soc0, group))
    sorted_groups = group[order]
    start = np.searchsorted(sorted_groups, sorted_groups, side="left")
    count = np.bincount(group, minlength=n_groups)[sorted_groups]
    rank = np.arange(order.size) - start
    bins = np.minimum(energy_bins, count)
    key = np.empty_like(group)
    key[order] = sorted_groups * energy_bins + rank * bins // count
    _, cluster = np.unique(key, return_inverse=True)
    return np.asarray(cluster, dtype=np.int64).ravel()


def _bin_parameters(storage: StorageFleet, max_clusters: int) -> IntArray:
    features = np.stack(
        (
            np.log1p(storage.charge_max_w.max(axis=1)),
            np.log1p(storage.discharge_max_w.max(axis=1)),
            np.log1p(storage.capacity_wh),
            storage.eff_charge * storage.eff_discharge,
            np.argmax(storage.charge_max_w > 0, axis=1).astype(float),
        ),
        axis=1,
    )
    bins = max(1, round(max_clusters ** (1.0 / features.shape[1])))
    keys = np.zeros(storage.size, dtype=np.int64)
    for col in features.T:
        edges = np.quantile(col, np.linspace(0, 1, bins + 1)[1:-1])
        keys = keys * bins + np.searchsorted(edges, col)
    _, cluster = np.unique(keys, return_inverse=True)
    return np.asarray(cluster, dtype=np.int64).ravel()


def _sum_rows(values: FloatArray, cluster: IntArray, n: int) -> FloatArray:
    out = np.zeros((n, *values.shape[1:]))
    np.add.at(out, cluster, values)
    return out


def aggregate(problem: HorizonProblem, cluster: IntArray) -> HorizonProblem:
    """The problem with each storage cluster summed into one virtual row and PV by cost."""
    s = problem.storage
    storage = None
    if s is not None and s.size:
        n = int(cluster.max()) + 1
        weight = s.charge_max_w.sum(axis=1) + s.discharge_max_w.sum(axis=1) + 1e-9
        wsum = _sum_rows(weight, cluster, n)

        def mean(v: FloatArray) -> FloatArray:
            return _sum_rows(v * weight, cluster, n) / wsum

        storage = StorageFleet(
            der_ids=tuple(f"virtual-{k}" for k in range(n)),
            charge_max_w=_sum_rows(s.charge_max_w, cluster, n),
            discharge_max_w=_sum_rows(s.discharge_max_w, cluster, n),
            energy0_wh=_sum_rows(s.energy0_wh, cluster, n),
            energy_min_wh=_sum_rows(s.energy_min_wh, cluster, n),
            energy_max_wh=_sum_rows(s.energy_max_wh, cluster, n),
            eff_charge=mean(s.eff_charge),
            eff_discharge=mean(s.eff_discharge),
            wear_cost=mean(s.wear_cost),
            ramp_w=np.full(n, np.inf),
            capacity_wh=_sum_rows(s.capacity_wh, cluster, n),
        )
    pv = problem.pv
    if pv is not None and pv.size:
        costs, pv_cluster = np.unique(pv.cost, return_inverse=True)
        pv = CurtailableFleet(
            tuple(f"virtual-pv-{k}" for k in range(costs.size)),
            _sum_rows(pv.p_avail_w, pv_cluster.ravel(), costs.size),
            costs,
        )
    return replace(problem, storage=storage, pv=pv, chp=None)


def reachable_range(s: StorageFleet, dt_h: float) -> tuple[FloatArray, FloatArray]:
    """Per row and step, the energy range at the end of the step from which every later
    bound can still be met: ``(floor, ceiling)``, each (N, T)."""
    t_ = s.energy_min_wh.shape[1]
    floor = s.energy_min_wh.copy()
    ceil = s.energy_max_wh.copy()
    for t in range(t_ - 2, -1, -1):
        floor[:, t] = np.maximum(
            floor[:, t], floor[:, t + 1] - s.charge_max_w[:, t + 1] * s.eff_charge * dt_h
        )
        ceil[:, t] = np.minimum(
            ceil[:, t], ceil[:, t + 1] + s.discharge_max_w[:, t + 1] * dt_h / s.eff_discharge
        )
    return floor, ceil


def disaggregate(
    s: StorageFleet,
    cluster: IntArray,
    charge_w: FloatArray,
    discharge_w: FloatArray,
    dt_h: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Split cluster charge/discharge (C, T) among members: member (charge, discharge,
    energy), each (N, T), all within the members' own limits."""
    n, t_ = s.charge_max_w.shape
    floor, ceil = reachable_range(s, dt_h)
    members = [np.flatnonzero(cluster == k) for k in range(charge_w.shape[0])]
    e = s.energy0_wh.copy()
    c = np.zeros((n, t_))
    d = np.zeros((n, t_))
    energy = np.zeros((n, t_))
    for t in range(t_):
        # charge first (room-limited), then discharge from what is stored after it (the
        # LP may do both in one step when prices are negative)
        room = np.maximum(ceil[:, t] - e, 0.0)
        c_cap = np.minimum(s.charge_max_w[:, t], room / (s.eff_charge * dt_h))
        # below the reachable floor a member must charge now
        c_lo = np.minimum(np.maximum(floor[:, t] - e, 0.0) / (s.eff_charge * dt_h), c_cap)
        for k, idx in enumerate(members):
            c[idx, t] = _share(charge_w[k, t], c_lo[idx], c_cap[idx], room[idx])
        e_mid = e + c[:, t] * s.eff_charge * dt_h
        usable = np.maximum(e_mid - floor[:, t], 0.0)
        d_cap = np.minimum(s.discharge_max_w[:, t], usable * s.eff_discharge / dt_h)
        d_lo = np.minimum(np.maximum(e_mid - ceil[:, t], 0.0) * s.eff_discharge / dt_h, d_cap)
        for k, idx in enumerate(members):
            d[idx, t] = _share(discharge_w[k, t], d_lo[idx], d_cap[idx], usable[idx])
        e = e + (c[:, t] * s.eff_charge - d[:, t] / s.eff_discharge) * dt_h
        energy[:, t] = e
    return c, d, energy


def _share(total: float, lo: FloatArray, cap: FloatArray, weight: FloatArray) -> FloatArray:
    """``clip(μ·weight, lo, cap)`` summing to ``total`` (or all at ``lo``/``cap``)."""
    if total <= lo.sum():
        return lo.copy()
    if total >= cap.sum():
        return cap.copy()
    w = np.maximum(weight, 1e-9 * max(1.0, float(weight.max(initial=0.0))))
    result = allocate(lo, cap, total, cost_quad=1.0 / w, compute_objective=False)
    return np.clip(result.p_w, lo, cap)
