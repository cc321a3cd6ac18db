"""Step-by-step dispatch of a whole fleet with water values: a primal plan from prices.

The price decomposition yields, for each storage model, the value of stored energy at the
end of every step (a concave piecewise-linear function, from the dynamic programme).  With
those values the horizon falls apart into single intervals: at step ``t`` every device
offers its power as a few linear segments whose cost is what it gives up in stored value
(plus wear), and the plant target is split among all segments at least cost with the exact
merit-order allocation of :mod:`vpp.optimizer.allocation` — the target binds at every
step, the devices' futures are priced by the values.  Device limits, energy bounds and the
reachable range (final state of charge, EV departure energy) hold by construction.

A vanishing quadratic term spreads a segment among devices in the same situation instead
of filling them one by one, which keeps a group's members together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.allocation import allocate
from vpp.optimizer.fleet_oracle import FleetOracle, FleetSchedules
from vpp.optimizer.horizon import FloatArray
from vpp.optimizer.storage_dp import backward

IntArray = NDArray[np.int64]
#: relative weight of the quadratic term that spreads equal-cost segments over devices
SPREAD = 1e-4


ValueFunction = tuple[FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True, slots=True)
class _StepOffer:
    """What the fleet offers at one step: ``base_w`` (storage at its highest reachable
    energy), then segments of more injection (W) with their cost (currency per W over the
    step) and spread weight; the first ``n_storage`` are storage segments, the rest PV."""

    base_w: float
    lengths: FloatArray
    costs: FloatArray
    weights: FloatArray
    owner: IntArray  # storage segments: index of the device
    discharge: NDArray[np.bool_]  # storage segments: on the discharge side
    n_storage: int


def dispatch_with_values(
    oracle: FleetOracle, lam: FloatArray, *, steps: int | None = None
) -> FleetSchedules:
    """A plan meeting the target step by step, storage valued at prices ``lam``; with
    ``steps`` only the first ``steps`` steps are dispatched (and returned)."""
    pb = oracle.problem
    s, pv = pb.storage, pb.pv
    t_, dt = pb.steps, pb.dt_h
    penalty = (
        pb.deviation_cost
        if pb.deviation_cost is not None
        else 1e3 * float(np.abs(pb.price).max() + 1e-12)
    )
    n_s = s.size if s is not None else 0
    values = None
    if oracle.rows is not None and s is not None:
        u = oracle.rows.eff_charge.shape[0]
        values = backward(oracle.rows, np.broadcast_to(lam, (u, t_)), dt, keep_values=True).values
    e = s.energy0_wh.copy() if s is not None else np.zeros(0)
    c = np.zeros((n_s, t_))
    d = np.zeros((n_s, t_))
    energy = np.zeros((n_s, t_))
    pv_p = np.zeros((pv.size, t_)) if pv is not None else np.zeros((0, t_))
    t_end = t_ if steps is None else min(steps, t_)
    for t in range(t_end):
        value = values[t] if values is not None else None
        offer = _step_offer(oracle, value, e, t)
        take = _meet_target(oracle, offer, t, penalty)
        if s is not None and value is not None:
            c[:, t], d[:, t] = _storage_power(oracle, value, e, t, offer, take)
            e = e + (c[:, t] * s.eff_charge - d[:, t] / s.eff_discharge) * dt
            energy[:, t] = e
        if pv is not None:
            pv_p[:, t] = take[offer.n_storage :]
    parts = [d - c] if s is not None else []
    if pv is not None:
        parts.append(pv_p)
    p_w = np.concatenate(parts, axis=0) if parts else np.zeros((0, t_))
    return FleetSchedules(
        p_w[:, :t_end], energy[:, :t_end], (c[:, :t_end] + d[:, :t_end]).sum(axis=1) * dt
    )


def _step_offer(
    oracle: FleetOracle, value: ValueFunction | None, e: FloatArray, t: int
) -> _StepOffer:
    """The storage segments (when valued) and the PV's available power at step ``t``."""
    pb = oracle.problem
    pv = pb.pv
    weight_parts: list[FloatArray] = []
    len_parts: list[FloatArray] = []
    cost_parts: list[FloatArray] = []
    base = 0.0
    seg_owner = np.zeros(0, np.int64)
    seg_dis = np.zeros(0, dtype=bool)
    n_seg = 0
    if pb.storage is not None and value is not None:
        p_min, seg_len, seg_cost, seg_owner, seg_w, seg_dis = _storage_segments(oracle, value, e, t)
        base += float(p_min.sum())
        len_parts.append(seg_len)
        cost_parts.append(seg_cost)
        weight_parts.append(seg_w)
        n_seg = seg_len.size
    if pv is not None:
        len_parts.append(pv.p_avail_w[:, t])
        cost_parts.append(pv.cost * pb.dt_h)
        weight_parts.append(pv.p_avail_w[:, t])
    return _StepOffer(
        base_w=base,
        lengths=np.concatenate(len_parts) if len_parts else np.zeros(0),
        costs=np.concatenate(cost_parts) if cost_parts else np.zeros(0),
        weights=np.concatenate(weight_parts) if weight_parts else np.zeros(0),
        owner=seg_owner,
        discharge=seg_dis,
        n_storage=n_seg,
    )


def _meet_target(oracle: FleetOracle, offer: _StepOffer, t: int, penalty: float) -> FloatArray:
    """How much of each segment is taken to meet the target at step ``t`` at least cost."""
    pb = oracle.problem
    dt = pb.dt_h
    lengths, costs = offer.lengths, offer.costs
    big = float(lengths.sum()) + abs(float(pb.target_w[t])) + abs(offer.base_w) + 1.0
    # virtual units: missing injection and surplus, priced by the deviation penalty
    lo = np.concatenate((np.zeros(lengths.size), [0.0, -big]))
    hi = np.concatenate((lengths, [big, 0.0]))
    lin = np.concatenate((costs, [dt * (pb.price[t] + penalty), -dt * (penalty - pb.price[t])]))
    scale = max(float(np.abs(costs).max(initial=0.0)), 1e-12) * SPREAD
    quad = np.concatenate((scale / np.maximum(offer.weights, 1e-9), [0.0, 0.0]))
    res = allocate(
        lo,
        hi,
        float(pb.target_w[t]) - offer.base_w,
        cost_lin=lin,
        cost_quad=quad,
        compute_objective=False,
    )
    return np.clip(res.p_w[: lengths.size], 0.0, lengths)


def _storage_power(
    oracle: FleetOracle,
    value: ValueFunction,
    e: FloatArray,
    t: int,
    offer: _StepOffer,
    take: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Charge and discharge power per device at step ``t`` from the segments taken."""
    s = oracle.problem.storage
    assert s is not None
    dt = oracle.problem.dt_h
    n_s = s.size
    # charge-side segments reduce charging, discharge-side ones add discharge; both
    # may be taken at once (negative values: the LP burns energy the same way)
    _, y_hi = _range(oracle, value, e, t)
    taken = take[: offer.n_storage]
    less_charge = np.bincount(offer.owner, taken * ~offer.discharge, minlength=n_s)
    more_discharge = np.bincount(offer.owner, taken * offer.discharge, minlength=n_s)
    c_base = np.maximum(y_hi - e, 0.0) / (s.eff_charge * dt)
    d_base = np.maximum(e - y_hi, 0.0) * s.eff_discharge / dt
    c_t = np.clip(c_base - less_charge, 0.0, s.charge_max_w[:, t])
    d_t = np.clip(d_base + more_discharge, 0.0, s.discharge_max_w[:, t])
    return c_t, d_t


def _range(
    oracle: FleetOracle, value: ValueFunction, e: FloatArray, t: int
) -> tuple[FloatArray, FloatArray]:
    """Reachable end-of-step energy per device: within power limits and the value's domain."""
    s = oracle.problem.storage
    assert s is not None
    dt = oracle.problem.dt_h
    g = oracle.group
    x0, _, lengths = value
    dom_lo, dom_hi = x0[g], x0[g] + lengths.sum(axis=1)[g]
    y_lo = np.maximum(e - s.discharge_max_w[:, t] * dt / s.eff_discharge, dom_lo)
    y_hi = np.minimum(e + s.charge_max_w[:, t] * dt * s.eff_charge, dom_hi)
    y_hi = np.maximum(y_hi, y_lo)
    return y_lo, y_hi


def _power_at(oracle: FleetOracle, y: FloatArray, e: FloatArray) -> FloatArray:
    s = oracle.problem.storage
    assert s is not None
    dt = oracle.problem.dt_h
    up = y - e
    return np.where(up > 0, -up / (s.eff_charge * dt), -up * s.eff_discharge / dt)


def _storage_segments(
    oracle: FleetOracle, value: ValueFunction, e: FloatArray, t: int
) -> tuple[FloatArray, FloatArray, FloatArray, IntArray, FloatArray, NDArray[np.bool_]]:
    """Each device's offer: power at its highest reachable energy, then segments of more
    injection (W) with their cost (currency per W over the step), owner index."""
    s = oracle.problem.storage
    assert s is not None
    dt = oracle.problem.dt_h
    g = oracle.group
    x0, slopes, lengths = value
    y_lo, y_hi = _range(oracle, value, e, t)
    ends = (x0[:, None] + np.cumsum(lengths, axis=1))[g]  # (N, K) segment upper ends
    starts = ends - lengths[g]
    slope = slopes[g]
    eta_c, eta_d, wear = s.eff_charge[:, None], s.eff_discharge[:, None], s.wear_cost[:, None]
    lo_y, hi_y, ee = y_lo[:, None], y_hi[:, None], e[:, None]
    # below the current energy: discharging; above: less charging
    dis = np.clip(np.minimum(ends, np.minimum(ee, hi_y)) - np.maximum(starts, lo_y), 0.0, None)
    chg = np.clip(np.minimum(ends, hi_y) - np.maximum(starts, np.maximum(ee, lo_y)), 0.0, None)
    dis_len = dis * eta_d / dt
    chg_len = chg / (eta_c * dt)
    dis_cost = dt * (slope / eta_d + wear)
    chg_cost = dt * (eta_c * slope - wear)
    lengths_all = np.concatenate((dis_len, chg_len), axis=1)
    costs_all = np.concatenate((dis_cost, chg_cost), axis=1)
    owner = np.repeat(np.arange(s.size)[:, None], lengths_all.shape[1], axis=1)
    keep = lengths_all > 1e-9
    p_min = _power_at(oracle, y_hi, e)
    w = lengths_all
    is_dis = np.concatenate(
        (np.ones(dis_len.shape, dtype=bool), np.zeros(chg_len.shape, dtype=bool)), axis=1
    )
    return p_min, lengths_all[keep], costs_all[keep], owner[keep], w[keep], is_dis[keep]
