"""Flexible load: a daily job of shiftable energy that must run within a time window.

Each day a job of ``energy_wh`` (seeded, uniform within ``job_energy_wh``, default
[2, 10] kWh) becomes runnable at ``window_start_h`` (UTC hour, 8) and must be finished
by ``window_end_h`` (20).  Power is negative (consumption), at most ``-ratings.p_min_w``
in magnitude.  The power over a step is bounded so that the job can still finish by the
deadline at full power (if it falls behind, it is forced on) and so it never consumes
more than the job needs.  Outside the window it draws 0 W.  A base load is not modelled.

Default mode: run at full power from the start of the window until done.
``params``: ``window_start_h``, ``window_end_h``, ``job_energy_wh``, ``response_s`` (1).
The reading says the job's state: ``energy_wh`` still to consume by ``deadline`` (the
window's end) and ``soc`` the share of the job already consumed (none before the first
step: the day's job is not drawn yet).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from simulators.physics.base import DerModel
from vpp.domain import DerKind
from vpp.domain.units import SECONDS_PER_HOUR


class FlexibleLoadModel(DerModel):
    kind = DerKind.FLEXIBLE_LOAD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.window_start_h = float(p.get("window_start_h", 8.0))
        self.window_end_h = float(p.get("window_end_h", 20.0))
        self.job_range = tuple(p.get("job_energy_wh", (2_000.0, 10_000.0)))
        self._day: date | None = None
        self.job_wh = 0.0
        self.done_wh = 0.0

    def _window(self, now: datetime) -> tuple[datetime, datetime]:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return (
            midnight + timedelta(hours=self.window_start_h),
            midnight + timedelta(hours=self.window_end_h),
        )

    def _new_day(self, now: datetime) -> None:
        if self._day != now.date():
            self._day = now.date()
            self.job_wh = self._rng.uniform(*self.job_range)
            self.done_wh = 0.0

    @property
    def remaining_wh(self) -> float:
        return max(0.0, self.job_wh - self.done_wh)

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        self._new_day(now)
        start, end = self._window(now)
        step_start = now - timedelta(seconds=dt_s)
        if step_start < start or now > end or self.remaining_wh <= 0:
            return 0.0, 0.0
        hours = dt_s / SECONDS_PER_HOUR
        p_max = -self.ratings.p_min_w
        most = min(p_max, self.remaining_wh / hours)
        left_after_h = max(0.0, (end - now).total_seconds() / SECONDS_PER_HOUR)
        must = (self.remaining_wh - p_max * left_after_h) / hours
        least = min(most, max(0.0, must))
        return -most, -least

    def _autonomous_w(self, now: datetime) -> float:
        return self.ratings.p_min_w

    def _target(self, now: datetime) -> float:
        return min(0.0, super()._target(now))

    def _advance(self, now: datetime, dt_s: float, p_w: float) -> None:
        self.done_wh += -p_w * dt_s / SECONDS_PER_HOUR

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        if self._day is None or self.job_wh <= 0:
            return {"energy_wh": self.remaining_wh}
        done = min(1.0, max(0.0, self.done_wh / self.job_wh))
        return {"energy_wh": self.remaining_wh, "soc": done, "deadline": self._window(now)[1]}
