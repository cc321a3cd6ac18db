"""Combined heat and power unit: on/off, minimum stable power, ramp, minimum off time.

Running, it injects between ``ratings.min_stable_w`` and ``ratings.p_max_w`` and moves
at most ``ratings.ramp_w_per_s``.  A setpoint below half the minimum stable power stops
it (it ramps down to the minimum, then trips off); a setpoint between that and the
minimum runs it at the minimum.  Once stopped it stays off for ``ratings.min_off_s``.
Starting, it synchronises at the minimum stable power.  Default mode: heat-led at
``default_fraction`` (1.0) of its rating.  ``params``: ``default_fraction``,
``running`` (start running, True), ``response_s`` (3).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind

#: a unit asked to stop trips once it is this close (share of its range) to its minimum:
#: the first-order response would otherwise take ~6 time constants to reach it exactly
TRIP_BAND = 0.01


class ChpModel(DerModel):
    kind = DerKind.CHP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.min_off_s = self.ratings.min_off_s
        self.default_fraction = float(p.get("default_fraction", 1.0))
        self.running = bool(p.get("running", True))
        self._stopped_at: datetime | None = None
        if self.running:
            self._p = self.ratings.p_max_w * self.default_fraction

    def default_response_s(self) -> float:
        return 3.0

    @property
    def min_stable_w(self) -> float:
        return max(self.ratings.min_stable_w, self.ratings.p_min_w)

    def _wants_to_run(self, now: datetime) -> bool:
        target = super()._target(now)
        return target >= self.min_stable_w / 2 and target > 0

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        wants = self._wants_to_run(now)
        at_minimum = self._p <= self.min_stable_w + TRIP_BAND * self.ratings.p_range_w
        if self.running and not wants and at_minimum:
            self.running, self._stopped_at = False, now  # trip off at the minimum
        if not self.running and wants:
            rested = self._stopped_at is None or now - self._stopped_at >= timedelta(
                seconds=self.min_off_s
            )
            if rested:
                self.running = True
                self._p = self.min_stable_w  # synchronise at the minimum
        if not self.running:
            return 0.0, 0.0
        return self.min_stable_w, self.ratings.p_max_w

    def _target(self, now: datetime) -> float:
        target = super()._target(now)
        if not self.running:
            return 0.0
        return max(self.min_stable_w, min(self.ratings.p_max_w, target))

    def _autonomous_w(self, now: datetime) -> float:
        return self.ratings.p_max_w * self.default_fraction

    def set_enabled(self, on: bool) -> None:
        super().set_enabled(on)
        if not on:
            self.running = False
            self._p = 0.0

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {}
