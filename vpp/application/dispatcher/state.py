"""One dispatch's controller state, and its persisted form.

The state is saved with every cycle's figures (one transaction, see
:meth:`DispatcherStore.save_cycle`) so that a dispatcher restarted mid-dispatch continues
where it stopped — what was sent, who is held, the integral term, the ack cursor — and one
restarted after the end settles the dispatch on what it actually delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vpp.domain.errors import InvalidValue

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class SentSetpoint:
    """The setpoint a member was last sent: ``p_w`` in force until ``valid_until``; the
    device has had (about) this target since ``since`` (a small move keeps the clock)."""

    p_w: float
    valid_until: datetime
    since: datetime
    command_id: str

    def in_force(self, now: datetime) -> bool:
        return self.valid_until > now


@dataclass
class LoopState:
    """Closed-loop state of one dispatch."""

    integral_w: float = 0.0
    pinned: dict[str, datetime] = field(default_factory=dict)  # der -> held since
    sent: dict[str, SentSetpoint] = field(default_factory=dict)
    #: power limits learnt from acks for the current interval: der -> (lo, hi)
    caps: dict[str, tuple[float, float]] = field(default_factory=dict)
    span_w: float = 0.0  # the plant's power range, last seen
    reference_w: float | None = None  # what the plant was judged against, last cycle
    last_cycle: datetime | None = None
    last_shortfall_at: datetime | None = None
    last_idx: int | None = None
    had_members: bool = False
    saturated: bool = False  # the last allocation hit the followers' limits (no windup)
    acks_until: datetime | None = None  # acks up to here have been taken into account
    planned_at: datetime | None = None  # when the horizon plan was last made
    #: CHPs seen stopping (der -> when): they rest for their ``min_off_s`` before a restart
    chp_stopped: dict[str, datetime] = field(default_factory=dict)
    chp_running: set[str] = field(default_factory=set)  # CHPs last seen running
    #: members found off their setpoint and sent it again (held if still off after that)
    resent: set[str] = field(default_factory=set)

    def enter_interval(self, idx: int) -> None:
        """A new interval starts with no integral term, no member held, no learnt cap."""
        if self.last_idx != idx:
            self.integral_w, self.last_idx = 0.0, idx
            self.pinned, self.caps = {}, {}

    def watch_chps(self, chps: Mapping[str, bool], now: datetime) -> None:
        """Note which CHPs run (``chps``: der -> whether it injects) and when one stops."""
        for der_id, running in chps.items():
            if running:
                self.chp_running.add(der_id)
                self.chp_stopped.pop(der_id, None)
            elif der_id in self.chp_running:
                self.chp_running.discard(der_id)
                self.chp_stopped[der_id] = now

    def resting(self, ders: Mapping[str, float], now: datetime) -> dict[str, datetime]:
        """CHPs still in their minimum off time (``ders``: der -> ``min_off_s``), until when."""
        out = {}
        for der_id, since in self.chp_stopped.items():
            until = since + timedelta(seconds=ders.get(der_id, 0.0))
            if until > now:
                out[der_id] = until
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "integral_w": self.integral_w,
            "pinned": {d: _ts(t) for d, t in self.pinned.items()},
            "sent": {
                d: [s.p_w, _ts(s.valid_until), _ts(s.since), s.command_id]
                for d, s in self.sent.items()
            },
            "caps": {d: list(c) for d, c in self.caps.items()},
            "span_w": self.span_w,
            "reference_w": self.reference_w,
            "last_cycle": _opt_ts(self.last_cycle),
            "last_shortfall_at": _opt_ts(self.last_shortfall_at),
            "last_idx": self.last_idx,
            "had_members": self.had_members,
            "saturated": self.saturated,
            "acks_until": _opt_ts(self.acks_until),
            "planned_at": _opt_ts(self.planned_at),
            "chp_stopped": {d: _ts(t) for d, t in self.chp_stopped.items()},
            "chp_running": sorted(self.chp_running),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoopState:
        if data.get("v") != STATE_VERSION:
            raise InvalidValue(f"dispatcher loop state version {data.get('v')!r} is not known")
        return cls(
            integral_w=float(data["integral_w"]),
            pinned={d: _parse(t) for d, t in data["pinned"].items()},
            sent={
                d: SentSetpoint(float(p), _parse(u), _parse(s), str(c))
                for d, (p, u, s, c) in data["sent"].items()
            },
            caps={d: (float(lo), float(hi)) for d, (lo, hi) in data["caps"].items()},
            span_w=float(data["span_w"]),
            reference_w=data["reference_w"],
            last_cycle=_opt_parse(data["last_cycle"]),
            last_shortfall_at=_opt_parse(data["last_shortfall_at"]),
            last_idx=data["last_idx"],
            had_members=bool(data["had_members"]),
            saturated=bool(data.get("saturated", False)),
            acks_until=_opt_parse(data["acks_until"]),
            planned_at=_opt_parse(data["planned_at"]),
            chp_stopped={d: _parse(t) for d, t in data.get("chp_stopped", {}).items()},
            chp_running=set(data.get("chp_running", [])),
        )


def _ts(t: datetime) -> str:
    return t.isoformat()


def _opt_ts(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _parse(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise InvalidValue(f"loop state time {text!r} has no offset")
    return t


def _opt_parse(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)
