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


def plant_power_steps(
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    start: datetime,
    until: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> list[tuple[datetime, datetime, float | None]]:
    """The plant's power as steps ``(from, to, p_w)`` over ``[start, until)``: the sum of
    each member's latest reading, a reading counting until ``max_age`` after it (``None``
    where no member has a fresh one).  A sweep over the readings, in time order."""
    events: list[tuple[datetime, int, str, float]] = []  # (at, order, der, p); expiry first
    for der, points in history.items():
        for k, (ts, p) in enumerate(points):
            events.append((ts, 1, der, p))
            nxt = points[k + 1][0] if k + 1 < len(points) else None
            if nxt is None or nxt - ts > max_age:
                events.append((ts + max_age, 0, der, 0.0))
    events.sort(key=lambda e: (e[0], e[1]))
    current: dict[str, float] = {}
    steps: list[tuple[datetime, datetime, float | None]] = []
    at = start
    for ts, kind, der, p in events:
        if ts > at and at < until:
            total = sum(current.values()) if current else None
            steps.append((at, min(ts, until), total))
            at = ts
        if kind:
            current[der] = p
        else:
            current.pop(der, None)
    if at < until:
        steps.append((at, until, sum(current.values()) if current else None))
    return steps


def backfill(
    intervals: Sequence[IntervalState],
    state: LoopState,
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    settings: DispatcherSettings,
    until: datetime,
) -> tuple[set[int], float]:
    """Integrate the plant over ``[state.last_cycle, until)`` from ``history`` and sample it
    every cycle for the tracking figures; return the intervals that changed and the
    seconds recovered."""
    start = state.last_cycle
    if start is None or until <= start:
        return set(), 0.0
    changed: set[int] = set()
    steps = plant_power_steps(history, start, until)
    for lo, hi, p in steps:
        if p is not None:
            changed |= {iv.idx for iv in add_energy(intervals, p, lo, hi)}
    step = timedelta(seconds=settings.cycle_s)
    sample_at, k = start + step, 0
    while sample_at < until:
        while k + 1 < len(steps) and steps[k][1] <= sample_at:
            k += 1
        p = steps[k][2] if steps else None
        current = next((iv for iv in intervals if iv.start <= sample_at < iv.end), None)
        if p is not None and current is not None and current.p_w_target is not None:
            record_sample(current, p, _reference(current, state), state.span_w, settings, sample_at)
            changed.add(current.idx)
        sample_at += step
    state.last_cycle = until
    return changed, (until - start).total_seconds()


def _reference(iv: IntervalState, state: LoopState) -> float:
    """The target, less the shortfall rate stated when the dispatcher was last there."""
    assert iv.p_w_target is not None
    if state.reference_w is not None and state.last_idx == iv.idx:
        return state.reference_w
    return iv.p_w_target
