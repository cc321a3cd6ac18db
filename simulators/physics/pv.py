"""Photovoltaic system: clear-sky irradiance times a cloud process; it can only curtail.

Irradiance: the sun's elevation from day of year, UTC time, latitude and longitude
(Cooper's declination, equation of time ignored), the Haurwitz clear-sky model
``GHI = 1098 sin(e) exp(-0.057 / sin(e))`` W/m², times a cloud transmittance in
``[cloud_min, 1]`` that follows a seeded mean-reverting random walk.  Available power is
``p_max * GHI / 1000 * clouds`` (a 1,000 W/m² reference, capped at the rating).

A setpoint is a ceiling: PV follows ``min(setpoint, available)`` and never goes below 0.
``params``: ``lat_deg`` (52.0), ``lon_deg`` (5.0), ``cloud_min`` (0.2),
``cloudiness`` (0.3: mean cloud cover 0..1), ``cloud_tau_s`` (600), ``response_s`` (1).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind
from vpp.domain.units import require_aware

REFERENCE_IRRADIANCE = 1000.0  # W/m², standard test conditions


def solar_elevation_rad(ts: datetime, lat_deg: float, lon_deg: float) -> float:
    ts = require_aware(ts)
    day = ts.timetuple().tm_yday
    decl = math.radians(23.45) * math.sin(2 * math.pi * (284 + day) / 365.0)
    hours = ts.hour + ts.minute / 60 + ts.second / 3600 + lon_deg / 15.0
    hour_angle = math.radians(15.0 * (hours - 12.0))
    lat = math.radians(lat_deg)
    s = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour_angle)
    return math.asin(max(-1.0, min(1.0, s)))


def clear_sky_ghi(ts: datetime, lat_deg: float, lon_deg: float) -> float:
    """Global horizontal irradiance under a clear sky (W/m², Haurwitz)."""
    s = math.sin(solar_elevation_rad(ts, lat_deg, lon_deg))
    if s <= 0.01:
        return 0.0
    return 1098.0 * s * math.exp(-0.057 / s)


class PvModel(DerModel):
    kind = DerKind.PV

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.lat_deg = float(p.get("lat_deg", 52.0))
        self.lon_deg = float(p.get("lon_deg", 5.0))
        self.cloud_min = float(p.get("cloud_min", 0.2))
        self.cloudiness = min(1.0, max(0.0, float(p.get("cloudiness", 0.3))))
        self.cloud_tau_s = float(p.get("cloud_tau_s", 600.0))
        self._clear = 1.0 - self.cloudiness * self._rng.random()  # 1 = no cloud
        self._avail = 0.0

    def _clear_sky_w(self, now: datetime) -> float:
        ghi = clear_sky_ghi(now, self.lat_deg, self.lon_deg)
        return ghi / REFERENCE_IRRADIANCE * self.ratings.p_max_w

    def available_w(self, now: datetime) -> float:
        """What the array could inject now, uncurtailed (W)."""
        transmittance = self.cloud_min + (1.0 - self.cloud_min) * self._clear
        return min(self.ratings.p_max_w, max(0.0, self._clear_sky_w(now) * transmittance))

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        # clouds move first, then the array can deliver what the sky gives it
        mean = 1.0 - self.cloudiness
        a = math.exp(-dt_s / self.cloud_tau_s)
        sigma = 0.25 * math.sqrt(1.0 - a * a)
        walk = mean + (self._clear - mean) * a + self._rng.gauss(0, sigma)
        self._clear = min(1.0, max(0.0, walk))
        self._avail = self.available_w(now)
        return 0.0, self._avail

    def _autonomous_w(self, now: datetime) -> float:
        return self.ratings.p_max_w  # maximum power point tracking: all it can

    def _target(self, now: datetime) -> float:
        target = super()._target(now)
        return max(0.0, min(target, self._avail))

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {"p_avail_w": self._avail}
