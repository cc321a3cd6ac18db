"""Exact price response of storage devices: a vectorised dynamic programme, no LP solver.

Given a price ``λ_t`` (currency per Wh) for the power a device injects, each storage row
maximises ``Σ_t λ_t dt (d_t − c_t) − wear dt (c_t + d_t)`` subject to its energy dynamics
``e_t = e_{t−1} + η_c c_t dt − d_t dt / η_d`` and its bounds.  That is a linear programme
per device, solved here exactly by dynamic programming over the stored energy:

* the value-to-go ``W_t(e)`` is concave and piecewise linear, kept as a start point, a
  start value and segments (slope, length) sorted by decreasing slope;
* one step's reward as a function of the energy change is concave with two segments
  (discharge side, charge side — or, when λ is negative enough, "charge and discharge at
  once", which the LP does too); the Bellman step is then a sup-convolution, which for
  concave piecewise-linear functions is a merge of the two sorted slope lists;
* the energy bounds of a step trim the domain;
* the optimal decision is a clip towards two thresholds per step, kept from the backward
  pass; the forward pass applies them to every device at once.

Rows with identical parameters share their backward pass (the value functions do not
depend on the initial energy), so a fleet of 10,000 batteries of 8 models costs 8 backward
passes and one vectorised forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StorageRows:
    """Parameters of ``U`` distinct storage rows (see :class:`StorageFleet`)."""

    charge_max_w: FloatArray  # (U, T)
    discharge_max_w: FloatArray  # (U, T)
    energy_min_wh: FloatArray  # (U, T)
    energy_max_wh: FloatArray  # (U, T)
    eff_charge: FloatArray  # (U,)
    eff_discharge: FloatArray  # (U,)
    wear_cost: FloatArray  # (U,)


@dataclass(frozen=True, slots=True)
class Policy:
    """Per row and step: thresholds and the reward's shape, from the backward pass."""

    theta_hi: FloatArray  # (U, T) target energy while on the first (steeper) segment
    theta_lo: FloatArray  # (U, T) target energy while on the second segment
    knee: FloatArray  # (U, T) energy change at the kink of the step reward
    d_min: FloatArray  # (U, T) most negative energy change (full discharge)
    d_max: FloatArray  # (U, T) largest energy change (full charge)
    swapped: NDArray[np.bool_]  # (U, T) charge-and-discharge-at-once order
    e_lo: FloatArray  # (U,) lowest feasible initial energy
    e_hi: FloatArray  # (U,) highest feasible initial energy
    #: per step t, the value of the energy at its end: (x0 (U,), slopes (U,K), lengths (U,K))
    values: tuple[tuple[FloatArray, FloatArray, FloatArray], ...] = ()


def _step_shape(rows: StorageRows, lam: FloatArray, t: int, dt: float) -> tuple[Any, ...]:
    """Slopes and lengths of step ``t``'s reward as a function of the energy change."""
    eta_c, eta_d, k = rows.eff_charge, rows.eff_discharge, rows.wear_cost
    lam_t = lam[:, t]
    la = rows.discharge_max_w[:, t] * dt / eta_d  # discharge segment length (Wh)
    lb = rows.charge_max_w[:, t] * dt * eta_c  # charge segment length (Wh)
    s_a = -(lam_t - k) * eta_d
    s_b = -(lam_t + k) / eta_c
    swapped = s_a < s_b
    s1 = np.where(swapped, s_b, s_a)
    l1 = np.where(swapped, lb, la)
    s2 = np.where(swapped, s_a, s_b)
    l2 = np.where(swapped, la, lb)
    r_min = (lam_t - k) * rows.discharge_max_w[:, t] * dt  # reward at full discharge
    return s1, l1, s2, l2, la, lb, r_min, swapped


def backward(rows: StorageRows, lam: FloatArray, dt: float, *, keep_values: bool = False) -> Policy:
    """Backward pass for prices ``lam`` of shape (U, T) (one price row per storage row).

    With ``keep_values`` the policy also holds every step's value function (water values)."""
    u, t_ = rows.charge_max_w.shape
    x0 = rows.energy_min_wh[:, -1].copy()
    f0 = np.zeros(u)
    slopes = np.zeros((u, 1))
    lengths = (rows.energy_max_wh[:, -1] - rows.energy_min_wh[:, -1])[:, None].copy()
    shape = (u, t_)
    th_hi, th_lo, knee = np.empty(shape), np.empty(shape), np.empty(shape)
    d_min, d_max = np.empty(shape), np.empty(shape)
    swapped_all = np.empty(shape, dtype=bool)
    values: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    for t in range(t_ - 1, -1, -1):
        if keep_values:
            values.append((x0.copy(), slopes.copy(), lengths.copy()))
        s1, l1, s2, l2, la, lb, r_min, swapped = _step_shape(rows, lam, t, dt)
        th_hi[:, t] = x0 + (lengths * (slopes > -s1[:, None])).sum(axis=1)
        th_lo[:, t] = x0 + (lengths * (slopes > -s2[:, None])).sum(axis=1)
        knee[:, t] = -la + l1
        d_min[:, t], d_max[:, t] = -la, lb
        swapped_all[:, t] = swapped
        # W_t(e) = max_y r(y - e) + G_t(y): merge G's segments with the reversed reward's
        x0 = x0 - lb
        f0 = f0 + r_min + s1 * l1 + s2 * l2
        slopes = np.concatenate((slopes, -s2[:, None], -s1[:, None]), axis=1)
        lengths = np.concatenate((lengths, l2[:, None], l1[:, None]), axis=1)
        slopes, lengths = _sort_compact(slopes, lengths)
        if t > 0:
            x0, f0, lengths = _restrict(
                x0, f0, slopes, lengths, rows.energy_min_wh[:, t - 1], rows.energy_max_wh[:, t - 1]
            )
    e_hi = x0 + lengths.sum(axis=1)
    return Policy(th_hi, th_lo, knee, d_min, d_max, swapped_all, x0, e_hi, tuple(reversed(values)))


def _sort_compact(slopes: FloatArray, lengths: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sort segments by decreasing slope and drop empty ones (keeps the arrays narrow)."""
    live = lengths > 1e-9
    key = np.where(live, -slopes, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, : max(1, int(live.sum(axis=1).max()))]
    s = np.take_along_axis(slopes, order, axis=1)
    ln = np.take_along_axis(lengths, order, axis=1)
    ln = np.where(np.take_along_axis(live, order, axis=1), ln, 0.0)
    return s, ln


def _restrict(
    x0: FloatArray,
    f0: FloatArray,
    slopes: FloatArray,
    lengths: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Trim a concave piecewise-linear function's domain to ``[lo, hi]``."""
    cut = np.maximum(lo - x0, 0.0)
    cum = np.cumsum(lengths, axis=1)
    kept = np.clip(cum - cut[:, None], 0.0, lengths)
    f0 = f0 + (slopes * (lengths - kept)).sum(axis=1)
    x0 = np.maximum(x0, lo)
    room = np.maximum(hi - x0, 0.0)  # empty domain (infeasible row) keeps length 0
    before = np.cumsum(kept, axis=1) - kept
    lengths = np.clip(room[:, None] - before, 0.0, kept)
    return x0, f0, lengths


@dataclass(frozen=True, slots=True)
class StorageSchedule:
    charge_w: FloatArray  # (N, T) >= 0
    discharge_w: FloatArray  # (N, T) >= 0
    energy_wh: FloatArray  # (N, T) at the end of each step
    feasible: NDArray[np.bool_]  # (N,) initial energy inside the feasible range

    @property
    def p_w(self) -> FloatArray:
        return self.discharge_w - self.charge_w


def forward(
    policy: Policy,
    group: NDArray[np.int64],
    energy0_wh: FloatArray,
    charge_max_w: FloatArray,
    discharge_max_w: FloatArray,
    eff_charge: FloatArray,
    eff_discharge: FloatArray,
    dt: float,
) -> StorageSchedule:
    """Apply the policy of row ``group[i]`` to device ``i`` from its initial energy.

    ``charge_max_w``/``discharge_max_w`` are the devices' own (N, T) limits (equal to their
    row's); efficiencies (N,)."""
    n = group.shape[0]
    t_ = policy.knee.shape[1]
    feasible = (energy0_wh >= policy.e_lo[group] - 1e-6) & (energy0_wh <= policy.e_hi[group] + 1e-6)
    e = energy0_wh.copy()
    c = np.empty((n, t_))
    d = np.empty((n, t_))
    energy = np.empty((n, t_))
    for t in range(t_):
        knee = policy.knee[group, t]
        d_min = policy.d_min[group, t]
        y = np.clip(e + knee, policy.theta_lo[group, t], policy.theta_hi[group, t])
        y = np.clip(y, e + d_min, e + policy.d_max[group, t])
        delta = y - e
        cm, dm = charge_max_w[:, t], discharge_max_w[:, t]
        normal_c = np.maximum(delta, 0.0) / (eff_charge * dt)
        normal_d = np.maximum(-delta, 0.0) * eff_discharge / dt
        first = delta <= knee
        swap_c = np.where(first, (delta - d_min) / (eff_charge * dt), cm)
        swap_d = np.where(first, dm, dm - (delta - knee) * eff_discharge / dt)
        sw = policy.swapped[group, t]
        c[:, t] = np.clip(np.where(sw, swap_c, normal_c), 0.0, cm)
        d[:, t] = np.clip(np.where(sw, swap_d, normal_d), 0.0, dm)
        e = e + (c[:, t] * eff_charge - d[:, t] / eff_discharge) * dt
        energy[:, t] = e
    return StorageSchedule(c, d, energy, feasible)
