"""Builders of :class:`StorageFleet` arrays for batteries, EV sessions and load windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vpp.optimizer.horizon import FloatArray, StorageFleet


def battery_fleet(
    der_ids: tuple[str, ...],
    *,
    steps: int,
    p_charge_w: FloatArray | float,
    p_discharge_w: FloatArray | float,
    capacity_wh: FloatArray | float,
    soc0: FloatArray | float,
    soc_min: FloatArray | float = 0.0,
    soc_max: FloatArray | float = 1.0,
    soc_final_min: FloatArray | float | None = None,
    eff_charge: FloatArray | float = 0.95,
    eff_discharge: FloatArray | float = 0.95,
    wear_cost: FloatArray | float = 0.0,
    ramp_w: FloatArray | float = np.inf,
) -> StorageFleet:
    """Batteries with constant limits; ``soc_final_min`` asks for energy left at the end."""
    n = len(der_ids)

    def col(v: FloatArray | float) -> FloatArray:
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()

    cap = col(capacity_wh)
    e_min = np.repeat((col(soc_min) * cap)[:, None], steps, axis=1)
    e_max = np.repeat((col(soc_max) * cap)[:, None], steps, axis=1)
    if soc_final_min is not None:
        e_min[:, -1] = np.minimum(e_max[:, -1], np.maximum(e_min[:, -1], col(soc_final_min) * cap))
    e0 = np.clip(col(soc0) * cap, 0.0, cap)
    return StorageFleet(
        der_ids=der_ids,
        charge_max_w=np.repeat(col(p_charge_w)[:, None], steps, axis=1),
        discharge_max_w=np.repeat(col(p_discharge_w)[:, None], steps, axis=1),
        energy0_wh=e0,
        energy_min_wh=e_min,
        energy_max_wh=e_max,
        eff_charge=col(eff_charge),
        eff_discharge=col(eff_discharge),
        wear_cost=col(wear_cost),
        ramp_w=col(ramp_w),
        capacity_wh=cap,
    )


def concat_storage(parts: list[StorageFleet]) -> StorageFleet:
    """One storage fleet from several (e.g. batteries + EVs + flexible loads)."""

    def cat(name: str) -> FloatArray:
        return np.concatenate([getattr(p, name) for p in parts], axis=0)

    ids: tuple[str, ...] = ()
    for p in parts:
        ids += p.der_ids
    return StorageFleet(
        der_ids=ids,
        **{
            name: cat(name)
            for name in (
                "charge_max_w",
                "discharge_max_w",
                "energy0_wh",
                "energy_min_wh",
                "energy_max_wh",
                "eff_charge",
                "eff_discharge",
                "wear_cost",
                "ramp_w",
                "capacity_wh",
            )
        },
    )


@dataclass(frozen=True, slots=True)
class ChargeWindow:
    """Energy wanted within ``[first_step, last_step]`` (inclusive step indices).

    For an EV: plugged in from ``first_step``, leaves after ``last_step``, wants
    ``energy_wh`` in the car (``eff`` of the grid energy reaches the car).  For a flexible
    load: must consume ``energy_wh`` within the window (``eff`` 1).
    """

    der_id: str
    first_step: int
    last_step: int
    energy_wh: float
    max_w: float
    eff: float = 1.0


def window_fleet(
    windows: Sequence[ChargeWindow], *, steps: int, dt_h: float, notes: list[str] | None = None
) -> StorageFleet:
    """Charge-only storage rows: power only inside the window, energy due at its end.

    A request larger than the window can deliver at full power is capped to what is
    reachable (and noted): the plan then charges at full power, the best that exists.
    """
    n = len(windows)
    cmax = np.zeros((n, steps))
    e_min = np.zeros((n, steps))
    e_max = np.zeros((n, steps))
    eff = np.ones(n)
    for i, w in enumerate(windows):
        a, b = max(0, w.first_step), min(steps - 1, w.last_step)
        if b < a:
            continue
        cmax[i, a : b + 1] = w.max_w
        eff[i] = w.eff
        reachable = w.max_w * w.eff * dt_h * (b - a + 1)
        need = w.energy_wh
        e_max[i, :] = need
        if need > reachable * (1 - 1e-9):
            if notes is not None:
                notes.append(f"{w.der_id}: wants {need:.0f} Wh, at most {reachable:.0f} reachable")
            need = reachable * (1 - 1e-9)
        e_min[i, b:] = need
    return StorageFleet(
        der_ids=tuple(w.der_id for w in windows),
        charge_max_w=cmax,
        discharge_max_w=np.zeros((n, steps)),
        energy0_wh=np.zeros(n),
        energy_min_wh=e_min,
        energy_max_wh=e_max,
        eff_charge=eff,
        eff_discharge=np.ones(n),
        wear_cost=np.zeros(n),
        ramp_w=np.full(n, np.inf),
        capacity_wh=np.maximum(np.array([w.energy_wh for w in windows]), 1.0),
    )
