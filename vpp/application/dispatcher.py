"""The dispatcher: follow accepted dispatches with per-DER setpoints, in a closed loop.

Every cycle (default 4 s) for each open dispatch:

* ``accepted`` → fix the absolute target of every interval (relative mode: the plant's
  measured power now is the baseline) → ``planned``;
* inside an interval → measure the plant (sum of its members' fresh readings), integrate
  the delivered energy, and allocate the target with the optimizer against the members'
  current envelopes.  A member that has not followed its setpoint for ``follow_s`` (it
  failed, is stuck, or its physics does not allow it) is held at what it measures and the
  rest of the plant is re-allocated around it, for ``retry_pinned_s``, then tried again; a
  command that lapsed (dispatcher or NATS away) is sent again, not held against the
  member.  A slow integral term removes what is left of the error.  Setpoints that
  changed or are about to expire are sent → ``active``;
* after the last interval → ``completed`` when every interval delivered its energy (less
  what the plant was stated to miss) within 10 %, ``failed`` otherwise or when the plant
  had no available member at all; the detail gives the figures either way.
  ``cancelled`` dispatches are left alone: their commands expire within
  ``command_ttl_s`` and the gateways return devices to default.

Commands are short-lived on purpose: if the dispatcher dies, the devices fall back by
themselves.  Sequence numbers are microseconds of the dispatcher's clock, so they grow
across restarts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from vpp.application.ports import (
    KEEP,
    CommandSender,
    DispatcherStore,
    DispatchUpdate,
    IntervalState,
    IntervalUpdate,
    OpenDispatch,
)
from vpp.domain.commands import SetpointCommand
from vpp.domain.der import Der, DerKind
from vpp.domain.dispatch import DispatchMode, DispatchStatus
from vpp.domain.flexibility import fleet_envelope, is_fresh
from vpp.domain.telemetry import Reading
from vpp.domain.units import energy_wh
from vpp.optimizer.fleet_allocation import allocate_fleet

log = logging.getLogger(__name__)


@dataclass
class _Loop:
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


class Dispatcher:
    def __init__(
        self,
        store: DispatcherStore,
        sender: CommandSender,
        settings: DispatcherSettings | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.settings = settings or DispatcherSettings()
        self._loops: dict[str, _Loop] = {}
        self._last_seq = 0
        self.commands_sent = 0

    async def cycle(self, now: datetime) -> None:
        """One pass over every open dispatch; errors of one dispatch don't stop the others."""
        open_ = self.store.open_dispatches()
        # a dispatch just accepted goes first: its first setpoints are what an operator waits for
        for d in sorted(open_, key=lambda d: d.status is not DispatchStatus.ACCEPTED):
            try:
                await self._one(d, now)
            except Exception as exc:
                log.exception("dispatch %s: cycle failed", d.dispatch_id)
                self.store.update_dispatch(
                    d.dispatch_id, now, DispatchUpdate(detail=f"cycle error: {exc}")
                )
        for gone in set(self._loops) - {d.dispatch_id for d in open_}:
            del self._loops[gone]

    async def _one(self, d: OpenDispatch, now: datetime) -> None:
        loop = self._loops.setdefault(d.dispatch_id, _Loop())
        plant = self.store.plant(d.plant_id)
        if plant is None or not plant.members:
            self.store.update_dispatch(
                d.dispatch_id,
                now,
                DispatchUpdate(
                    status=DispatchStatus.FAILED, detail=f"plant {d.plant_id} has no members"
                ),
            )
            return
        ders = self.store.ders(sorted(plant.members))
        readings = self.store.latest_readings(sorted(plant.members))
        members = [ders[m] for m in sorted(plant.members) if m in ders]
        measured, fresh = _plant_power(members, readings, now)
        if d.status is DispatchStatus.ACCEPTED:
            self._plan(d, measured, now)
        current = next((iv for iv in d.intervals if iv.start <= now < iv.end), None)
        self._integrate(d, loop, measured if fresh else None, now)
        if now >= d.end:
            self._complete(d, loop, now)
            return
        if current is None or current.p_w_target is None:
            return  # before the first interval, or between intervals
        if loop.last_idx != current.idx:
            loop.integral_w, loop.last_idx, loop.pinned = 0.0, current.idx, {}
        remaining_s = (current.end - now).total_seconds()
        stuck, settled = self._follow_state(members, readings, loop, now)
        self._release_pins(loop, now)
        for der_id in stuck:  # held for a while (no flapping), then tried again
            loop.pinned.setdefault(der_id, now)
        followers = [
            _reachable(m, readings[m.der_id], self.settings.follow_s) if m.der_id in readings else m
            for m in members
            if m.der_id not in loop.pinned
        ]
        held_w = sum(readings[m].p_w for m in loop.pinned if m in readings)
        env = fleet_envelope(members, readings, now)
        loop.span_w = max(0.0, env.total.p_max_w - env.total.p_min_w)
        if fresh and settled:
            span = max(1.0, env.total.p_max_w - env.total.p_min_w)
            # what the followers miss of their setpoints, each within tolerance, adds up
            residual = sum(
                loop.sent[m.der_id][0] - readings[m.der_id].p_w
                for m in followers
                if m.der_id in loop.sent and m.der_id in readings
            )
            loop.integral_w += self.settings.gain * residual
            loop.integral_w = max(-0.1 * span, min(0.1 * span, loop.integral_w))  # anti-windup
        alloc = allocate_fleet(
            followers, readings, now, current.p_w_target - held_w + loop.integral_w
        )
        loop.had_members = loop.had_members or bool(alloc.setpoints_w)
        shortfall = _shortfall(current.p_w_target, env.total.p_min_w, env.total.p_max_w)
        if loop.last_shortfall_at is not None:
            dt = (now - max(loop.last_shortfall_at, current.start)).total_seconds()
            loop.shortfall_wh[current.idx] = loop.shortfall_wh.get(current.idx, 0.0) + energy_wh(
                shortfall, max(0.0, dt)
            )
        loop.last_shortfall_at = now
        await self._send(d, current, alloc.setpoints_w, members, loop, now, remaining_s)
        self.store.update_interval(
            d.dispatch_id,
            current.idx,
            IntervalUpdate(
                p_w_planned=alloc.total_w, p_w_measured_last=measured if fresh else None
            ),
        )
        notes = [f"{len(alloc.setpoints_w)} of {len(members)} members following setpoints"]
        if loop.pinned:
            notes.append(f"held at measured power for now: {', '.join(sorted(loop.pinned))}")
        if shortfall:
            notes.append(f"plant envelope misses the target by {abs(shortfall) / 1000:.3f} kW")
        if alloc.binding is not None:
            notes.append(alloc.binding.describe())
        update = DispatchUpdate(
            status=DispatchStatus.ACTIVE if d.status is not DispatchStatus.ACTIVE else KEEP,
            detail="; ".join([*notes, *alloc.notes]),
            shortfall_w=abs(shortfall),
        )
        self.store.update_dispatch(d.dispatch_id, now, update)

    def _follow_state(
        self,
        members: Sequence[Der],
        readings: Mapping[str, Reading],
        loop: _Loop,
        now: datetime,
    ) -> tuple[frozenset[str], bool]:
        """Members still off the setpoint sent ``follow_s`` ago (not following), and
        whether every other commanded member has reached its setpoint (settled)."""
        stuck: set[str] = set()
        settled = bool(loop.sent)
        for m in members:
            sent = loop.sent.get(m.der_id)
            r = readings.get(m.der_id)
            if sent is None or r is None or not is_fresh(r, now):
                continue
            p_sent, until, at = sent
            if until <= now:
                continue  # not in force (the dispatcher or NATS was away): resent, not judged
            tol = max(100.0, self.settings.follow_tol * m.ratings.p_range_w)
            if abs(r.p_w - p_sent) <= tol:
                continue
            if r.ts >= at + timedelta(seconds=self.settings.follow_s):
                stuck.add(m.der_id)
            else:
                settled = False  # still on its way
        return frozenset(stuck), settled

    def _release_pins(self, loop: _Loop, now: datetime) -> None:
        """A member held ``retry_pinned_s`` gets a fresh setpoint again: it may have
        recovered (a fault cleared, a ramp done, commands lost while NATS was away)."""
        retry = timedelta(seconds=self.settings.retry_pinned_s)
        for der_id, since in list(loop.pinned.items()):
            if now - since >= retry:
                del loop.pinned[der_id]
                loop.sent.pop(der_id, None)  # sent again now, judged from now on

    def _plan(self, d: OpenDispatch, measured: float, now: datetime) -> None:
        baseline = measured if d.mode is DispatchMode.RELATIVE else None
        for iv in d.intervals:
            iv.p_w_target = iv.p_w_requested + (baseline or 0.0)
            self.store.update_interval(
                d.dispatch_id,
                iv.idx,
                IntervalUpdate(
                    p_w_target=iv.p_w_target,
                    energy_wh_target=energy_wh(iv.p_w_target, iv.duration_s),
                ),
            )
        d.baseline_w = baseline
        d.status = DispatchStatus.PLANNED
        self.store.update_dispatch(
            d.dispatch_id, now, DispatchUpdate(status=DispatchStatus.PLANNED, baseline_w=baseline)
        )

    def _integrate(
        self, d: OpenDispatch, loop: _Loop, measured: float | None, now: datetime
    ) -> None:
        """Delivered energy: measured plant power held since the last cycle, per interval."""
        last, loop.last_cycle = loop.last_cycle, now
        if last is None or measured is None:
            return
        for iv in d.intervals:
            lo, hi = max(last, iv.start), min(now, iv.end)
            if hi > lo:
                iv.energy_wh_delivered += energy_wh(measured, (hi - lo).total_seconds())
                self.store.update_interval(
                    d.dispatch_id,
                    iv.idx,
                    IntervalUpdate(energy_wh_delivered=iv.energy_wh_delivered),
                )

    def _complete(self, d: OpenDispatch, loop: _Loop, now: datetime) -> None:
        """``completed`` when every interval delivered its energy — less what the plant
        was stated to miss — within ``delivery_tol`` (at least 2 % of the plant's range
        over the interval); ``failed`` otherwise, saying where and by how much: a plant
        that did not follow is never reported as a success."""
        parts, missed = [], []
        for iv in d.intervals:
            target = energy_wh(iv.p_w_target or 0.0, iv.duration_s)
            deliverable = target - loop.shortfall_wh.get(iv.idx, 0.0)
            tol = max(
                self.settings.delivery_tol * abs(deliverable),
                energy_wh(0.02 * loop.span_w, iv.duration_s),
                1.0,
            )
            text = (
                f"interval {iv.idx}: delivered {iv.energy_wh_delivered / 1000:.3f} kWh"
                f" of {target / 1000:.3f} kWh"
            )
            if abs(deliverable - target) > 1e-6:
                text += f" ({deliverable / 1000:.3f} kWh deliverable)"
            if abs(iv.energy_wh_delivered - deliverable) > tol:
                text += " - not delivered"
                missed.append(iv.idx)
            parts.append(text)
        if not loop.had_members:
            parts.insert(0, "no member of the plant was available")
        ok = loop.had_members and not missed
        status = DispatchStatus.COMPLETED if ok else DispatchStatus.FAILED
        self.store.update_dispatch(
            d.dispatch_id, now, DispatchUpdate(status=status, detail="; ".join(parts))
        )

    async def _send(
        self,
        d: OpenDispatch,
        iv: IntervalState,
        setpoints: Mapping[str, float],
        members: Sequence[Der],
        loop: _Loop,
        now: datetime,
        remaining_s: float,
    ) -> None:
        by_id = {m.der_id: m for m in members}
        ttl = timedelta(seconds=min(self.settings.command_ttl_s, max(remaining_s, 1.0)))
        refresh_before = now + timedelta(seconds=2 * self.settings.cycle_s)
        cmds = []
        # strictly increasing, also across the dispatches of one cycle (they may share DERs)
        seq = max(int(now.timestamp() * 1_000_000), self._last_seq + 1)
        self._last_seq = seq
        for der_id, p_w in setpoints.items():
            prev = loop.sent.get(der_id)
            band = max(
                self.settings.deadband_w, self.settings.deadband * by_id[der_id].ratings.p_range_w
            )
            same = prev is not None and abs(prev[0] - p_w) <= band
            tol = max(100.0, self.settings.follow_tol * by_id[der_id].ratings.p_range_w)
            close = prev is not None and abs(prev[0] - p_w) <= tol
            if prev and same and prev[1] > refresh_before:
                continue
            until = min(now + ttl, iv.end) if remaining_s > 1.0 else now + ttl
            cmds.append(
                SetpointCommand(
                    command_id=_command_id(d.dispatch_id, iv.idx, der_id, seq),
                    der_id=der_id,
                    gateway_id=by_id[der_id].gateway_id,
                    seq=seq,
                    p_w=float(p_w),
                    valid_from=now,
                    valid_until=until,
                    dispatch_id=d.dispatch_id,
                )
            )
            # a small move is no new target; a command that lapsed starts the clock again
            since = prev[2] if prev and close and prev[1] > now else now
            loop.sent[der_id] = (float(p_w), until, since)
        if cmds:
            await self.sender.send_commands(cmds)
            self.commands_sent += len(cmds)


def _command_id(dispatch_id: str, idx: int, der_id: str, seq: int) -> str:
    """Readable when it fits the id rules (64 chars), a digest of the same key otherwise."""
    text = f"{dispatch_id}-{idx}-{der_id}-{seq}"
    if len(text) <= 64:
        return text
    return f"cmd-{hashlib.sha256(text.encode()).hexdigest()[:40]}-{seq}"


def _reachable(der: Der, reading: Reading, within_s: float) -> Der:
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


def _plant_power(
    members: Sequence[Der], readings: Mapping[str, Reading], now: datetime
) -> tuple[float, bool]:
    """Measured plant power from fresh readings; ``False`` when none is fresh."""
    fresh = [readings[m.der_id] for m in members if is_fresh(readings.get(m.der_id), now)]
    return sum(r.p_w for r in fresh), bool(fresh)


def _shortfall(target: float, p_min: float, p_max: float) -> float:
    if target > p_max:
        return target - p_max
    if target < p_min:
        return target - p_min
    return 0.0
