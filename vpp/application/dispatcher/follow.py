"""Who follows: members judged on their setpoints, held when they do not, the integral term.

A member that is still off the setpoint it was sent ``follow_s`` ago is not following (it
failed, is stuck, or its physics does not allow it): it is held ("pinned") at what it
measures for ``retry_pinned_s`` and the rest of the plant is re-allocated around it, then
it is tried again.  A command that lapsed (the dispatcher or NATS was away) is sent again,
not held against the member.  Once every commanded member has reached its setpoint, an
integral term removes what is left of the plant's error.  A member whose acks said it
takes less than it was sent (a clamp) has its range narrowed for the rest of the interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.domain.der import Der, DerKind
from vpp.domain.flexibility import is_fresh
from vpp.domain.telemetry import Reading


def update_pins(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: LoopState,
    settings: DispatcherSettings,
    now: datetime,
) -> tuple[list[Der], bool]:
    """Hold the members that do not follow, release those held long enough; return the
    followers (their ranges narrowed to what their ramps reach in ``follow_s``) and whether
    the plant has settled on the setpoints sent."""
    stuck, settled = follow_judgement(members, readings, state, settings, now)
    release_pins(state, settings, now)
    for der_id in stuck:  # held for a while (no flapping), then tried again
        state.pinned.setdefault(der_id, now)
    followers = [
        capped(reachable(m, readings[m.der_id], settings.follow_s), state.caps.get(m.der_id))
        if m.der_id in readings
        else m
        for m in members
        if m.der_id not in state.pinned
    ]
    return followers, settled


def follow_judgement(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: LoopState,
    settings: DispatcherSettings,
    now: datetime,
) -> tuple[frozenset[str], bool]:
    """Members still off the setpoint sent ``follow_s`` ago (not following), and
    whether every other commanded member has reached its setpoint (settled)."""
    stuck: set[str] = set()
    settled = bool(state.sent)
    for m in members:
        sent = state.sent.get(m.der_id)
        r = readings.get(m.der_id)
        if sent is None or r is None or not is_fresh(r, now):
            continue
        if not sent.in_force(now):
            continue  # not in force (the dispatcher or NATS was away): resent, not judged
        if abs(r.p_w - sent.p_w) <= settings.follow_tol_w(m):
            continue
        if r.ts >= sent.since + timedelta(seconds=settings.follow_s):
            stuck.add(m.der_id)
        else:
            settled = False  # still on its way
    return frozenset(stuck), settled


def release_pins(state: LoopState, settings: DispatcherSettings, now: datetime) -> None:
    """A member held ``retry_pinned_s`` gets a fresh setpoint again: it may have
    recovered (a fault cleared, a ramp done, commands lost while NATS was away)."""
    retry = timedelta(seconds=settings.retry_pinned_s)
    for der_id, since in list(state.pinned.items()):
        if now - since >= retry:
            del state.pinned[der_id]
            state.sent.pop(der_id, None)  # sent again now, judged from now on


def correct_integral(
    state: LoopState,
    followers: Sequence[Der],
    readings: Mapping[str, Reading],
    range_w: float,
    settings: DispatcherSettings,
    now: datetime,
) -> None:
    """Integrate what the followers miss of their setpoints (each within tolerance, but it
    adds up), bounded to ``integral_limit`` of the plant's power range (anti-windup)."""
    limit = settings.integral_limit * max(1.0, range_w)
    residual = 0.0
    for m in followers:
        sent, r = state.sent.get(m.der_id), readings.get(m.der_id)
        # only setpoints in force that the device has had time to answer
        if sent is not None and r is not None and sent.in_force(now) and r.ts > sent.since:
            residual += sent.p_w - r.p_w
    state.integral_w += settings.gain * residual
    state.integral_w = max(-limit, min(limit, state.integral_w))


def reachable(der: Der, reading: Reading, within_s: float) -> Der:
    """``der`` with its power range narrowed to what its ramp reaches in ``within_s``."""
    r = der.ratings
    if r.ramp_w_per_s is None:
        return der
    if der.kind is DerKind.CHP and reading.p_w < r.min_stable_w:
        return der  # stopped: it starts at its minimum at once, or not at all
    reach = r.ramp_w_per_s * within_s
    lo = max(r.p_min_w, min(r.p_max_w, reading.p_w - reach))
    hi = min(r.p_max_w, max(r.p_min_w, reading.p_w + reach))
    if der.kind is DerKind.CHP and reading.p_w - reach <= r.min_stable_w:
        lo = 0.0  # near its minimum it may still trip off
    return replace(der, ratings=replace(r, p_min_w=lo, p_max_w=max(lo, hi)))


def capped(der: Der, cap: tuple[float, float] | None) -> Der:
    """``der`` with its power range narrowed to what its acks said it takes (clamps)."""
    if cap is None:
        return der
    r = der.ratings
    lo = min(max(r.p_min_w, cap[0]), r.p_max_w)
    hi = max(min(r.p_max_w, cap[1]), lo)
    return replace(der, ratings=replace(r, p_min_w=lo, p_max_w=hi))


def plant_power(
    members: Sequence[Der], readings: Mapping[str, Reading], now: datetime
) -> tuple[float, bool]:
    """Measured plant power from fresh readings; ``False`` when none is fresh."""
    fresh = [readings[m.der_id] for m in members if is_fresh(readings.get(m.der_id), now)]
    return sum(r.p_w for r in fresh), bool(fresh)
