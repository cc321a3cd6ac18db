"""Who follows: members judged on their setpoints, held when they do not, the integral term.

A member that is still off the setpoint it was sent ``follow_s`` ago is first sent it
again (the command may have been lost: a gateway restarted, a device fell back to its
default mode).  Still off after that, it is not following (it failed, is stuck, or its
physics does not allow it): it is held ("pinned") at what it measures for
``retry_pinned_s`` and the rest of the plant is re-allocated around it, then it is tried
again.  A command that lapsed (the dispatcher or NATS was away) is sent again,
not held against the member.  Once every commanded member has reached its setpoint, an
integral term removes what is left of the plant's error.  A member whose acks said it
takes less than it was sent (a clamp) has its range narrowed for the rest of the interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.domain.der import Der, DerKind
from vpp.domain.flexibility import is_fresh
from vpp.domain.telemetry import Reading

Limits = dict[str, tuple[float, float]]


def update_pins(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: LoopState,
    settings: DispatcherSettings,
    now: datetime,
) -> tuple[list[Der], Limits, bool]:
    """Hold the members that do not follow, release those held long enough; return the
    followers, their power limits now (what their ramps reach in ``follow_s``, what their
    acks and their following said they take) and whether the plant has settled on the
    setpoints sent."""
    stuck, settled = follow_judgement(members, readings, state, settings, now)
    release_pins(state, settings, now)
    by_id = {m.der_id: m for m in members}
    for der_id in stuck:
        if der_id not in state.resent:
            # first sent its setpoint again: the command may be lost (a gateway restarted,
            # a device back in its default mode), and is judged afresh from now on
            state.resent.add(der_id)
            state.sent.pop(der_id, None)
            continue
        state.pinned.setdefault(der_id, now)  # held for a while (no flapping), then tried again
        learn_cap(state, by_id[der_id], readings[der_id].p_w)
    followers = [m for m in members if m.der_id not in state.pinned]
    car_limits(followers, readings, state, settings, now)
    limits: Limits = {}
    for m in followers:
        r = readings.get(m.der_id)
        lim = reachable(m, r, settings.follow_s) if r is not None else None
        cap = state.caps.get(m.der_id)
        if cap is not None:
            lo, hi = lim or (m.ratings.p_min_w, m.ratings.p_max_w)
            lim = (max(lo, cap[0]), min(hi, cap[1]))
        if lim is not None:
            limits[m.der_id] = lim
    return followers, limits, settled


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
            state.resent.discard(m.der_id)  # following: a later miss is resent first again
            continue
        if r.ts >= sent.since + timedelta(seconds=follow_time_s(m, r, sent.p_w, settings)):
            stuck.add(m.der_id)
        else:
            settled = False  # still on its way
    return frozenset(stuck), settled


def learn_cap(state: LoopState, der: Der, measured_w: float) -> None:
    """A member that stays short of its setpoint takes no more than it measures, on that
    side, for the rest of the interval (an EV whose car draws less than the charger's
    rating, a heat pump near its comfort limit): tried again within that, not beyond."""
    sent = state.sent.get(der.der_id)
    if sent is None or der.ratings.ramp_w_per_s is not None:
        return  # a ramping unit is judged on its ramp (follow_time_s), not capped
    if der.kind is DerKind.BATTERY:
        return  # its limits are its state of charge (the envelope): held, then tried again
    lo, hi = state.caps.get(der.der_id, (float("-inf"), float("inf")))
    if sent.p_w > measured_w:
        hi = min(hi, measured_w)
    else:
        lo = max(lo, measured_w)
    state.caps[der.der_id] = (lo, hi)


def car_limits(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: LoopState,
    settings: DispatcherSettings,
    now: datetime,
) -> None:
    """An EV charger left to itself charges as fast as its car takes: one drawing less
    than its rating, before any setpoint of this dispatch is in force, takes no more than
    it draws, for the rest of the interval (found out at once instead of a setpoint
    later, when it does not follow one it cannot reach while the rest of the plant waits)."""
    for m in members:
        sent, r = state.sent.get(m.der_id), readings.get(m.der_id)
        if m.kind is not DerKind.EV_CHARGER or r is None or not is_fresh(r, now):
            continue
        if sent is not None and sent.in_force(now):
            continue
        if r.p_w > m.ratings.p_min_w + settings.follow_tol_w(m):
            lo, hi = state.caps.get(m.der_id, (float("-inf"), float("inf")))
            state.caps[m.der_id] = (max(lo, r.p_w), hi)


def follow_time_s(
    der: Der, reading: Reading, setpoint_w: float, settings: DispatcherSettings
) -> float:
    """How long ``der`` may take to reach ``setpoint_w``: ``follow_s``, plus what its ramp
    needs for the way still left (a CHP ramping 0.5 kW/s is on its way, not stuck)."""
    ramp = der.ratings.ramp_w_per_s
    extra = abs(setpoint_w - reading.p_w) / ramp if ramp else 0.0
    return settings.follow_s + extra


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
    """Move the correction term towards what the followers miss of their setpoints.

    The plant misses its target by ``Σ (setpoint − measured) − integral`` over the
    followers: the term follows that residual (``gain`` per cycle), so a member that lags,
    drifts or holds a small offset is made up by the others, and the term fades again
    when it catches up.  Only setpoints in force that the member has answered count, and
    a member still on its way (within ``follow_s``, off by more than its tolerance) does
    not: a lapsed, just-sent or moving setpoint is no error yet.  Held members are
    re-allocated, not corrected.  Bounded to ``integral_limit`` of the plant's range; the
    caller skips it while the allocation is saturated (no windup against a limit)."""
    limit = settings.integral_limit * max(1.0, range_w)
    settle = timedelta(seconds=settings.follow_s)
    residual = 0.0
    for m in followers:
        sent, r = state.sent.get(m.der_id), readings.get(m.der_id)
        if sent is None or r is None or not sent.in_force(now) or r.ts <= sent.since:
            continue
        off = sent.p_w - r.p_w
        if r.ts >= sent.since + settle or abs(off) <= settings.follow_tol_w(m):
            residual += off  # arrived, or had its time: what is left is an error
    state.integral_w += settings.gain * (residual - state.integral_w)
    state.integral_w = max(-limit, min(limit, state.integral_w))


def reachable(der: Der, reading: Reading, within_s: float) -> tuple[float, float] | None:
    """The power range ``der``'s ramp reaches in ``within_s`` from where it is (``None``: no
    ramp limit)."""
    r = der.ratings
    if r.ramp_w_per_s is None:
        return None
    reach = r.ramp_w_per_s * within_s
    if der.kind is DerKind.CHP and reading.p_w < r.min_stable_w:
        # stopped: it starts at its minimum, then ramps (or stays off)
        return max(0.0, r.p_min_w), min(r.p_max_w, r.min_stable_w + reach)
    lo = max(r.p_min_w, min(r.p_max_w, reading.p_w - reach))
    hi = min(r.p_max_w, max(r.p_min_w, reading.p_w + reach))
    if der.kind is DerKind.CHP and reading.p_w - reach <= r.min_stable_w:
        lo = 0.0  # near its minimum it may still trip off
    return lo, max(lo, hi)


def plant_power(
    members: Sequence[Der], readings: Mapping[str, Reading], now: datetime
) -> tuple[float, bool]:
    """Measured plant power from fresh readings; ``False`` when none is fresh."""
    fresh = [readings[m.der_id] for m in members if is_fresh(readings.get(m.der_id), now)]
    return sum(r.p_w for r in fresh), bool(fresh)
