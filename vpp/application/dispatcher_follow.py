"""How a dispatch follows its target: the dispatcher's settings and one dispatch's loop state.

A member that is still off the setpoint it was sent ``follow_s`` ago is not following (it
failed, is stuck, or its physics does not allow it): it is held ("pinned") at what it
measures for ``retry_pinned_s`` and the rest of the plant is re-allocated around it, then
it is tried again.  A command that lapsed (the dispatcher or NATS was away) is sent again,
not held against the member.  Once every commanded member has reached its setpoint, a slow
integral term removes what is left of the plant's error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from vpp.domain.der import Der, DerKind
from vpp.domain.flexibility import is_fresh
from vpp.domain.telemetry import Reading


@dataclass(frozen=True, slots=True)
class DispatcherSettings:
    cycle_s: float = 4.0
    command_ttl_s: float = 20.0  # a command outlives a few cycles, not a dead dispatcher
    deadband: float = 0.005  # resend when a setpoint moves more than this of the range …
    deadband_w: float = 10.0  # … and more than this
    gain: float = 0.2  # integral gain on the residual error (per cycle)
    follow_s: float = 6.0  # a member off its setpoint this long after it is not following
    follow_tol: float = 0.05  # … by more than this fraction of its power range (min 100 W)
    retry_pinned_s: float = 30.0  # a member held at its measured power is tried again after
    delivery_tol: float = 0.1  # completed: delivered within this of the deliverable energy

    def follow_tol_w(self, der: Der) -> float:
        """How far off its setpoint a member may be and still be following it."""
        return max(100.0, self.follow_tol * der.ratings.p_range_w)


@dataclass
class FollowState:
    """Closed-loop state of one dispatch (kept in memory; rebuilt after a restart)."""

    integral_w: float = 0.0
    pinned: dict[str, datetime] = field(default_factory=dict)  # der -> held since
    shortfall_wh: dict[int, float] = field(default_factory=dict)  # per interval, as stated
    span_w: float = 0.0  # the plant's power range, last seen
    last_shortfall_at: datetime | None = None
    last_cycle: datetime | None = None
    last_idx: int | None = None
    # der -> (p, valid until, first sent at): when did the device get this setpoint
    sent: dict[str, tuple[float, datetime, datetime]] = field(default_factory=dict)
    had_members: bool = False

    def enter_interval(self, idx: int) -> None:
        """A new interval starts with no integral term and no member held."""
        if self.last_idx != idx:
            self.integral_w, self.last_idx, self.pinned = 0.0, idx, {}


def update_pins(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: FollowState,
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
        reachable(m, readings[m.der_id], settings.follow_s) if m.der_id in readings else m
        for m in members
        if m.der_id not in state.pinned
    ]
    return followers, settled


def follow_judgement(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    state: FollowState,
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
        p_sent, until, at = sent
        if until <= now:
            continue  # not in force (the dispatcher or NATS was away): resent, not judged
        if abs(r.p_w - p_sent) <= settings.follow_tol_w(m):
            continue
        if r.ts >= at + timedelta(seconds=settings.follow_s):
            stuck.add(m.der_id)
        else:
            settled = False  # still on its way
    return frozenset(stuck), settled


def release_pins(state: FollowState, settings: DispatcherSettings, now: datetime) -> None:
    """A member held ``retry_pinned_s`` gets a fresh setpoint again: it may have
    recovered (a fault cleared, a ramp done, commands lost while NATS was away)."""
    retry = timedelta(seconds=settings.retry_pinned_s)
    for der_id, since in list(state.pinned.items()):
        if now - since >= retry:
            del state.pinned[der_id]
            state.sent.pop(der_id, None)  # sent again now, judged from now on


def correct_integral(
    state: FollowState,
    followers: Sequence[Der],
    readings: Mapping[str, Reading],
    range_w: float,
    gain: float,
) -> None:
    """Integrate what the followers miss of their setpoints (each within tolerance, but it
    adds up), bounded to a tenth of the plant's power range ``range_w`` (anti-windup)."""
    span = max(1.0, range_w)
    residual = sum(
        state.sent[m.der_id][0] - readings[m.der_id].p_w
        for m in followers
        if m.der_id in state.sent and m.der_id in readings
    )
    state.integral_w += gain * residual
    state.integral_w = max(-0.1 * span, min(0.1 * span, state.integral_w))


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


def plant_power(
    members: Sequence[Der], readings: Mapping[str, Reading], now: datetime
) -> tuple[float, bool]:
    """Measured plant power from fresh readings; ``False`` when none is fresh."""
    fresh = [readings[m.der_id] for m in members if is_fresh(readings.get(m.der_id), now)]
    return sum(r.p_w for r in fresh), bool(fresh)
