"""Setpoint commands, their acknowledgements and the rules for applying them.

The rules live here, not in the gateway, so every place that decides about a command
decides the same way: known DER, a sequence not far ahead of its own ``valid_from``,
inside its validity window, sequence newer than the last applied, value within ratings —
clamped only with the clamp reported, never silently — and an epoch not older than the
highest the gateway has seen.

Every command carries the fencing epoch of the dispatcher that leads when it is sent (the
epoch grows with every change of leader, see docs/dispatch.md): a command of an older
epoch comes from a deposed leader and is refused as ``stale-epoch``.

A sequence number is microseconds of the sender's clock when the command becomes valid
(:func:`seq_at`).  One far ahead of its own ``valid_from`` would lock the DER out of
every real command until the clock caught up (``2**62`` µs is ~146,000 years), so it is
refused: :data:`SEQ_AHEAD_LIMIT_US`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vpp.domain.der import Der
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.units import require_aware, require_finite

#: how far a command's ``seq`` may run ahead of its own ``valid_from`` (µs): 60 s
SEQ_AHEAD_LIMIT_US = 60_000_000


def seq_at(t: datetime) -> int:
    """The sequence number of a command valid from ``t``: microseconds since the epoch."""
    return int(require_aware(t, "t").timestamp() * 1_000_000)


@dataclass(frozen=True, slots=True)
class SetpointCommand:
    """Active-power setpoint for one DER, valid over ``[valid_from, valid_until)``."""

    command_id: str
    der_id: str
    gateway_id: str
    seq: int
    p_w: float
    valid_from: datetime
    valid_until: datetime
    dispatch_id: str | None = None
    epoch: int = 0  # the sending dispatcher's fencing epoch (0: no leader election)

    def __post_init__(self) -> None:
        validate_id(self.command_id, "command_id")
        validate_id(self.der_id, "der_id")
        validate_id(self.gateway_id, "gateway_id")
        if self.dispatch_id is not None:
            validate_id(self.dispatch_id, "dispatch_id")
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or self.seq < 0:
            raise InvalidValue(f"seq must be a non-negative integer, got {self.seq!r}")
        if not isinstance(self.epoch, int) or isinstance(self.epoch, bool) or self.epoch < 0:
            raise InvalidValue(f"epoch must be a non-negative integer, got {self.epoch!r}")
        require_finite(self.p_w, "p_w")
        object.__setattr__(self, "valid_from", require_aware(self.valid_from, "valid_from"))
        object.__setattr__(self, "valid_until", require_aware(self.valid_until, "valid_until"))
        if self.valid_until <= self.valid_from:
            raise InvalidValue("valid_until must be after valid_from")


class AckOutcome(StrEnum):
    APPLIED = "applied"  # written to the device (``clamped`` says whether it was limited)
    REJECTED = "rejected"  # refused by the rules; never reached the device
    EXPIRED = "expired"  # arrived after its validity window
    FAILED = "failed"  # the device did not take it (timeout, exception, negative response)


@dataclass(frozen=True, slots=True)
class CommandAck:
    command_id: str
    der_id: str
    gateway_id: str
    seq: int
    outcome: AckOutcome
    ts: datetime
    p_w_requested: float
    p_w_applied: float | None = None
    clamped: bool = False
    reason: str = ""
    dispatch_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", require_aware(self.ts, "ack ts"))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a command: apply ``p_w`` (possibly clamped), or refuse it."""

    outcome: AckOutcome | None  # None means: apply
    p_w: float
    clamped: bool = False
    reason: str = ""

    @property
    def apply(self) -> bool:
        return self.outcome is None


#: the reason of a command refused for its epoch starts with this
STALE_EPOCH = "stale-epoch"


def is_stale(cmd: SetpointCommand, highest_epoch: int) -> bool:
    """Whether ``cmd`` comes from a deposed dispatcher: its epoch is older than the highest
    one seen (a newer leader has sent since)."""
    return cmd.epoch < highest_epoch


def decide(
    cmd: SetpointCommand,
    der: Der | None,
    last_seq: int | None,
    now: datetime,
    highest_epoch: int = 0,
) -> Decision:
    """Apply the command rules.  Pure: the caller supplies the clock and the state
    (``highest_epoch``: the highest fencing epoch seen so far)."""
    now = require_aware(now, "now")
    if is_stale(cmd, highest_epoch):
        return Decision(
            AckOutcome.REJECTED,
            cmd.p_w,
            reason=f"{STALE_EPOCH}: epoch {cmd.epoch} is older than {highest_epoch} "
            "(a deposed dispatcher's command)",
        )
    if der is None:
        return Decision(AckOutcome.REJECTED, cmd.p_w, reason=f"unknown DER {cmd.der_id}")
    if der.gateway_id != cmd.gateway_id:
        return Decision(
            AckOutcome.REJECTED,
            cmd.p_w,
            reason=f"DER {cmd.der_id} belongs to gateway {der.gateway_id}, not {cmd.gateway_id}",
        )
    ahead_us = cmd.seq - seq_at(cmd.valid_from)
    if ahead_us > SEQ_AHEAD_LIMIT_US:
        return Decision(
            AckOutcome.REJECTED,
            cmd.p_w,
            reason=f"sequence {cmd.seq} is {ahead_us / 1e6:.0f} s ahead of its valid_from "
            f"(limit {SEQ_AHEAD_LIMIT_US / 1e6:.0f} s)",
        )
    if now >= cmd.valid_until:
        return Decision(AckOutcome.EXPIRED, cmd.p_w, reason="validity window has passed")
    if last_seq is not None and cmd.seq <= last_seq:
        return Decision(
            AckOutcome.REJECTED,
            cmd.p_w,
            reason=f"sequence {cmd.seq} is not newer than last applied {last_seq}",
        )
    r = der.ratings
    p = min(r.p_max_w, max(r.p_min_w, cmd.p_w))
    if p != cmd.p_w:
        return Decision(
            None,
            p,
            clamped=True,
            reason=f"clamped from {cmd.p_w:g} W to ratings [{r.p_min_w:g}, {r.p_max_w:g}] W",
        )
    return Decision(None, p)
