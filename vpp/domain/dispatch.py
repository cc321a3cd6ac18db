"""Dispatch requests: what a grid operator asks of a plant, and their life cycle."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.units import require_aware, require_finite


class DispatchMode(StrEnum):
    ABSOLUTE = "absolute"  # the plant as a whole injects p_w
    RELATIVE = "relative"  # the plant changes by p_w against its baseline


class DispatchStatus(StrEnum):
    ACCEPTED = "accepted"
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (DispatchStatus.COMPLETED, DispatchStatus.FAILED, DispatchStatus.CANCELLED)


_NEXT: dict[DispatchStatus, frozenset[DispatchStatus]] = {
    DispatchStatus.ACCEPTED: frozenset(
        {DispatchStatus.PLANNED, DispatchStatus.FAILED, DispatchStatus.CANCELLED}
    ),
    DispatchStatus.PLANNED: frozenset(
        {DispatchStatus.ACTIVE, DispatchStatus.FAILED, DispatchStatus.CANCELLED}
    ),
    DispatchStatus.ACTIVE: frozenset(
        {DispatchStatus.COMPLETED, DispatchStatus.FAILED, DispatchStatus.CANCELLED}
    ),
}


def can_transition(current: DispatchStatus, new: DispatchStatus) -> bool:
    return new in _NEXT.get(current, frozenset())


@dataclass(frozen=True, slots=True)
class Interval:
    """Half-open ``[start, start + duration)`` with a target power."""

    start: datetime
    duration: timedelta
    p_w: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "interval start"))
        require_finite(self.p_w, "p_w")
        if self.duration <= timedelta(0):
            raise InvalidValue(f"interval duration must be positive, got {self.duration}")

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def covers(self, ts: datetime) -> bool:
        return self.start <= ts < self.end


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    dispatch_id: str
    plant_id: str
    tenant_id: str
    mode: DispatchMode
    intervals: tuple[Interval, ...]

    def __post_init__(self) -> None:
        validate_id(self.dispatch_id, "dispatch_id")
        validate_id(self.plant_id, "plant_id")
        validate_id(self.tenant_id, "tenant_id")
        object.__setattr__(self, "intervals", check_intervals(self.intervals))

    @property
    def start(self) -> datetime:
        return self.intervals[0].start

    @property
    def end(self) -> datetime:
        return self.intervals[-1].end

    def interval_at(self, ts: datetime) -> Interval | None:
        for iv in self.intervals:
            if iv.covers(ts):
                return iv
        return None


def check_intervals(intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    """Intervals must be non-empty, ordered and non-overlapping."""
    ivs = tuple(intervals)
    if not ivs:
        raise InvalidValue("a dispatch needs at least one interval")
    for a, b in itertools.pairwise(ivs):
        if b.start < a.end:
            raise InvalidValue(f"intervals overlap or are out of order at {b.start.isoformat()}")
    return ivs
