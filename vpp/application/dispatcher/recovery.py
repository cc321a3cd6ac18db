"""After the dispatcher was away: what the plant did meanwhile, from its members' telemetry.

When a dispatch's last cycle lies more than two cycles back (the dispatcher was stopped,
crashed or lost the store), the plant's power over the gap is rebuilt from the members'
readings stored by the projector: at every cycle instant, the sum of each member's latest
usable reading (not older than the freshness limit).  That power is integrated into the
intervals' delivered energy and sampled against the last reference for the tracking
figures, so a restart mid-dispatch forgets nothing the plant delivered, and a restart
after the end settles the dispatch on what it really did.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from vpp.application.dispatcher.delivery import add_energy, record_sample
from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.application.ports import IntervalState
from vpp.domain.flexibility import DEFAULT_MAX_AGE


def has_gap(state: LoopState, settings: DispatcherSettings, now: datetime) -> bool:
    last = state.last_cycle
    return last is not None and (now - last).total_seconds() > 2 * settings.cycle_s


def plant_power_at(
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    at: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> float | None:
    """Sum of each member's latest reading at ``at`` (none fresh: ``None``)."""
    total, any_fresh = 0.0, False
    for points in history.values():
        k = bisect.bisect_right([ts for ts, _ in points], at) - 1
        if k >= 0 and at - points[k][0] <= max_age:
            total += points[k][1]
            any_fresh = True
    return total if any_fresh else None


def backfill(
    intervals: Sequence[IntervalState],
    state: LoopState,
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    settings: DispatcherSettings,
    until: datetime,
) -> tuple[set[int], float]:
    """Integrate and sample the plant over ``[state.last_cycle, until)`` from ``history``;
    return the intervals that changed and the seconds recovered."""
    start = state.last_cycle
    if start is None or until <= start:
        return set(), 0.0
    step = timedelta(seconds=settings.cycle_s)
    changed: set[int] = set()
    t = start
    while t < until:
        t_next = min(t + step, until)
        p = plant_power_at(history, t)
        if p is not None:
            changed |= {iv.idx for iv in add_energy(intervals, p, t, t_next)}
            current = next((iv for iv in intervals if iv.start <= t < iv.end), None)
            if current is not None and current.p_w_target is not None:
                reference = _reference(current, state)
                record_sample(current, p, reference, state.span_w, settings, t)
                changed.add(current.idx)
        t = t_next
    state.last_cycle = until
    return changed, (until - start).total_seconds()


def _reference(iv: IntervalState, state: LoopState) -> float:
    """The target, less the shortfall rate stated when the dispatcher was last there."""
    assert iv.p_w_target is not None
    if state.reference_w is not None and state.last_idx == iv.idx:
        return state.reference_w
    return iv.p_w_target
