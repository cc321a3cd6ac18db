"""Canonical example fleets and problems, shared by tests, notebooks, docs and bench/.

Every builder is deterministic for its ``seed``.  Units: W, Wh, currency (EUR) per Wh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vpp.optimizer.fleet_rows import clear_sky_fraction
from vpp.optimizer.fleets import ChargeWindow, battery_fleet, concat_storage, window_fleet
from vpp.optimizer.horizon import ChpFleet, CurtailableFleet, FloatArray, HorizonProblem

DAY_START = datetime(2026, 6, 1, tzinfo=UTC)
EUR_PER_KWH = 1e-3  # currency per Wh for one EUR/kWh


def day_price(steps: int = 96) -> FloatArray:
    """A day-ahead-like price (EUR per Wh): cheap at night and noon, peaks morning/evening."""
    h = np.arange(steps) * 24.0 / steps
    eur_kwh = (
        0.12
        + 0.06 * np.exp(-(((h - 8.0) / 1.5) ** 2))
        + 0.10 * np.exp(-(((h - 19.0) / 2.0) ** 2))
        - 0.07 * np.exp(-(((h - 13.0) / 2.5) ** 2))
    )
    return np.asarray(eur_kwh * EUR_PER_KWH, dtype=np.float64)


def pv_shape(steps: int = 96) -> FloatArray:
    """Clear-sky fraction of PV peak power over a June day."""
    return clear_sky_fraction(np.arange(steps) * 24.0 / steps + 12.0 / steps)


def battery_problem(
    n: int,
    *,
    steps: int = 96,
    seed: int = 0,
    n_types: int = 8,
    target_fraction: float = 0.35,
    deviation_cost: float | None = 1.0 * EUR_PER_KWH,
) -> HorizonProblem:
    """``n`` home/commercial batteries of ``n_types`` models, random initial charge, asked
    to follow a day profile (discharge at the evening peak, charge around noon) worth
    ``target_fraction`` of the fleet's power."""
    rng = np.random.default_rng(seed)
    p_type = rng.choice([3_000.0, 5_000.0, 8_000.0, 10_000.0], n_types)
    hours = rng.choice([1.0, 2.0, 2.5, 4.0], n_types)
    eff = rng.uniform(0.9, 0.97, n_types)
    kind = rng.integers(0, n_types, n)
    power = p_type[kind]
    ids = tuple(f"bat-{i:05d}" for i in range(n))
    storage = battery_fleet(
        ids,
        steps=steps,
        p_charge_w=power,
        p_discharge_w=power,
        capacity_wh=power * hours[kind],
        soc0=rng.uniform(0.2, 0.8, n),
        soc_min=0.05,
        soc_max=0.95,
        soc_final_min=0.3,
        eff_charge=eff[kind],
        eff_discharge=eff[kind],
        wear_cost=0.02 * EUR_PER_KWH,
    )
    h = np.arange(steps) * 24.0 / steps
    shape = np.exp(-(((h - 19.0) / 2.0) ** 2)) - 0.8 * np.exp(-(((h - 12.5) / 2.5) ** 2))
    target = target_fraction * float(power.sum()) * shape
    return HorizonProblem(
        start=DAY_START,
        step=timedelta(days=1) / steps,
        target_w=np.asarray(target, dtype=np.float64),
        price=day_price(steps),
        deviation_cost=deviation_cost,
        storage=storage,
    )


def mixed_problem(
    *,
    scale: int = 1,
    steps: int = 96,
    seed: int = 0,
    deviation_cost: float | None = 1.0 * EUR_PER_KWH,
    with_chp: bool = True,
    battery_ramp_w: float = 2_500.0,
) -> HorizonProblem:
    """A small mixed plant: 10 batteries, 8 EVs, 6 flexible loads, 6 PV systems and 2 CHP
    units (times ``scale``), following a profile against a day price.  The batteries'
    ramp limit (W per step) binds unless ``battery_ramp_w`` is ``inf``."""
    rng = np.random.default_rng(seed)
    dt_h = 24.0 / steps
    nb, ne, nl, npv, nc = 10 * scale, 8 * scale, 6 * scale, 6 * scale, 2 * scale
    notes: list[str] = []
    bats = battery_fleet(
        tuple(f"bat-{i:03d}" for i in range(nb)),
        steps=steps,
        p_charge_w=5_000.0,
        p_discharge_w=5_000.0,
        capacity_wh=10_000.0,
        soc0=rng.uniform(0.3, 0.7, nb),
        soc_min=0.05,
        soc_max=0.95,
        soc_final_min=0.3,
        wear_cost=0.02 * EUR_PER_KWH,
        ramp_w=battery_ramp_w,
    )
    per_h = steps / 24.0
    evs = [
        ChargeWindow(
            f"ev-{i:03d}",
            int(per_h * rng.uniform(0, 10)),
            int(per_h * rng.uniform(14, 23.9)),
            float(rng.uniform(5_000, 30_000)),
            float(rng.choice([3_700.0, 7_400.0, 11_000.0])),
            eff=0.92,
        )
        for i in range(ne)
    ]
    loads = [
        ChargeWindow(
            f"load-{i:03d}",
            int(per_h * a),
            int(per_h * (a + 6)),
            float(rng.uniform(3_000, 8_000)),
            2_000.0,
        )
        for i, a in enumerate(rng.uniform(0, 16, nl))
    ]
    storage = concat_storage(
        [
            bats,
            window_fleet(evs, steps=steps, dt_h=dt_h, notes=notes),
            window_fleet(loads, steps=steps, dt_h=dt_h, notes=notes),
        ]
    )
    pv_peak = rng.uniform(5_000, 30_000, npv)
    pv = CurtailableFleet(
        tuple(f"pv-{i:03d}" for i in range(npv)),
        pv_peak[:, None] * pv_shape(steps)[None, :],
        np.zeros(npv),
    )
    chp = ChpFleet(
        tuple(f"chp-{i:03d}" for i in range(nc)),
        p_max_w=np.full(nc, 50_000.0),
        min_stable_w=np.full(nc, 25_000.0),
        cost=np.full(nc, 0.10 * EUR_PER_KWH),
        start_cost=np.full(nc, 2.0),
        on0=np.zeros(nc, dtype=bool),
    )
    h = np.arange(steps) * dt_h
    target = (
        (80_000.0 if with_chp else 30_000.0) * scale * np.exp(-(((h - 19.0) / 2.0) ** 2))
        + 10_000.0 * scale * np.exp(-(((h - 8.0) / 1.5) ** 2))
        - 15_000.0 * scale * np.exp(-(((h - 3.0) / 3.0) ** 2))
    )
    return HorizonProblem(
        start=DAY_START,
        step=timedelta(hours=dt_h),
        target_w=np.asarray(target, dtype=np.float64),
        price=day_price(steps),
        deviation_cost=deviation_cost,
        storage=storage,
        pv=pv,
        chp=chp if with_chp else None,
        notes=tuple(notes),
    )


def single_interval_instance(
    n: int, *, seed: int = 0, quadratic: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, float]:
    """Box limits, linear and quadratic costs of ``n`` mixed DERs and a reachable target:
    ``(lo_w, hi_w, cost_lin, cost_quad, target_w)``."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, n)  # 0 PV, 1 battery, 2 load, 3 CHP
    size = rng.uniform(2_000.0, 20_000.0, n)
    lo = np.where(kind == 1, -size, np.where(kind == 2, -size, 0.0))
    hi = np.where(kind == 2, 0.0, size * np.where(kind == 0, rng.uniform(0, 1, n), 1.0))
    cost = np.choose(kind, [np.zeros(n), np.full(n, 20.0), np.zeros(n), np.full(n, 90.0)])
    cost = (cost + rng.uniform(0, 10, n)) * EUR_PER_KWH / 1000.0
    quad = rng.uniform(1e-10, 1e-8, n) if quadratic else np.zeros(n)
    target = float(lo.sum() + 0.6 * (hi.sum() - lo.sum()))
    return lo, hi, cost, quad, target
