"""Per-kind horizon rows of a live fleet: one DER + its latest reading -> arrays over T steps.

Helpers of :mod:`vpp.optimizer.fleet_problem`.  Each function turns one registered DER
(ratings) and its reading into the limits the horizon LP understands:

- :func:`energy_window_row` — a charge-only storage row (EV charger, flexible load): power
  only in the first ``avail`` steps, never more energy than wanted, and (when a deadline is
  known) the energy that must be in by the deadline — or, for a deadline after the horizon,
  what must be in by the horizon's end because the time after it cannot deliver it all.
- :func:`thermal_band_row` — a heat pump as an *energy band*: the row's energy is the
  electrical energy consumed since the start; with a thermal store of ``band_wh``
  (electrical Wh that take the tank from the bottom to the top of its comfort band, fill
  ``soc`` now) and a heat demand ``demand_w`` (electrical equivalent), the store stays in
  band iff ``D(t) - s0 <= E(t) <= D(t) + band - s0`` with ``D`` the cumulative demand.
  A lossless store; standing losses belong in the demand forecast.
- :func:`clear_sky_fraction` — the default PV shape (the one :mod:`examples` uses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vpp.optimizer.horizon import FloatArray, StorageFleet


@dataclass(frozen=True, slots=True)
class EnergyWindow:
    """A charge-only need: ``max_w`` for the first ``avail`` steps, at most ``need_wh`` stored;
    ``due`` asks for the need by the end of step ``avail - 1``, less what ``after_h`` hours
    of charging past the horizon's end can still add."""

    der_id: str
    max_w: float
    eff: float
    avail: int
    need_wh: float
    due: bool
    after_h: float = 0.0


def energy_window_row(
    w: EnergyWindow, *, steps: int, dt_h: float, notes: list[str]
) -> StorageFleet:
    """One storage row for ``w`` (see :class:`EnergyWindow`); an unreachable need is capped
    to what full power delivers, and noted."""
    avail = max(0, min(steps, w.avail))
    cmax = np.zeros((1, steps))
    cmax[0, :avail] = w.max_w
    need = max(0.0, w.need_wh)
    e_min = np.zeros((1, steps))
    e_max = np.full((1, steps), need)
    if w.due and avail > 0 and need > 0:
        by = max(0.0, need - w.max_w * w.eff * w.after_h)
        reachable = w.max_w * w.eff * dt_h * avail
        if by > reachable * (1 - 1e-9):
            notes.append(f"{w.der_id}: needs {by:.0f} Wh by its deadline, {reachable:.0f} possible")
            by = reachable * (1 - 1e-9)
        e_min[0, avail - 1 :] = by
    return _storage_row(w.der_id, cmax, np.zeros((1, steps)), e_min, e_max, w.eff, max(need, 1.0))


def thermal_band_row(
    der_id: str,
    *,
    max_w: float,
    band_wh: float,
    soc: float,
    demand_w: FloatArray,
    dt_h: float,
    notes: list[str],
) -> StorageFleet:
    """One storage row keeping a heat pump's store in its comfort band (see module doc).

    Where the demand outruns full power (the store would cool below its band whatever the
    unit does) the lower bound is what full power reaches, and that is noted."""
    steps = demand_w.shape[0]
    s0 = float(np.clip(soc, 0.0, 1.0)) * band_wh
    cum = np.cumsum(np.maximum(demand_w, 0.0)) * dt_h
    req = cum - s0
    lo = np.zeros(steps)
    prev = 0.0
    for t in range(steps):
        lo[t] = max(prev, min(req[t], prev + max_w * dt_h))
        prev = lo[t]
    if np.any(lo < req - 1e-6):
        notes.append(f"{der_id}: heat demand exceeds full power; the store leaves its band")
    hi = np.maximum(cum + band_wh - s0, lo)
    cmax = np.full((1, steps), max_w)
    return _storage_row(
        der_id, cmax, np.zeros((1, steps)), lo[None, :], hi[None, :], 1.0, max(band_wh, 1.0)
    )


def _storage_row(
    der_id: str,
    cmax: FloatArray,
    dmax: FloatArray,
    e_min: FloatArray,
    e_max: FloatArray,
    eff: float,
    capacity_wh: float,
) -> StorageFleet:
    return StorageFleet(
        der_ids=(der_id,),
        charge_max_w=cmax,
        discharge_max_w=dmax,
        energy0_wh=np.zeros(1),
        energy_min_wh=e_min,
        energy_max_wh=e_max,
        eff_charge=np.array([eff]),
        eff_discharge=np.ones(1),
        wear_cost=np.zeros(1),
        ramp_w=np.full(1, np.inf),
        capacity_wh=np.array([capacity_wh]),
    )


def clear_sky_fraction(hour_utc: FloatArray) -> FloatArray:
    """Clear-sky fraction of PV peak power at these UTC hours of day (a June day in central
    Europe: sunrise ~5 h, sunset ~21 h, noon 13 h).  A shape, not a forecast."""
    h = np.mod(hour_utc, 24.0)
    return np.asarray(np.clip(np.sin(np.pi * (h - 5.0) / 16.0), 0.0, None) ** 1.3, np.float64)
