"""Read use case: a plant's flexibility over a horizon, per interval (what a trader bids).

For each interval ``[start + k step, start + (k + 1) step)`` the up/down power the plant can
hold for the whole interval given its members' energy limits, and the baseline it moves
from.  The rule is :mod:`vpp.optimizer.flexibility_horizon`'s: each interval independently,
from the state the baseline reaches by its start, computed from the members' latest
readings (no forecast store yet: PV follows the builder's default clear-sky profile).

Members without a fresh reading or marked unhealthy (``ders.healthy``) are left out.
By default the horizon starts with the interval holding now, on the step's grid from the
Unix epoch (PT15M: quarter hours), and spans 4 h.  A start in the future is reached by
simulating the baseline from now in whole steps (the lead-in), so the state at ``start`` is
the baseline's, not today's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from vpp.application.ports import RegistryStore
from vpp.application.queries import OperatorQueries
from vpp.application.use_case_errors import Refused
from vpp.domain.flexibility import DEFAULT_MAX_AGE
from vpp.domain.units import format_duration, format_rfc3339
from vpp.optimizer.fleet_problem import build_fleet_problem
from vpp.optimizer.flexibility_horizon import HorizonFlexibility, horizon_flexibility
from vpp.runtime import utc_now

DEFAULT_SPAN = timedelta(hours=4)
DEFAULT_STEP = timedelta(minutes=15)
MIN_STEP = timedelta(minutes=1)
MAX_STEP = timedelta(days=1)
#: the end lies at most this far ahead of now (the state is today's)
MAX_AHEAD = timedelta(days=7)
#: intervals per request (lead-in included): a week of quarter hours
MAX_STEPS = 672


@dataclass(frozen=True, slots=True)
class Horizon:
    start: datetime
    end: datetime
    step: timedelta

    @property
    def steps(self) -> int:
        return int((self.end - self.start) / self.step)


@dataclass(frozen=True, slots=True)
class PlantFlexibilityView:
    plant_id: str
    horizon: Horizon
    flexibility: HorizonFlexibility  # the requested intervals only
    unregistered: tuple[str, ...]
    as_of: datetime


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def on_grid(at: datetime, step: timedelta) -> datetime:
    """The start of the step-long interval (on a grid from the Unix epoch) holding ``at``."""
    return EPOCH + ((at - EPOCH) // step) * step


def resolve_horizon(
    start: datetime | None, end: datetime | None, step: timedelta | None, now: datetime
) -> Horizon:
    """Defaults and bounds of a flexibility horizon: by default the current interval on the
    step's grid (quarter hours: 10:07 -> 10:00) and 4 h from there, in quarter hours."""
    step = step if step is not None else DEFAULT_STEP
    if not MIN_STEP <= step <= MAX_STEP:
        raise Refused(
            f"step {format_duration(step) if step > timedelta(0) else step} outside "
            f"{format_duration(MIN_STEP)}..{format_duration(MAX_STEP)}"
        )
    try:
        start = start.astimezone(UTC) if start is not None else on_grid(now, step)
        end = end.astimezone(UTC) if end is not None else start + DEFAULT_SPAN
    except OverflowError:
        raise Refused("start and end must lie between years 1 and 9999 in UTC") from None
    if start >= end:
        raise Refused(f"start {format_rfc3339(start)} must be before end {format_rfc3339(end)}")
    if start < now - step:
        raise Refused(
            "flexibility is computed from the plant's state now: "
            f"start {format_rfc3339(start)} lies more than one step in the past"
        )
    if end - now > MAX_AHEAD:
        raise Refused(f"end lies more than {MAX_AHEAD.days} days ahead")
    if (end - start) % step:
        raise Refused(f"the range is not a whole number of {format_duration(step)} steps")
    lead = max(0, math.ceil((start - now) / step))
    steps = int((end - start) / step)
    if steps + lead > MAX_STEPS:
        raise Refused(
            f"{steps + lead} intervals (from now, at {format_duration(step)}); "
            f"at most {MAX_STEPS} per request: use a longer step or a shorter range"
        )
    return Horizon(start, end, step)


class PlantFlexibility:
    def __init__(
        self,
        queries: OperatorQueries,
        registry: RegistryStore,
        *,
        now: Callable[[], datetime] = utc_now,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._queries = queries
        self._registry = registry
        self._now = now
        self._max_age = max_age

    def horizon(
        self,
        tenant_id: str,
        plant_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        step: timedelta | None = None,
    ) -> PlantFlexibilityView:
        plant = self._queries.tenant_plant(tenant_id, plant_id)
        now = self._now()
        h = resolve_horizon(start, end, step, now)
        records = self._registry.der_records(plant.members)
        readings = self._registry.latest_readings(records.keys())
        lead = max(0, math.ceil((h.start - now) / h.step))
        fp = build_fleet_problem(
            [records[d].der for d in sorted(records)],
            readings,
            start=h.start - lead * h.step,
            step=h.step,
            steps=lead + h.steps,
            target_w=0.0,
            unavailable=frozenset(d for d, rec in records.items() if not rec.healthy),
            now=now,
            max_age=self._max_age,
        )
        flex = horizon_flexibility(fp)
        window = slice(lead, lead + h.steps)
        flex = replace(
            flex,
            start=h.start,
            baseline_w=flex.baseline_w[window],
            up_w=flex.up_w[window],
            down_w=flex.down_w[window],
        )
        unregistered = tuple(sorted(plant.members - records.keys()))
        return PlantFlexibilityView(plant.plant_id, h, flex, unregistered, now)
