"""What a dispatch delivers and how well it tracked: energy, stated shortfall, samples, verdict.

The delivered energy is the measured plant power held since the last cycle, per interval.
What the plant's envelope cannot reach of the target (its shortfall) is stated as it
happens and added up per interval.  Every cycle's measurement is a tracking sample against
the *reference* — the target clamped to the envelope — judged by the tracking rule of
:mod:`vpp.domain.tracking`.  At the end a dispatch is ``completed`` when every interval
delivered its energy less that shortfall, within tolerance, *and* held the tracking band;
``failed`` otherwise — a plant that did not follow is never reported as a success, and
energy alone does not hide a plant that sat off its target for half an interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.application.ports import IntervalState
from vpp.domain.dispatch import DispatchStatus
from vpp.domain.units import energy_wh
from vpp.optimizer.fleet_allocation import FleetAllocation


def integrate_delivery(
    intervals: Sequence[IntervalState],
    state: LoopState,
    measured: float | None,
    now: datetime,
) -> list[IntervalState]:
    """Add the energy of ``measured`` (None: no fresh reading) since the last cycle to
    the intervals it overlaps; return the intervals that changed."""
    last, state.last_cycle = state.last_cycle, now
    if last is None or measured is None:
        return []
    return add_energy(intervals, measured, last, now)


def add_energy(
    intervals: Sequence[IntervalState], p_w: float, start: datetime, end: datetime
) -> list[IntervalState]:
    """Add ``p_w`` held over ``[start, end)`` to the intervals it overlaps."""
    changed = []
    for iv in intervals:
        lo, hi = max(start, iv.start), min(end, iv.end)
        if hi > lo:
            iv.energy_wh_delivered += energy_wh(p_w, (hi - lo).total_seconds())
            changed.append(iv)
    return changed


def shortfall_w(target: float, p_min: float, p_max: float) -> float:
    """How far ``target`` lies outside the plant's envelope (signed; 0 inside)."""
    if target > p_max:
        return target - p_max
    if target < p_min:
        return target - p_min
    return 0.0


def record_shortfall(state: LoopState, iv: IntervalState, shortfall: float, now: datetime) -> None:
    """Add the stated shortfall since the last cycle (within ``iv``) to its interval."""
    if state.last_shortfall_at is not None:
        dt = (now - max(state.last_shortfall_at, iv.start)).total_seconds()
        iv.energy_wh_shortfall += energy_wh(shortfall, max(0.0, dt))
    state.last_shortfall_at = now


def record_sample(
    iv: IntervalState,
    measured: float,
    reference: float,
    range_w: float,
    settings: DispatcherSettings,
    now: datetime,
) -> None:
    """One tracking sample of ``iv``: the plant's measured power against ``reference``."""
    rule = settings.tracking
    since = (now - iv.start).total_seconds()
    iv.tally = iv.tally.add(since, measured - reference, rule.band_w(reference, range_w), rule)


def delivery_verdict(
    intervals: Sequence[IntervalState], state: LoopState, settings: DispatcherSettings
) -> tuple[DispatchStatus, str]:
    """``completed`` when every interval delivered its energy — less what the plant
    was stated to miss — within ``delivery_tol`` (at least 2 % of the plant's range
    over the interval) and held the tracking band; ``failed`` otherwise, saying where
    and by how much."""
    parts, missed = [], []
    rule = settings.tracking
    for iv in intervals:
        target = energy_wh(iv.p_w_target or 0.0, iv.duration_s)
        deliverable = target - iv.energy_wh_shortfall
        tol = max(
            settings.delivery_tol * abs(deliverable),
            energy_wh(0.02 * state.span_w, iv.duration_s),
            1.0,
        )
        text = (
            f"interval {iv.idx}: delivered {iv.energy_wh_delivered / 1000:.3f} kWh"
            f" of {target / 1000:.3f} kWh"
        )
        if abs(deliverable - target) > 1e-6:
            text += f" ({deliverable / 1000:.3f} kWh deliverable)"
        share = iv.tally.share_within
        if share is not None:
            text += f", {share:.0%} of samples within the band"
        if abs(iv.energy_wh_delivered - deliverable) > tol:
            text += " - not delivered"
            missed.append(iv.idx)
        elif not iv.tally.held(rule):
            text += f" - band not held (needs {rule.min_share:.0%})"
            missed.append(iv.idx)
        parts.append(text)
    if not state.had_members:
        parts.insert(0, "no member of the plant was available")
    ok = state.had_members and not missed
    return (DispatchStatus.COMPLETED if ok else DispatchStatus.FAILED), "; ".join(parts)


def following_detail(
    alloc: FleetAllocation, n_members: int, pinned: Mapping[str, datetime], shortfall: float
) -> str:
    """The detail of an active dispatch: who follows, who is held, what the plant misses."""
    notes = [f"{len(alloc.setpoints_w)} of {n_members} members following setpoints"]
    if pinned:
        notes.append(f"held at measured power for now: {', '.join(sorted(pinned))}")
    if shortfall:
        notes.append(f"plant envelope misses the target by {abs(shortfall) / 1000:.3f} kW")
    if alloc.binding is not None:
        notes.append(alloc.binding.describe())
    return "; ".join([*notes, *alloc.notes])
