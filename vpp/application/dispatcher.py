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

This module holds the cycle and the store writes; the steps live beside it:
:mod:`~vpp.application.dispatcher_follow` (settings, loop state, who follows, pins, the
integral term), :mod:`~vpp.application.dispatcher_delivery` (delivered energy, shortfall,
verdict, detail) and :mod:`~vpp.application.dispatcher_commands` (what is sent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from vpp.application.dispatcher_commands import next_seq, setpoint_commands
from vpp.application.dispatcher_delivery import (
    delivery_verdict,
    following_detail,
    integrate_delivery,
    record_shortfall,
    shortfall_w,
)
from vpp.application.dispatcher_follow import (
    DispatcherSettings,
    FollowState,
    correct_integral,
    plant_power,
    update_pins,
)
from vpp.application.ports import (
    KEEP,
    CommandSender,
    DispatcherStore,
    DispatchUpdate,
    IntervalState,
    IntervalUpdate,
    OpenDispatch,
)
from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchMode, DispatchStatus
from vpp.domain.flexibility import fleet_envelope
from vpp.domain.telemetry import Reading
from vpp.domain.units import energy_wh
from vpp.optimizer.fleet_allocation import allocate_fleet

log = logging.getLogger(__name__)


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
        self._loops: dict[str, FollowState] = {}
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
        loop = self._loops.setdefault(d.dispatch_id, FollowState())
        plant = self.store.plant(d.plant_id)
        if plant is None or not plant.members:
            failed = DispatchUpdate(
                status=DispatchStatus.FAILED, detail=f"plant {d.plant_id} has no members"
            )
            self.store.update_dispatch(d.dispatch_id, now, failed)
            return
        ders = self.store.ders(sorted(plant.members))
        readings = self.store.latest_readings(sorted(plant.members))
        members = [ders[m] for m in sorted(plant.members) if m in ders]
        measured, fresh = plant_power(members, readings, now)
        if d.status is DispatchStatus.ACCEPTED:
            self._plan(d, measured, now)
        current = next((iv for iv in d.intervals if iv.start <= now < iv.end), None)
        self._integrate(d, loop, measured if fresh else None, now)
        if now >= d.end:
            self._complete(d, loop, now)
            return
        if current is None or current.p_w_target is None:
            return  # before the first interval, or between intervals
        await self._follow(
            d,
            current,
            current.p_w_target,
            members,
            readings,
            loop,
            measured if fresh else None,
            now,
        )

    async def _follow(
        self,
        d: OpenDispatch,
        current: IntervalState,
        target_w: float,
        members: Sequence[Der],
        readings: Mapping[str, Reading],
        loop: FollowState,
        measured: float | None,
        now: datetime,
    ) -> None:
        """Inside interval ``current``: allocate its target among the members that follow,
        send the setpoints that changed, and record what the plant does."""
        loop.enter_interval(current.idx)
        remaining_s = (current.end - now).total_seconds()
        followers, settled = update_pins(members, readings, loop, self.settings, now)
        held_w = sum(readings[m].p_w for m in loop.pinned if m in readings)
        env = fleet_envelope(members, readings, now)
        loop.span_w = max(0.0, env.total.p_max_w - env.total.p_min_w)
        if measured is not None and settled:
            range_w = env.total.p_max_w - env.total.p_min_w
            correct_integral(loop, followers, readings, range_w, self.settings.gain)
        alloc = allocate_fleet(followers, readings, now, target_w - held_w + loop.integral_w)
        loop.had_members = loop.had_members or bool(alloc.setpoints_w)
        shortfall = shortfall_w(target_w, env.total.p_min_w, env.total.p_max_w)
        record_shortfall(loop, current, shortfall, now)
        await self._send(d, current, alloc.setpoints_w, members, loop, now, remaining_s)
        planned = IntervalUpdate(p_w_planned=alloc.total_w, p_w_measured_last=measured)
        self.store.update_interval(d.dispatch_id, current.idx, planned)
        update = DispatchUpdate(
            status=DispatchStatus.ACTIVE if d.status is not DispatchStatus.ACTIVE else KEEP,
            detail=following_detail(alloc, len(members), loop.pinned, shortfall),
            shortfall_w=abs(shortfall),
        )
        self.store.update_dispatch(d.dispatch_id, now, update)

    def _plan(self, d: OpenDispatch, measured: float, now: datetime) -> None:
        baseline = measured if d.mode is DispatchMode.RELATIVE else None
        for iv in d.intervals:
            iv.p_w_target = iv.p_w_requested + (baseline or 0.0)
            target = IntervalUpdate(
                p_w_target=iv.p_w_target,
                energy_wh_target=energy_wh(iv.p_w_target, iv.duration_s),
            )
            self.store.update_interval(d.dispatch_id, iv.idx, target)
        d.baseline_w = baseline
        d.status = DispatchStatus.PLANNED
        self.store.update_dispatch(
            d.dispatch_id, now, DispatchUpdate(status=DispatchStatus.PLANNED, baseline_w=baseline)
        )

    def _integrate(
        self, d: OpenDispatch, loop: FollowState, measured: float | None, now: datetime
    ) -> None:
        """Delivered energy: measured plant power held since the last cycle, per interval."""
        for iv in integrate_delivery(d.intervals, loop, measured, now):
            done = IntervalUpdate(energy_wh_delivered=iv.energy_wh_delivered)
            self.store.update_interval(d.dispatch_id, iv.idx, done)

    def _complete(self, d: OpenDispatch, loop: FollowState, now: datetime) -> None:
        status, detail = delivery_verdict(d.intervals, loop, self.settings)
        self.store.update_dispatch(d.dispatch_id, now, DispatchUpdate(status=status, detail=detail))

    async def _send(
        self,
        d: OpenDispatch,
        iv: IntervalState,
        setpoints: Mapping[str, float],
        members: Sequence[Der],
        loop: FollowState,
        now: datetime,
        remaining_s: float,
    ) -> None:
        self._last_seq = seq = next_seq(now, self._last_seq)
        cmds = setpoint_commands(
            d.dispatch_id,
            iv,
            setpoints,
            members,
            loop,
            self.settings,
            now=now,
            remaining_s=remaining_s,
            seq=seq,
        )
        if cmds:
            await self.sender.send_commands(cmds)
            self.commands_sent += len(cmds)
