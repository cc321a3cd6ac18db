"""Simulated fleets in-process: the physics of ``simulators.physics``, no sockets.

:func:`mixed_fleet` builds a reproducible mixed fleet; :func:`horizon_problem` turns the
fleet's state at the start of a day (and what the operator knows ahead: EV sessions, load
windows, a clear-sky PV forecast) into a :class:`vpp.optimizer.HorizonProblem`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from simulators.physics import DerModel, example_ratings, make_model
from simulators.physics.pv import REFERENCE_IRRADIANCE, clear_sky_ghi
from vpp.domain import Der, DerKind
from vpp.optimizer import (
    ChargeWindow,
    ChpFleet,
    CurtailableFleet,
    HorizonProblem,
    StorageFleet,
    battery_fleet,
    concat_storage,
    window_fleet,
)
from vpp.optimizer.horizon import FloatArray

GATEWAY = "research"


@dataclass
class SimFleet:
    """DER models plus their registrations (``Der``) and the parameters they were given."""

    models: list[DerModel]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ders(self) -> list[Der]:
        return [Der(m.der_id, m.kind, m.ratings, GATEWAY) for m in self.models]

    def of_kind(self, kind: DerKind) -> list[DerModel]:
        return [m for m in self.models if m.kind is kind]

    def __len__(self) -> int:
        return len(self.models)


def mixed_fleet(
    start: datetime,
    *,
    batteries: int = 10,
    evs: int = 6,
    pv: int = 6,
    loads: int = 4,
    chp: int = 1,
    seed: int = 0,
) -> SimFleet:
    """A residential/commercial mix with example ratings and seeded variation."""
    rng = random.Random(seed)
    models: list[DerModel] = []
    params: dict[str, dict[str, Any]] = {}

    def add(kind: DerKind, der_id: str, p: dict[str, Any], ratings: Any = None) -> None:
        r = ratings or example_ratings(kind)
        models.append(make_model(kind, der_id, r, params=p, seed=seed))
        params[der_id] = p

    for i in range(batteries):
        add(DerKind.BATTERY, f"bat-{i:03d}", {"soc0": rng.uniform(0.3, 0.7)})
    ev_r = example_ratings(DerKind.EV_CHARGER)
    for i in range(evs):
        arrive = start + timedelta(hours=rng.uniform(0, 9))
        leave = arrive + timedelta(hours=rng.uniform(6, 12))
        soc0 = rng.uniform(0.1, 0.5)
        cap = ev_r.energy_wh or 60_000.0
        session = {
            "arrival": arrive,
            "departure": leave,
            "energy_wh": min(rng.uniform(8_000, 25_000), (0.95 - soc0) * cap),
            "max_w": rng.choice([3_700.0, 7_400.0, 11_000.0]),
            "soc0": soc0,
        }
        add(DerKind.EV_CHARGER, f"ev-{i:03d}", {"sessions": [session]})
    for i in range(pv):
        peak = rng.uniform(5_000, 30_000)
        ratings = replace(example_ratings(DerKind.PV), p_max_w=peak)
        add(DerKind.PV, f"pv-{i:03d}", {"cloudiness": 0.2}, ratings)
    for i in range(loads):
        job = rng.uniform(3_000, 8_000)
        add(
            DerKind.FLEXIBLE_LOAD,
            f"load-{i:03d}",
            {"window_start_h": 6.0, "window_end_h": 22.0, "job_energy_wh": (job, job)},
        )
    for i in range(chp):
        add(DerKind.CHP, f"chp-{i:03d}", {"running": False})
    return SimFleet(models, params)


def _steps(start: datetime, step: timedelta, ts: datetime) -> float:
    return (ts - start) / step


def horizon_problem(
    fleet: SimFleet,
    start: datetime,
    step: timedelta,
    target_w: FloatArray,
    price: FloatArray,
    *,
    deviation_cost: float | None = 1e-3,
    wear_cost: float = 2e-5,
    chp_cost: float = 1e-4,
    chp_start_cost: float = 2.0,
) -> HorizonProblem:
    """What the planner knows at ``start``: state of charge, EV sessions, load jobs, PV
    clear-sky forecast.  Heat pumps are not planned (they keep their default mode)."""
    t_ = int(target_w.shape[0])
    dt_h = step.total_seconds() / 3600.0
    notes: list[str] = []
    parts = []
    bats = _battery_storage(fleet, start, t_, wear_cost)
    if bats is not None:
        parts.append(bats)
    windows = _charge_windows(fleet, start, step)
    if windows:
        parts.append(window_fleet(windows, steps=t_, dt_h=dt_h, notes=notes))
    storage = concat_storage(parts) if parts else None
    return HorizonProblem(
        start=start,
        step=step,
        target_w=np.asarray(target_w, dtype=np.float64),
        price=np.asarray(price, dtype=np.float64),
        deviation_cost=deviation_cost,
        storage=storage,
        pv=_pv_fleet(fleet, start, step, t_),
        chp=_chp_fleet(fleet, chp_cost, chp_start_cost),
        notes=tuple(notes),
    )


def _battery_storage(
    fleet: SimFleet, start: datetime, steps: int, wear_cost: float
) -> StorageFleet | None:
    """The batteries with their state of charge at ``start``; ``None`` without any."""
    bats = fleet.of_kind(DerKind.BATTERY)
    if not bats:
        return None
    r = [m.ratings for m in bats]
    return battery_fleet(
        tuple(m.der_id for m in bats),
        steps=steps,
        p_charge_w=np.array([-x.p_min_w for x in r]),
        p_discharge_w=np.array([x.p_max_w for x in r]),
        capacity_wh=np.array([x.energy_wh or 1.0 for x in r]),
        soc0=np.array([float(m.reading(start).soc or 0.5) for m in bats]),
        soc_min=np.array([x.soc_min for x in r]),
        soc_max=np.array([x.soc_max for x in r]),
        eff_charge=np.array([x.eff_charge for x in r]),
        eff_discharge=np.array([x.eff_discharge for x in r]),
        wear_cost=wear_cost,
    )


def _charge_windows(fleet: SimFleet, start: datetime, step: timedelta) -> list[ChargeWindow]:
    """Each EV charger's first session and each flexible load's job, in steps from ``start``."""
    windows: list[ChargeWindow] = []
    for m in fleet.of_kind(DerKind.EV_CHARGER):
        for s in fleet.params[m.der_id].get("sessions", [])[:1]:
            first = int(np.ceil(_steps(start, step, s["arrival"])))
            last = int(np.floor(_steps(start, step, s["departure"]))) - 1
            max_w = min(-m.ratings.p_min_w, s["max_w"])
            windows.append(
                ChargeWindow(m.der_id, first, last, s["energy_wh"], max_w, m.ratings.eff_charge)
            )
    for m in fleet.of_kind(DerKind.FLEXIBLE_LOAD):
        p = fleet.params[m.der_id]
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        first = int(np.ceil(_steps(start, step, midnight + timedelta(hours=p["window_start_h"]))))
        last = int(np.floor(_steps(start, step, midnight + timedelta(hours=p["window_end_h"]))))
        windows.append(
            ChargeWindow(m.der_id, first, last - 1, p["job_energy_wh"][0], -m.ratings.p_min_w)
        )
    return windows


def _pv_fleet(
    fleet: SimFleet, start: datetime, step: timedelta, steps: int
) -> CurtailableFleet | None:
    """The PV systems with their clear-sky forecast per step; ``None`` without any."""
    pvs = fleet.of_kind(DerKind.PV)
    if not pvs:
        return None
    avail = np.array(
        [[_pv_forecast(m, start + (k + 0.5) * step) for k in range(steps)] for m in pvs]
    )
    return CurtailableFleet(tuple(m.der_id for m in pvs), avail, np.zeros(len(pvs)))


def _chp_fleet(fleet: SimFleet, chp_cost: float, chp_start_cost: float) -> ChpFleet | None:
    """The CHP units, on when they run now; ``None`` without any."""
    chps = fleet.of_kind(DerKind.CHP)
    if not chps:
        return None
    return ChpFleet(
        tuple(m.der_id for m in chps),
        p_max_w=np.array([m.ratings.p_max_w for m in chps]),
        min_stable_w=np.array([m.ratings.min_stable_w for m in chps]),
        cost=np.full(len(chps), chp_cost),
        start_cost=np.full(len(chps), chp_start_cost),
        on0=np.array([bool(getattr(m, "running", False)) for m in chps]),
    )


def _pv_forecast(model: DerModel, ts: datetime) -> float:
    """Clear-sky power: what a forecast without clouds expects (the physics adds clouds)."""
    lat = float(getattr(model, "lat_deg", 52.0))
    lon = float(getattr(model, "lon_deg", 5.0))
    ghi = clear_sky_ghi(ts, lat, lon)
    return min(model.ratings.p_max_w, model.ratings.p_max_w * ghi / REFERENCE_IRRADIANCE)
