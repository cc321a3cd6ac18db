"""The setpoint commands of one dispatch cycle: what to (re)send, how long it holds, its ids.

A setpoint is sent when it moved more than the deadband or its command is about to
expire.  Commands are short-lived on purpose: if the dispatcher dies, the devices fall
back by themselves.  Sequence numbers are microseconds of the dispatcher's clock, so they
grow across restarts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState, SentSetpoint
from vpp.application.ports import IntervalState
from vpp.domain.commands import SetpointCommand, seq_at
from vpp.domain.der import Der


def next_seq(now: datetime, last_seq: int) -> int:
    """Microseconds of ``now``, strictly after ``last_seq`` (dispatches of one cycle may
    share DERs)."""
    return max(seq_at(now), last_seq + 1)


def setpoint_commands(
    dispatch_id: str,
    iv: IntervalState,
    setpoints: Mapping[str, float],
    members: Sequence[Der],
    state: LoopState,
    settings: DispatcherSettings,
    *,
    now: datetime,
    hold_until: datetime,
    seq: int,
    epoch: int = 0,
) -> list[SetpointCommand]:
    """The commands for the setpoints that changed or are about to expire, with the
    leader's fencing ``epoch``; what was sent (and since when the device has that target)
    is noted in ``state.sent``."""
    remaining_s = (hold_until - now).total_seconds()
    by_id = {m.der_id: m for m in members}
    ttl = timedelta(seconds=min(settings.command_ttl_s, max(remaining_s, 1.0)))
    refresh_before = now + timedelta(seconds=2 * settings.cycle_s)
    cmds = []
    for der_id, p_w in setpoints.items():
        prev = state.sent.get(der_id)
        band = max(settings.deadband_w, settings.deadband * by_id[der_id].ratings.p_range_w)
        same = prev is not None and abs(prev.p_w - p_w) <= band
        close = prev is not None and abs(prev.p_w - p_w) <= settings.follow_tol_w(by_id[der_id])
        if prev and same and prev.valid_until > refresh_before:
            continue
        until = min(now + ttl, hold_until) if remaining_s > 1.0 else now + ttl
        cid = command_id(dispatch_id, iv.idx, der_id, seq)
        cmds.append(
            SetpointCommand(
                command_id=cid,
                der_id=der_id,
                gateway_id=by_id[der_id].gateway_id,
                seq=seq,
                p_w=float(p_w),
                valid_from=now,
                valid_until=until,
                dispatch_id=dispatch_id,
                epoch=epoch,
            )
        )
        # a small move is no new target; a command that lapsed starts the clock again
        since = prev.since if prev and close and prev.in_force(now) else now
        state.sent[der_id] = SentSetpoint(float(p_w), until, since, cid)
    return cmds


def hold_until(intervals: Sequence[IntervalState], iv: IntervalState) -> datetime:
    """Until when a setpoint of ``iv`` may hold: the end of the run of back-to-back
    intervals from ``iv`` on.  A command that lapsed at every interval's end would send the
    devices back to their default for the seconds until the next interval's first cycle
    (a CHP trips and stays off for minutes); the next interval's setpoints replace it
    within a cycle instead."""
    end = iv.end
    for nxt in intervals:
        if nxt.idx > iv.idx and nxt.start <= end:
            end = max(end, nxt.end)
    return end


def command_id(dispatch_id: str, idx: int, der_id: str, seq: int) -> str:
    """Readable when it fits the id rules (64 chars), a digest of the same key otherwise."""
    text = f"{dispatch_id}-{idx}-{der_id}-{seq}"
    if len(text) <= 64:
        return text
    return f"cmd-{hashlib.sha256(text.encode()).hexdigest()[:40]}-{seq}"
