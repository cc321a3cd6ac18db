"""Flexibility over a horizon: per interval, the power the plant can HOLD for all of it.

What a trader bids: for each interval ``k`` of a :class:`FleetProblem`, the extra
injection (``up_w``) and extra consumption (``down_w``) the plant can hold constant over
the whole interval, and the baseline it moves from.  The rule:

- **Baseline.**  Each member does what it does on its own (``storage_intent_w``: a battery
  holds its measured power, an EV / flexible load runs at full power until done, a heat
  pump follows its heat demand; PV produces its available power; a CHP holds its power;
  held members and the forecast's ``fixed_w`` are baseline only), clipped at every step
  to what its energy limits allow.  The baseline's energy trajectory is simulated step by
  step from the current state.
- **Independent intervals, baseline before.**  Interval ``k``'s offer starts from the
  baseline's energy at the start of ``k`` (not from other offers being called): offers of
  different intervals are alternatives, not a sum a trader may call back to back.
- **Energy-limited, recoverable.**  A storage member's up/down is the constant power
  whose energy change over the interval keeps it within its bounds at the interval's end,
  where the bounds are tightened backwards so that full power afterwards can still meet
  every later bound (an EV's departure energy, a flexible load's deadline, the heat
  pump's comfort band): an offer never makes a later obligation impossible.
- **PV**: down to 0, no up (it already produces what is available).
- **CHP**: on, up to max power and down to off (only from ``<= min stable + ramp``,
  else one ramp); off, up to ``min(max, min stable + ramp)``; a ramp caps any change at
  one step's ramp, as in :mod:`vpp.optimizer.chp_dynamics`.  Start-up from off must be
  bid at least at min stable power: ``up_w`` is the most it can hold.

Members are independent, so the plant's offer is the sum of its members'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from vpp.optimizer.chp_dynamics import ChpDynamics
from vpp.optimizer.fleet_problem import FleetProblem
from vpp.optimizer.horizon import ChpFleet, FloatArray, StorageFleet


@dataclass(frozen=True, slots=True)
class HorizonFlexibility:
    """Per step ``k`` (``start + k * step``): baseline and holdable up/down power, W."""

    start: datetime
    step: timedelta
    baseline_w: FloatArray  # (T,)
    up_w: FloatArray  # (T,) >= 0
    down_w: FloatArray  # (T,) >= 0
    members: tuple[str, ...]  # planned members
    left_out: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def p_max_w(self) -> FloatArray:
        return np.asarray(self.baseline_w + self.up_w, np.float64)

    @property
    def p_min_w(self) -> FloatArray:
        return np.asarray(self.baseline_w - self.down_w, np.float64)


def recoverable_bounds(s: StorageFleet, dt_h: float) -> tuple[FloatArray, FloatArray]:
    """Energy bounds at the end of each step tightened so that later bounds stay reachable."""
    lo, hi = s.energy_min_wh.copy(), s.energy_max_wh.copy()
    for t in range(lo.shape[1] - 2, -1, -1):
        fill = s.charge_max_w[:, t + 1] * s.eff_charge * dt_h
        lo[:, t] = np.maximum(lo[:, t], lo[:, t + 1] - fill)
        hi[:, t] = np.minimum(
            hi[:, t], hi[:, t + 1] + s.discharge_max_w[:, t + 1] * dt_h / s.eff_discharge
        )
    return lo, np.maximum(hi, lo)


def storage_flexibility(
    s: StorageFleet, intent_w: FloatArray, dt_h: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(baseline, up, down)``, each (N, T) W, of storage rows under the module's rule."""
    n, t_ = s.charge_max_w.shape
    lo, hi = recoverable_bounds(s, dt_h)
    eta_c, eta_d = s.eff_charge, s.eff_discharge
    base, up, down = np.zeros((n, t_)), np.zeros((n, t_)), np.zeros((n, t_))
    e = s.energy0_wh.copy()
    for t in range(t_):
        cmax, dmax = s.charge_max_w[:, t], s.discharge_max_w[:, t]
        room_down = e - lo[:, t]  # energy that may leave by the end of the step
        room_up = hi[:, t] - e  # energy that may enter
        p_hi = np.where(room_down >= 0, room_down * eta_d, room_down / eta_c) / dt_h
        p_lo = np.where(room_up >= 0, -room_up / eta_c, -room_up * eta_d) / dt_h
        p_hi = np.clip(p_hi, -cmax, dmax)
        p_lo = np.minimum(np.clip(p_lo, -cmax, dmax), p_hi)
        b = np.clip(intent_w[:, t], p_lo, p_hi)
        base[:, t], up[:, t], down[:, t] = b, p_hi - b, b - p_lo
        e = e - dt_h * np.where(b > 0, b / eta_d, b * eta_c)
    return base, up, down


def chp_flexibility(
    chp: ChpFleet, dyn: ChpDynamics, steps: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(baseline, up, down)``, each (N, T) W: each unit holds its power now."""
    b = np.clip(dyn.p0_w, 0.0, chp.p_max_w)
    ramp, pmin = dyn.ramp_w, chp.min_stable_w
    on = chp.on0
    up = np.where(on, np.minimum(chp.p_max_w - b, ramp), np.minimum(chp.p_max_w, pmin + ramp))
    down = np.where(on, np.where(b <= pmin + ramp, b, np.minimum(b - pmin, ramp)), 0.0)
    return _per_step(b, steps), _per_step(up, steps), _per_step(down, steps)


def _per_step(a: FloatArray, steps: int) -> FloatArray:
    return np.repeat(np.maximum(np.asarray(a, np.float64), 0.0)[:, None], steps, axis=1)


def horizon_flexibility(fp: FleetProblem) -> HorizonFlexibility:
    """The plant's flexibility per step of ``fp``'s horizon (rule: module doc)."""
    pb = fp.problem
    t_ = pb.steps
    base = fp.baseline_w.astype(np.float64).copy()
    up, down = np.zeros(t_), np.zeros(t_)
    if pb.storage is not None and pb.storage.size:
        b, u, d = storage_flexibility(pb.storage, fp.storage_intent_w, pb.dt_h)
        base, up, down = base + b.sum(axis=0), up + u.sum(axis=0), down + d.sum(axis=0)
    if pb.pv is not None and pb.pv.size:
        avail = pb.pv.p_avail_w.sum(axis=0)
        base, down = base + avail, down + avail
    if pb.chp is not None and pb.chp.size and fp.chp_dynamics is not None:
        b, u, d = chp_flexibility(pb.chp, fp.chp_dynamics, t_)
        base, up, down = base + b.sum(axis=0), up + u.sum(axis=0), down + d.sum(axis=0)
    return HorizonFlexibility(
        start=pb.start,
        step=pb.step,
        baseline_w=base,
        up_w=np.maximum(up, 0.0),
        down_w=np.maximum(down, 0.0),
        members=pb.der_ids,
        left_out=fp.left_out,
        held=fp.held,
        notes=pb.notes,
    )
