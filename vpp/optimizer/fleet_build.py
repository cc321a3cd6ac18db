"""The accumulator behind :func:`vpp.optimizer.fleet_problem.build_fleet_problem`.

One method per DER kind turns a registered DER and its (fresh) reading into rows of the
horizon problem, or holds it at a baseline when its state is unknown.  The rules are in
:mod:`vpp.optimizer.fleet_problem`'s docstring; this module only applies them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from vpp.domain import Der, DerKind, Reading
from vpp.domain.flexibility import is_fresh
from vpp.optimizer.chp_dynamics import ChpDynamics
from vpp.optimizer.fleet_allocation import DerCost
from vpp.optimizer.fleet_inputs import DEFAULT_BAND_H, EvSession, HorizonForecast, LoadWindow
from vpp.optimizer.fleet_rows import (
    EnergyWindow,
    clear_sky_fraction,
    energy_window_row,
    thermal_band_row,
)
from vpp.optimizer.fleets import battery_fleet, concat_storage
from vpp.optimizer.horizon import ChpFleet, CurtailableFleet, FloatArray, StorageFleet

#: Below this clear-sky fraction now, a PV default forecast holds today's power instead.
MIN_SHAPE = 0.05


#: the start cost of a CHP, as seconds of running at its minimum (see ``fleets``)
RESTART_S = 300.0


def _hours(at: datetime) -> float:
    return at.hour + at.minute / 60.0 + at.second / 3600.0


@dataclass
class FleetRows:
    start: datetime
    step: timedelta
    steps: int
    forecast: HorizonForecast
    ev_sessions: Mapping[str, EvSession]
    load_windows: Mapping[str, LoadWindow]
    chp_min_up_steps: Mapping[str, int]
    costs: Mapping[DerKind, DerCost]
    chp_off_until: Mapping[str, datetime] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    held_w: FloatArray = field(default_factory=lambda: np.zeros(0))
    storage: list[StorageFleet] = field(default_factory=list)
    intent: list[FloatArray] = field(default_factory=list)  # per storage row, W
    pv: list[tuple[str, FloatArray, float]] = field(default_factory=list)
    chp: list[tuple[Der, Reading]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.held_w = np.zeros(self.steps)

    @property
    def dt_h(self) -> float:
        return self.step.total_seconds() / 3600.0

    @property
    def end(self) -> datetime:
        return self.start + self.steps * self.step

    def include(
        self,
        der: Der,
        reading: Reading | None,
        now: datetime,
        max_age: timedelta,
        unavailable: frozenset[str],
    ) -> bool:
        """Add ``der``'s rows, or note why it is left out (and return False)."""
        if der.der_id in unavailable:
            self.notes.append(f"{der.der_id}: left out, marked unhealthy")
            return False
        if reading is None or not is_fresh(reading, now, max_age):
            self.notes.append(f"{der.der_id}: left out, no fresh reading")
            return False
        self.add(der, reading)
        return True

    def add(self, der: Der, reading: Reading) -> None:
        kind = der.kind
        if kind is DerKind.BATTERY:
            self._battery(der, reading)
        elif kind is DerKind.EV_CHARGER:
            self._ev(der, reading)
        elif kind is DerKind.PV:
            self.pv.append((der.der_id, self._pv_avail(der, reading), self._cost(der)))
        elif kind is DerKind.CHP:
            self.chp.append((der, reading))
        elif kind is DerKind.FLEXIBLE_LOAD:
            self._flexible_load(der, reading)
        else:
            self._heat_pump(der, reading)

    def _cost(self, der: Der) -> float:
        return self.costs.get(der.kind, DerCost()).lin

    def _series(self, values: Sequence[float], what: str) -> FloatArray:
        arr = np.asarray(values, np.float64)
        if arr.shape != (self.steps,):
            raise ValueError(f"{what}: {arr.shape[0]} values for {self.steps} steps")
        return arr

    def _hold(self, der: Der, reading: Reading, why: str) -> None:
        load = self.forecast.load_w.get(der.der_id)
        p = self._series(load, der.der_id) if load is not None else np.full(self.steps, reading.p_w)
        self.held_w += p
        self.held.append(der.der_id)
        self.notes.append(f"{der.der_id}: held at its baseline, {why}")

    def _resting_steps(self, der_id: str) -> int:
        """Steps a CHP seen stopping must still stay off (its minimum off time)."""
        until = self.chp_off_until.get(der_id)
        if until is None or until <= self.start:
            return 0
        return math.ceil((until - self.start) / self.step)

    def _steps_until(self, when: datetime) -> tuple[int, float]:
        """Whole steps that end by ``when`` and the hours from the horizon's end to it."""
        k = math.floor((when - self.start) / self.step)
        return max(0, min(self.steps, k)), max(0.0, (when - self.end).total_seconds() / 3600)

    def _battery(self, der: Der, reading: Reading) -> None:
        r = der.ratings
        if reading.soc is None or r.energy_wh is None:
            self._hold(der, reading, "no state of charge")
            return
        soc = reading.soc
        ramp = r.ramp_w_per_s * self.step.total_seconds() if r.ramp_w_per_s else math.inf
        self._storage(
            np.full(self.steps, reading.p_w),
            battery_fleet(
                (der.der_id,),
                steps=self.steps,
                p_charge_w=max(0.0, -r.p_min_w),
                p_discharge_w=max(0.0, r.p_max_w),
                capacity_wh=r.energy_wh,
                soc0=soc,
                soc_min=min(r.soc_min, soc),  # outside its band now: no worse than now
                soc_max=max(r.soc_max, soc),
                eff_charge=r.eff_charge,
                eff_discharge=r.eff_discharge,
                wear_cost=self._cost(der),
                ramp_w=ramp,
            ),
        )

    def _ev(self, der: Der, reading: Reading) -> None:
        r = der.ratings
        p_max, eff = max(0.0, -r.p_min_w), r.eff_charge
        session = self.ev_sessions.get(der.der_id)
        avail, after_h, due = self.steps, 0.0, False
        if reading.connected is False:
            avail, need = 0, 0.0
        elif session is not None:
            need, due = session.energy_needed_wh, True
            avail, after_h = self._steps_until(session.departure)
            if avail == 0:
                self.notes.append(f"{der.der_id}: departs within the first step")
        elif reading.energy_wh is not None:
            need = reading.energy_wh
        elif reading.soc is not None and r.energy_wh is not None:
            need = max(0.0, r.soc_max - reading.soc) * r.energy_wh
        else:
            need = p_max * eff * self.dt_h * self.steps
        window = EnergyWindow(der.der_id, p_max, eff, avail, need, due, after_h)
        row = energy_window_row(window, steps=self.steps, dt_h=self.dt_h, notes=self.notes)
        self._storage(-row.charge_max_w[0], row)

    def _pv_avail(self, der: Der, reading: Reading) -> FloatArray:
        given = self.forecast.pv_avail_w.get(der.der_id)
        if given is not None:
            return np.clip(self._series(given, der.der_id), 0.0, der.ratings.p_max_w)
        a0 = reading.p_avail_w if reading.p_avail_w is not None else max(reading.p_w, 0.0)
        now_shape = float(clear_sky_fraction(np.array([_hours(reading.ts)]))[0])
        if now_shape < MIN_SHAPE:
            return np.full(self.steps, min(a0, der.ratings.p_max_w))
        mids = np.asarray(
            _hours(self.start) + (np.arange(self.steps) + 0.5) * self.dt_h, np.float64
        )
        profile = a0 * clear_sky_fraction(mids) / now_shape
        return np.asarray(np.clip(profile, 0.0, der.ratings.p_max_w), np.float64)

    def _flexible_load(self, der: Der, reading: Reading) -> None:
        r = der.ratings
        window = self.load_windows.get(der.der_id)
        remaining = reading.energy_wh
        if window is not None and window.energy_wh is not None:
            remaining = window.energy_wh
        elif remaining is None and reading.soc is not None and r.energy_wh is not None:
            remaining = (1.0 - reading.soc) * r.energy_wh
        if remaining is None:
            self._hold(der, reading, "no energy state")
            return
        # the window given, else the deadline the load reports, else the horizon's end
        end = window.end if window is not None else (reading.deadline or self.end)
        avail, after_h = self._steps_until(end)
        row = EnergyWindow(der.der_id, max(0.0, -r.p_min_w), 1.0, avail, remaining, True, after_h)
        rows = energy_window_row(row, steps=self.steps, dt_h=self.dt_h, notes=self.notes)
        self._storage(-rows.charge_max_w[0], rows)

    def _heat_pump(self, der: Der, reading: Reading) -> None:
        r = der.ratings
        if reading.soc is None:
            self._hold(der, reading, "no thermal state")
            return
        p_max = max(0.0, -r.p_min_w)
        band = r.energy_wh
        if band is None:
            band = DEFAULT_BAND_H * p_max
            self.notes.append(f"{der.der_id}: comfort band assumed {band:.0f} Wh (no rating)")
        load = self.forecast.load_w.get(der.der_id)
        demand = (
            -self._series(load, der.der_id)
            if load is not None
            else np.full(self.steps, max(0.0, -reading.p_w))
        )
        self._storage(
            -np.minimum(demand, p_max),
            thermal_band_row(
                der.der_id,
                max_w=p_max,
                band_wh=band,
                soc=reading.soc,
                demand_w=demand,
                dt_h=self.dt_h,
                notes=self.notes,
            ),
        )

    def _storage(self, intent: FloatArray, row: StorageFleet) -> None:
        """A storage row and what the DER does on its own (its baseline intent)."""
        self.intent.append(np.asarray(intent, np.float64))
        self.storage.append(row)

    def intents(self) -> FloatArray:
        return np.array(self.intent) if self.intent else np.zeros((0, self.steps))

    def fleets(
        self,
    ) -> tuple[StorageFleet | None, CurtailableFleet | None, ChpFleet | None, ChpDynamics | None]:
        storage = concat_storage(self.storage) if self.storage else None
        pv = None
        if self.pv:
            ids = tuple(i for i, _, _ in self.pv)
            pv = CurtailableFleet(
                ids, np.array([a for _, a, _ in self.pv]), np.array([c for _, _, c in self.pv])
            )
        if not self.chp:
            return storage, pv, None, None
        ders = [d for d, _ in self.chp]
        p_max = np.array([d.ratings.p_max_w for d in ders])
        p0 = np.array([max(0.0, r.p_w) for _, r in self.chp])
        step_s = self.step.total_seconds()
        chp = ChpFleet(
            der_ids=tuple(d.der_id for d in ders),
            p_max_w=p_max,
            min_stable_w=np.array([d.ratings.min_stable_w for d in ders]),
            cost=np.array([self._cost(d) for d in ders]),
            # a start costs what running at the minimum for RESTART_S would: the plan does
            # not stop a unit it needs again within minutes (units stay off for a while)
            start_cost=np.array(
                [self._cost(d) * d.ratings.min_stable_w * RESTART_S / 3600.0 for d in ders]
            ),
            on0=p0 > 0.01 * p_max,
        )
        dyn = ChpDynamics(
            ramp_w=np.array([(d.ratings.ramp_w_per_s or math.inf) * step_s for d in ders]),
            p0_w=p0,
            min_up_steps=np.array([self.chp_min_up_steps.get(d.der_id, 1) for d in ders]),
            min_down_steps=np.array(
                [max(1, math.ceil(d.ratings.min_off_s / step_s)) for d in ders], dtype=np.int64
            ),
            off_steps=np.array([self._resting_steps(d.der_id) for d in ders], dtype=np.int64),
        )
        return storage, pv, chp, dyn
