"""Heat pump with a thermal store (a buffer tank) that must stay in a comfort band.

Electrical power is negative (it consumes).  Heat delivered is ``COP * |p|``; the house
draws a heat demand that follows the outdoor temperature's daily swing plus seeded
noise.  The tank's temperature moves by ``(heat in - demand) dt / C``.  The power over a
step is bounded so the tank stays within ``[t_min_c, t_max_c]``: the unit must run when
the tank would otherwise cool below the band, and may not heat it above.  Running, its
magnitude is at least ``ratings.min_stable_w`` (or it is off).

Default mode: thermostat with hysteresis (on at full power below the lower third of the
band, off above the upper third).  ``params``: ``cop`` (3.0), ``t_min_c`` (45), ``t_max_c``
(55), ``t0_c`` (seeded within the band), ``capacity_wh_per_k`` (350: ~300 l of water),
``demand_w`` (mean heat demand, 40 % of the heat at full power), ``response_s`` (5).
The reading's ``soc`` is the thermal fill of the band, 0 at ``t_min_c``, 1 at ``t_max_c``;
its ``temp_c`` the tank's temperature.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind
from vpp.domain.units import SECONDS_PER_HOUR


class HeatPumpModel(DerModel):
    kind = DerKind.HEAT_PUMP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.cop = float(p.get("cop", 3.0))
        self.t_min_c = float(p.get("t_min_c", 45.0))
        self.t_max_c = float(p.get("t_max_c", 55.0))
        self.capacity_wh_per_k = float(p.get("capacity_wh_per_k", 350.0))
        full_heat = -self.ratings.p_min_w * self.cop
        self.demand_mean_w = float(p.get("demand_w", 0.4 * full_heat))
        band = self.t_max_c - self.t_min_c
        self.t_c = float(p.get("t0_c", self.t_min_c + band * self._rng.uniform(0.3, 0.7)))
        self._demand_noise = 0.0
        self._heating = False
        self.demand_w = self.demand_mean_w

    def default_response_s(self) -> float:
        return 5.0

    @property
    def p_max_draw_w(self) -> float:
        return -self.ratings.p_min_w

    @property
    def min_draw_w(self) -> float:
        return max(self.ratings.min_stable_w, 0.0)

    def _demand(self, now: datetime, dt_s: float) -> float:
        hour = now.hour + now.minute / 60
        daily = 1.0 + 0.3 * math.cos(2 * math.pi * (hour - 5.0) / 24.0)  # coldest near 5 UTC
        a = math.exp(-dt_s / 1800.0)
        self._demand_noise = self._demand_noise * a + self._rng.gauss(0, 0.1) * math.sqrt(1 - a * a)
        return max(0.0, self.demand_mean_w * (daily + self._demand_noise))

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        self.demand_w = self._demand(now, dt_s)
        hours = dt_s / SECONDS_PER_HOUR
        c = self.capacity_wh_per_k
        # heat (Wh) that keeps the tank at the top / bottom of the band after this step
        heat_to_top = (self.t_max_c - self.t_c) * c + self.demand_w * hours
        heat_to_bottom = (self.t_min_c - self.t_c) * c + self.demand_w * hours
        most = min(self.p_max_draw_w, max(0.0, heat_to_top / self.cop / hours))
        least = min(most, max(0.0, heat_to_bottom / self.cop / hours))
        return -most, -least

    def _feasible(self, p: float, lo: float, hi: float, target: float) -> float:
        draw = -p
        if 0 < draw < self.min_draw_w:
            # below its minimum it is either off or at the minimum, whichever the target
            # is nearer to and the comfort band allows
            off_ok = hi == 0.0
            min_ok = -lo >= self.min_draw_w
            wants_off = -target < self.min_draw_w / 2
            if off_ok and (wants_off or not min_ok):
                return 0.0
            if min_ok:
                return -self.min_draw_w
        return p

    def _autonomous_w(self, now: datetime) -> float:
        third = (self.t_max_c - self.t_min_c) / 3
        if self.t_c < self.t_min_c + third:
            self._heating = True
        elif self.t_c > self.t_max_c - third:
            self._heating = False
        return -self.p_max_draw_w if self._heating else 0.0

    def _target(self, now: datetime) -> float:
        return min(0.0, super()._target(now))

    def _advance(self, now: datetime, dt_s: float, p_w: float) -> None:
        heat_wh = (-p_w * self.cop - self.demand_w) * dt_s / SECONDS_PER_HOUR
        self.t_c += heat_wh / self.capacity_wh_per_k

    @property
    def thermal_fill(self) -> float:
        band = self.t_max_c - self.t_min_c
        return min(1.0, max(0.0, (self.t_c - self.t_min_c) / band))

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {"soc": self.thermal_fill, "temp_c": self.t_c}
