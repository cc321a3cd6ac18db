"""What the gateways answered: acks of the setpoints in force, taken into account at once.

Each cycle the dispatcher reads the acks of the commands currently in force (one per
member at most) and, before allocating:

* a command ``rejected``, ``failed`` or ``expired`` means the member will not follow it:
  the member is held at what it measures from now on, and the plant re-allocated around
  it in this same cycle (it is tried again after ``retry_pinned_s``, as any held member);
* a command ``applied`` but ``clamped`` says the member takes less than it was sent: its
  range is narrowed to the applied value on that side for the rest of the interval, so
  the allocation stops counting on power it does not have.

Members that drop out otherwise — marked unhealthy by their gateway, or silent for longer
than ``stale_s`` — are left out of the allocation of the cycle that sees it.  A CHP seen
stopping rests for its ``min_off_s`` (it would not restart): it counts as 0 W until then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.domain.commands import AckOutcome, CommandAck
from vpp.domain.der import Der, DerKind
from vpp.domain.telemetry import Reading

REFUSED = (AckOutcome.REJECTED, AckOutcome.FAILED, AckOutcome.EXPIRED)


@dataclass(frozen=True, slots=True)
class AckFeedback:
    refused: tuple[str, ...] = ()  # members whose setpoint in force was refused
    clamped: tuple[str, ...] = ()  # members whose setpoint was clamped

    def notes(self) -> list[str]:
        out = []
        if self.refused:
            out.append(f"setpoint refused by the gateway: {', '.join(self.refused)}")
        if self.clamped:
            out.append(f"setpoint clamped by the gateway: {', '.join(self.clamped)}")
        return out


def in_force_commands(state: LoopState, now: datetime) -> list[str]:
    """The command ids of the setpoints in force (their acks are what counts now)."""
    return [s.command_id for s in state.sent.values() if s.in_force(now)]


def take_acks(state: LoopState, acks: Iterable[CommandAck], now: datetime) -> AckFeedback:
    """Hold members whose setpoint in force was refused; cap those that were clamped."""
    refused, clamped = [], []
    for ack in sorted(acks, key=lambda a: a.ts):
        sent = state.sent.get(ack.der_id)
        if sent is None or sent.command_id != ack.command_id:
            continue  # the ack of an older setpoint: superseded
        if ack.outcome in REFUSED:
            state.pinned.setdefault(ack.der_id, now)
            del state.sent[ack.der_id]
            refused.append(ack.der_id)
        elif ack.clamped and ack.p_w_applied is not None:
            lo, hi = state.caps.get(ack.der_id, (float("-inf"), float("inf")))
            if ack.p_w_applied < ack.p_w_requested:
                hi = min(hi, ack.p_w_applied)
            else:
                lo = max(lo, ack.p_w_applied)
            state.caps[ack.der_id] = (lo, hi)
            clamped.append(ack.der_id)
    return AckFeedback(tuple(sorted(refused)), tuple(sorted(clamped)))


def available_members(
    members: Sequence[Der],
    readings: Mapping[str, Reading],
    unhealthy: frozenset[str],
    settings: DispatcherSettings,
    now: datetime,
) -> tuple[list[Der], list[str]]:
    """The members the allocation may count on now, and those that dropped out."""
    stale = timedelta(seconds=settings.stale_s)
    ok, out = [], []
    for m in members:
        r = readings.get(m.der_id)
        if m.der_id in unhealthy or r is None or now - r.ts > stale:
            out.append(m.der_id)
        else:
            ok.append(m)
    return ok, out


def resting_chps(
    state: LoopState, members: Sequence[Der], readings: Mapping[str, Reading], now: datetime
) -> dict[str, datetime]:
    """CHPs that stopped during the dispatch and are still in their minimum off time (until
    when): they cannot restart, so they are planned and allocated at 0 W until then."""
    chps = [m for m in members if m.kind is DerKind.CHP and m.der_id in readings]
    running = {m.der_id: readings[m.der_id].p_w > 0.01 * m.ratings.p_max_w for m in chps}
    state.watch_chps(running, now)
    return state.resting({m.der_id: m.ratings.min_off_s for m in chps}, now)
