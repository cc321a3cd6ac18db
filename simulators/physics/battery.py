"""Stationary battery: state of charge, charge and discharge efficiencies, limits.

Energy balance (``E`` = ``ratings.energy_wh``, ``p`` at the terminals, W):
discharging (``p > 0``) removes ``p dt / eff_discharge`` from the cells, charging
(``p < 0``) stores ``-p dt * eff_charge``.  The power over a step is limited so that the
state of charge never leaves ``[soc_min, soc_max]`` of the ratings.

``params``: ``soc0`` (initial state of charge, default drawn in [0.3, 0.7] from the seed),
``response_s`` (0.5), ``noise_w``.  Default mode: idle (0 W).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind
from vpp.domain.units import SECONDS_PER_HOUR


class StorageState:
    """Energy in a store between limits; ``charge``/``discharge`` count losses."""

    def __init__(self, capacity_wh: float, soc: float, soc_min: float, soc_max: float) -> None:
        self.capacity_wh = capacity_wh
        self.soc_min = soc_min
        self.soc_max = soc_max
        self.soc = min(soc_max, max(soc_min, soc))

    def max_discharge_w(self, dt_s: float, eff: float) -> float:
        usable = (self.soc - self.soc_min) * self.capacity_wh
        return max(0.0, usable * eff * SECONDS_PER_HOUR / dt_s)

    def max_charge_w(self, dt_s: float, eff: float) -> float:
        room = (self.soc_max - self.soc) * self.capacity_wh
        return max(0.0, room / eff * SECONDS_PER_HOUR / dt_s)

    def apply(self, p_w: float, dt_s: float, eff_charge: float, eff_discharge: float) -> None:
        e_wh = p_w * dt_s / SECONDS_PER_HOUR
        stored = -e_wh * eff_charge if p_w < 0 else -e_wh / eff_discharge
        soc = self.soc + stored / self.capacity_wh
        self.soc = min(self.soc_max, max(self.soc_min, soc))  # guards rounding only

    @property
    def stored_wh(self) -> float:
        return self.soc * self.capacity_wh


class BatteryModel(DerModel):
    kind = DerKind.BATTERY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        r = self.ratings
        assert r.energy_wh is not None
        soc0 = float(self.params.get("soc0", 0.3 + 0.4 * self._rng.random()))
        self.store = StorageState(r.energy_wh, soc0, r.soc_min, r.soc_max)

    def default_response_s(self) -> float:
        return 0.5

    @property
    def soc(self) -> float:
        return self.store.soc

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        r = self.ratings
        hi = min(r.p_max_w, self.store.max_discharge_w(dt_s, r.eff_discharge))
        lo = max(r.p_min_w, -self.store.max_charge_w(dt_s, r.eff_charge))
        return min(lo, 0.0), max(hi, 0.0)

    def _advance(self, now: datetime, dt_s: float, p_w: float) -> None:
        r = self.ratings
        self.store.apply(p_w, dt_s, r.eff_charge, r.eff_discharge)

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {"soc": self.store.soc, "energy_wh": self.store.stored_wh}
