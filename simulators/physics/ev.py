"""EV charger: cars arrive, need energy, leave; an absent car draws nothing.

A session has an arrival and departure time, the energy the driver asks for, the car's
own maximum charging power and its battery (``ratings.energy_wh``) state of charge at
arrival.  While a car is plugged in and still needs energy the charger can draw up to
``min(-ratings.p_min_w, car max)``; the car stores ``-p dt * eff_charge``.  No V2G:
positive setpoints are treated as 0.  Default mode: charge at full power until done.

Sessions come from the seed (inter-arrival and dwell times exponential around
``mean_gap_s`` (3 h) and ``mean_dwell_s`` (5 h); energy uniform in ``energy_needed_wh``
(default [5, 30] kWh, capped by the car's room); car power uniform in ``car_max_w``
(default [3.7, 11] kW)) or are given explicitly: ``params["sessions"]`` is a list of
``{"arrival": datetime, "departure": datetime, "energy_wh": float, "max_w": float,
"soc0": float}``.  ``connected_at_start`` (0.7) is the probability that a car is already
plugged in at the first step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind
from vpp.domain.units import SECONDS_PER_HOUR


@dataclass(frozen=True, slots=True)
class EvSession:
    arrival: datetime
    departure: datetime
    energy_wh: float  # energy the driver wants in the car
    max_w: float  # the car's own charging limit (magnitude)
    soc0: float = 0.2


class EvChargerModel(DerModel):
    kind = DerKind.EV_CHARGER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.mean_gap_s = float(p.get("mean_gap_s", 3 * 3600))
        self.mean_dwell_s = float(p.get("mean_dwell_s", 5 * 3600))
        self.energy_needed = tuple(p.get("energy_needed_wh", (5_000.0, 30_000.0)))
        self.car_max = tuple(p.get("car_max_w", (3_700.0, 11_000.0)))
        self.connected_at_start = float(p.get("connected_at_start", 0.7))
        self._planned = [EvSession(**s) for s in p.get("sessions", [])]
        self._generate = "sessions" not in p
        self.session: EvSession | None = None
        self.delivered_wh = 0.0  # into the car, this session
        self._next_arrival: datetime | None = None

    def default_response_s(self) -> float:
        return 2.0

    # -- sessions ---------------------------------------------------------------------

    def _draw_session(self, arrival: datetime) -> EvSession:
        cap = self.ratings.energy_wh or 50_000.0
        soc0 = self._rng.uniform(0.1, 0.6)
        want = self._rng.uniform(*self.energy_needed)
        dwell = self._rng.expovariate(1.0 / self.mean_dwell_s)
        return EvSession(
            arrival=arrival,
            departure=arrival + timedelta(seconds=max(900.0, dwell)),
            energy_wh=min(want, (0.95 - soc0) * cap),
            max_w=self._rng.uniform(*self.car_max),
            soc0=soc0,
        )

    def _update_session(self, now: datetime) -> None:
        if self.session is not None and now >= self.session.departure:
            self.session = None
        if self.session is not None:
            return
        if not self._generate:
            while self._planned and self._planned[0].departure <= now:
                self._planned.pop(0)
            if self._planned and self._planned[0].arrival <= now:
                self.session, self.delivered_wh = self._planned.pop(0), 0.0
            return
        if self._next_arrival is None:  # first step
            if self._rng.random() < self.connected_at_start:
                self.session, self.delivered_wh = self._draw_session(now), 0.0
                return
            self._next_arrival = now + timedelta(
                seconds=self._rng.expovariate(1.0 / self.mean_gap_s)
            )
        if now >= self._next_arrival:
            self.session, self.delivered_wh = self._draw_session(now), 0.0
            gap = self._rng.expovariate(1.0 / self.mean_gap_s)
            self._next_arrival = self.session.departure + timedelta(seconds=gap)

    @property
    def connected(self) -> bool:
        return self.session is not None

    @property
    def remaining_wh(self) -> float:
        return 0.0 if self.session is None else max(0.0, self.session.energy_wh - self.delivered_wh)

    # -- physics ----------------------------------------------------------------------

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        self._update_session(now)
        if self.session is None or self.remaining_wh <= 0:
            return 0.0, 0.0
        room_w = self.remaining_wh / self.ratings.eff_charge * SECONDS_PER_HOUR / dt_s
        draw = min(-self.ratings.p_min_w, self.session.max_w, room_w)
        return -draw, 0.0

    def _autonomous_w(self, now: datetime) -> float:
        return self.ratings.p_min_w

    def _target(self, now: datetime) -> float:
        return min(0.0, super()._target(now))

    def _advance(self, now: datetime, dt_s: float, p_w: float) -> None:
        if self.session is not None:
            self.delivered_wh += -p_w * dt_s / SECONDS_PER_HOUR * self.ratings.eff_charge

    @property
    def soc(self) -> float | None:
        if self.session is None:
            return None
        cap = self.ratings.energy_wh or 50_000.0
        return min(1.0, self.session.soc0 + self.delivered_wh / cap)

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {"connected": self.connected, "soc": self.soc, "energy_wh": self.remaining_wh}
