"""The dispatcher's cycle: every open dispatch, every 4 s, one saved step each.

For each open dispatch (the steps live beside this module):

* its loop state comes from memory or, after a restart, from the store
  (:mod:`~.state`); a gap since its last cycle is filled from the members' telemetry
  (:mod:`~.recovery`);
* ``accepted`` → targets fixed → ``planned`` (:mod:`~.lifecycle`);
* inside an interval: the acks of the setpoints in force are taken into account
  (:mod:`~.feedback`), members that dropped out or do not follow are held
  (:mod:`~.follow`), the target is allocated among the rest with the optimizer, the
  plant's measured power is integrated and sampled for the tracking figures
  (:mod:`~.delivery`), and the setpoints that changed are sent (:mod:`~.emission`);
* after the last interval → ``completed`` or ``failed`` by energy *and* tracking.

Each dispatch's step ends with one transaction holding its figures and its loop state.
With a :class:`~vpp.application.ports.Fence` (several dispatchers, one leader), every step
starts only while this instance holds the lease, every send batch is confirmed against
the lease first and its commands carry the leader's epoch; a lost lease ends the cycle at
once (:class:`~.leadership.NotLeading`), with nothing more sent or saved (each step's
save is confirmed against the lease too).
``cancelled`` dispatches are left alone: their commands expire within ``command_ttl_s``
and the gateways return devices to default.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from vpp.application.dispatcher import feedback, planning, recovery
from vpp.application.dispatcher.delivery import (
    following_detail,
    integrate_delivery,
    record_sample,
    record_shortfall,
    shortfall_w,
)
from vpp.application.dispatcher.emission import hold_until, next_seq, setpoint_commands
from vpp.application.dispatcher.follow import correct_integral, plant_power, update_pins
from vpp.application.dispatcher.leadership import NotLeading
from vpp.application.dispatcher.lifecycle import advance, fail, plan_targets, settle
from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.application.ports import (
    KEEP,
    CommandSender,
    DispatcherMetrics,
    DispatcherStore,
    DispatchUpdate,
    Fence,
    IntervalState,
    IntervalUpdate,
    OpenDispatch,
)
from vpp.domain.der import Der, DerKind
from vpp.domain.dispatch import DispatchStatus
from vpp.domain.flexibility import fleet_envelope
from vpp.domain.telemetry import Reading
from vpp.domain.units import energy_wh
from vpp.runtime.logs import log_fields

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        store: DispatcherStore,
        sender: CommandSender,
        settings: DispatcherSettings | None = None,
        *,
        fence: Fence | None = None,
        metrics: DispatcherMetrics | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.settings = settings or DispatcherSettings()
        self.fence = fence  # None: the only dispatcher (epoch 0)
        self.metrics = metrics
        self._loops: dict[str, LoopState] = {}
        self._plans: dict[str, planning.DispatchPlan] = {}
        self._last_seq = 0
        self.commands_sent = 0

    async def cycle(self, now: datetime) -> None:
        """One pass over every open dispatch; errors of one dispatch don't stop the others."""
        open_ = self.store.open_dispatches()
        # a dispatch just accepted goes first: its first setpoints are what an operator waits for
        for d in sorted(open_, key=lambda d: d.status is not DispatchStatus.ACCEPTED):
            if self.fence is not None and not self.fence.holds():
                raise NotLeading(f"lease lost before dispatch {d.dispatch_id}")
            try:
                await self._one(d, now)
            except NotLeading:
                raise
            except Exception as exc:
                log.exception("dispatch %s: cycle failed", d.dispatch_id, extra=log_fields(d))
                self._loops.pop(d.dispatch_id, None)  # start again from what was saved
                self.store.update_dispatch(
                    d.dispatch_id, now, DispatchUpdate(detail=f"cycle error: {exc}")
                )
        for gone in set(self._loops) - {d.dispatch_id for d in open_}:
            del self._loops[gone]
            self._plans.pop(gone, None)
        if self.metrics is not None:
            self.metrics.keep_dispatches(d.dispatch_id for d in open_)

    def forget(self) -> None:
        """Drop what is held in memory: the next cycle starts from the store (a leader
        that regains the lease continues from what its successor saved)."""
        self._loops.clear()
        self._plans.clear()

    def _loop_of(self, d: OpenDispatch) -> LoopState:
        loop = self._loops.get(d.dispatch_id)
        if loop is None:
            saved = self.store.loop_state(d.dispatch_id)
            loop = LoopState.from_json(saved) if saved is not None else LoopState()
            self._loops[d.dispatch_id] = loop
        return loop

    async def _one(self, d: OpenDispatch, now: datetime) -> None:
        loop = self._loop_of(d)
        plant = self.store.plant(d.plant_id)
        if plant is None or not plant.members:
            update = fail(d, f"plant {d.plant_id} has no members")
            await self._save(d, now, update, {}, loop)
            return
        ids = sorted(plant.members)
        ders = self.store.ders(ids)
        readings = self.store.latest_readings(ids)
        members = [ders[m] for m in ids if m in ders]
        touched: set[int] = set()
        notes = self._recover(d, loop, ids, now, touched)
        measured, fresh = plant_power(members, readings, now)
        status = DispatchUpdate()
        if d.status is DispatchStatus.ACCEPTED:
            status = plan_targets(d, measured)
            touched |= {iv.idx for iv in d.intervals}
        live = measured if fresh else None
        touched |= {iv.idx for iv in integrate_delivery(d.intervals, loop, live, now)}
        updates = {iv.idx: progress(iv) for iv in d.intervals if iv.idx in touched}
        if now >= d.end:
            update = settle(d, loop, self.settings, notes)
            await self._save(d, now, update, updates, loop)
            return
        current = next((iv for iv in d.intervals if iv.start <= now < iv.end), None)
        if current is None and d.status is not DispatchStatus.ACCEPTED:
            prepared = await self._prepare(d, members, readings, loop, live, now)
            if prepared is not None:
                status = _merge(status, DispatchUpdate(detail=prepared))
        if current is not None and current.p_w_target is not None:
            followed, planned_w = await self._follow(d, current, members, readings, loop, live, now)
            if notes and isinstance(followed.detail, str):
                followed = replace(followed, detail="; ".join([*notes, followed.detail]))
            status = _merge(status, followed)
            updates[current.idx] = progress(current, p_w_planned=planned_w, p_w_measured_last=live)
        await self._save(d, now, status, updates, loop)

    async def _save(
        self,
        d: OpenDispatch,
        now: datetime,
        update: DispatchUpdate,
        intervals: Mapping[int, IntervalUpdate],
        loop: LoopState,
    ) -> None:
        """The step's one transaction, only while the lease is still this leader's."""
        if self.fence is not None and not await self.fence.confirm():
            raise NotLeading(f"lease lost before saving dispatch {d.dispatch_id}")
        self.store.save_cycle(d.dispatch_id, now, update, intervals, loop.to_json())

    def _recover(
        self, d: OpenDispatch, loop: LoopState, ids: Sequence[str], now: datetime, touched: set[int]
    ) -> list[str]:
        """Fill a gap since the last cycle from the members' telemetry."""
        if loop.last_cycle is None or not recovery.has_gap(loop, self.settings, now):
            return []
        until = min(now, d.end)
        history = self.store.power_history(ids, loop.last_cycle, until)
        changed, seconds = recovery.backfill(d.intervals, loop, history, self.settings, until)
        loop.last_cycle = now
        touched |= changed
        log.info(
            "dispatch %s: %.0f s recovered from telemetry",
            d.dispatch_id,
            seconds,
            extra=log_fields(d),
        )
        return [f"dispatcher away for {seconds:.0f} s: delivery recovered from telemetry"]

    async def _follow(
        self,
        d: OpenDispatch,
        current: IntervalState,
        members: Sequence[Der],
        readings: Mapping[str, Reading],
        loop: LoopState,
        measured: float | None,
        now: datetime,
    ) -> tuple[DispatchUpdate, float]:
        """Inside interval ``current``: allocate its target among the members that follow,
        send the setpoints that changed, and sample what the plant does."""
        assert current.p_w_target is not None
        target_w = current.p_w_target
        loop.enter_interval(current.idx)
        acks = self.store.acks_for(feedback.in_force_commands(loop, now))
        answered = feedback.take_acks(loop, acks, now)
        unhealthy = self.store.unhealthy([m.der_id for m in members])
        usable, dropped = feedback.available_members(
            members, readings, unhealthy, self.settings, now
        )
        followers, limits, _settled = update_pins(usable, readings, loop, self.settings, now)
        resting = feedback.resting_chps(loop, usable, readings, now)
        limits |= dict.fromkeys(resting, (0.0, 0.0))
        held = set(loop.pinned) | set(dropped)
        held_w = sum(readings[m].p_w for m in held if m in readings)
        counted = [m for m in usable if m.der_id not in resting]
        shortfall, range_w = _state_shortfall(current, counted, dropped, readings, loop, now)
        if measured is not None and not loop.saturated:
            correct_integral(loop, followers, readings, range_w, self.settings, now)
        plan = await self._plan(d, usable, readings, frozenset(held), held_w, measured, now)
        wanted = target_w - held_w + loop.integral_w
        alloc = planning.track(plan, followers, readings, limits, wanted, now)
        loop.had_members = loop.had_members or bool(alloc.setpoints_w)
        loop.saturated = alloc.binding is not None
        if measured is not None:
            reference = target_w - shortfall
            record_sample(current, measured, reference, loop.span_w, self.settings, now)
            if self.metrics is not None:
                share = current.tally.share_within
                self.metrics.set_tracking(d.dispatch_id, measured - target_w, share)
        await self._send(d, current, alloc.setpoints_w, members, loop, now)
        detail = following_detail(alloc, len(members), loop.pinned, shortfall)
        if plan is not None:
            detail += "; " + plan.describe()
        extra = answered.notes() + ([f"dropped out: {', '.join(dropped)}"] if dropped else [])
        update = DispatchUpdate(
            status=advance(d, DispatchStatus.ACTIVE),
            detail="; ".join([detail, *extra]),
            shortfall_w=abs(shortfall),
        )
        return update, alloc.total_w

    async def _prepare(
        self,
        d: OpenDispatch,
        members: Sequence[Der],
        readings: Mapping[str, Reading],
        loop: LoopState,
        measured: float | None,
        now: datetime,
    ) -> str | None:
        """Before an interval (at most ``prepare_s`` ahead): send the members the plan
        moves ahead of it — a CHP that must ramp up first, storage that must charge
        first — their planned power; the others are left as they are."""
        nxt = next((iv for iv in d.intervals if iv.start > now), None)
        if nxt is None or (nxt.start - now).total_seconds() > self.settings.prepare_s:
            return None
        unhealthy = self.store.unhealthy([m.der_id for m in members])
        usable, dropped = feedback.available_members(
            members, readings, unhealthy, self.settings, now
        )
        held_w = sum(readings[m].p_w for m in dropped if m in readings)
        plan = await self._plan(d, usable, readings, frozenset(dropped), held_w, measured, now)
        if plan is None:
            return None
        tolerance = {m.der_id: self.settings.follow_tol_w(m) for m in usable}
        moves = planning.preparations(plan, usable, readings, tolerance, now)
        if not moves:
            return f"waiting for interval {nxt.idx}; {plan.describe()}"
        await self._send(d, nxt, moves, members, loop, now)
        ahead = ", ".join(f"{k} to {v / 1000:.1f} kW" for k, v in sorted(moves.items()))
        return f"preparing interval {nxt.idx}: {ahead}; {plan.describe()}"

    async def _plan(
        self,
        d: OpenDispatch,
        usable: Sequence[Der],
        readings: Mapping[str, Reading],
        excluded: frozenset[str],
        held_w: float,
        measured: float | None,
        now: datetime,
    ) -> planning.DispatchPlan | None:
        """The dispatch's horizon plan, made again every ``replan_s`` (rolling), around the
        members held or dropped out then."""
        if not self.settings.plan_ahead:
            return None
        plan = self._plans.get(d.dispatch_id)
        if not planning.due(plan, self.settings.replan_s, now):
            return plan
        base = measured if measured is not None else 0.0
        chps = {m.der_id: m.ratings.min_off_s for m in usable if m.kind is DerKind.CHP}
        resting = self._loops[d.dispatch_id].resting(chps, now)
        try:
            plan = await asyncio.to_thread(
                planning.make_plan, d, usable, readings, excluded, held_w, base, now, resting
            )
        except Exception:
            log.exception(
                "dispatch %s: planning failed; merit order this cycle",
                d.dispatch_id,
                extra=log_fields(d),
            )
            return None
        self._plans[d.dispatch_id] = plan
        self._loops[d.dispatch_id].planned_at = now
        return plan

    async def _send(
        self,
        d: OpenDispatch,
        iv: IntervalState,
        setpoints: Mapping[str, float],
        members: Sequence[Der],
        loop: LoopState,
        now: datetime,
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
            hold_until=hold_until(d.intervals, iv),
            seq=seq,
            epoch=self.fence.epoch if self.fence is not None else 0,
        )
        if not cmds:
            return
        if self.fence is not None and not await self.fence.confirm():
            raise NotLeading(f"lease lost before sending for dispatch {d.dispatch_id}")
        await self.sender.send_commands(cmds)
        self.commands_sent += len(cmds)
        if self.metrics is not None:
            self.metrics.count_commands(len(cmds))
        log.info(
            "dispatch %s interval %d: %d commands sent",
            d.dispatch_id,
            iv.idx,
            len(cmds),
            extra=log_fields(d, seq=seq),
        )
        for c in cmds:
            log.debug("command %s: %.0f W", c.command_id, c.p_w, extra=log_fields(c))


def _state_shortfall(
    iv: IntervalState,
    counted: Sequence[Der],
    dropped: Sequence[str],
    readings: Mapping[str, Reading],
    loop: LoopState,
    now: datetime,
) -> tuple[float, float]:
    """What the plant cannot reach of ``iv``'s target now — the envelope of the members it
    can count on, plus what the dropped ones measure — stated and made the reference;
    returns it and the plant's power range."""
    assert iv.p_w_target is not None
    env = fleet_envelope(counted, readings, now).total
    range_w = env.p_max_w - env.p_min_w
    loop.span_w = max(0.0, range_w)
    dropped_w = sum(readings[m].p_w for m in dropped if m in readings)
    shortfall = shortfall_w(iv.p_w_target, env.p_min_w + dropped_w, env.p_max_w + dropped_w)
    record_shortfall(loop, iv, shortfall, now)
    loop.reference_w = iv.p_w_target - shortfall
    return shortfall, range_w


def progress(iv: IntervalState, **extra: float | None) -> IntervalUpdate:
    """What the store keeps of an interval's progress (plus ``extra`` columns)."""
    target = iv.p_w_target
    return IntervalUpdate(
        p_w_target=KEEP if target is None else target,
        energy_wh_target=KEEP if target is None else energy_wh(target, iv.duration_s),
        energy_wh_delivered=iv.energy_wh_delivered,
        energy_wh_shortfall=iv.energy_wh_shortfall,
        tally=iv.tally,
        **extra,  # type: ignore[arg-type]
    )


def _merge(first: DispatchUpdate, then: DispatchUpdate) -> DispatchUpdate:
    """``then`` over ``first``: fields ``then`` keeps come from ``first``."""
    values = {f: getattr(then, f) for f in DispatchUpdate.__dataclass_fields__}
    for f, v in values.items():
        if v is KEEP:
            values[f] = getattr(first, f)
    return DispatchUpdate(**values)
