"""Aggregate a large fleet into a few virtual devices (a relaxation: prices, a bound).

* :func:`cluster_storage` groups storage rows: identical parameters first (a fleet of
  10,000 batteries of 8 models has 8 groups); when there are more groups than
  ``max_clusters``, rows are binned by power, capacity and efficiency.
* :func:`aggregate` sums each cluster into one virtual storage row (powers and energy
  bounds add) and PV by cost, giving a problem HiGHS solves in well under a second.

Summing limits is a relaxation (a cluster's schedule need not split among its members), so
the decomposition uses the aggregate only for prices, i.e. for a lower bound; its plans come
from :mod:`vpp.optimizer.representatives`, which split back exactly.  Summing PV by cost is
exact.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

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
