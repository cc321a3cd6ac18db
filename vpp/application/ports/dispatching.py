"""Ports of the dispatcher: the open dispatches and their progress, the fleet it reads,
and where its commands go."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchMode, DispatchStatus
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading
from vpp.domain.tracking import TrackingTally

#: a tally's fields -> the interval columns that persist them (one source for the names)
TALLY_COLUMNS: dict[str, str] = {
    "samples": "track_samples",
    "sq_error_sum": "track_sq_error_sum",
    "worst_w": "track_worst_w",
    "judged": "track_judged",
    "within": "track_within",
    "first_in_band_s": "track_first_in_band_s",
}


def tally_columns(tally: TrackingTally) -> dict[str, float | int | None]:
    return {col: getattr(tally, f) for f, col in TALLY_COLUMNS.items()}


def tally_from_columns(row: Any) -> TrackingTally:
    """The tally of an interval row (a mapping or an object with the columns as attributes)."""
    get = row.get if hasattr(row, "get") else lambda k: getattr(row, k)
    values = {f: get(col) for f, col in TALLY_COLUMNS.items()}
    for f in ("samples", "judged", "within"):
        values[f] = int(values[f] or 0)
    for f in ("sq_error_sum", "worst_w"):
        values[f] = float(values[f] or 0.0)
    return TrackingTally(**values)


@dataclass
class IntervalState:
    idx: int
    start: datetime
    duration_s: float
    p_w_requested: float
    p_w_target: float | None
    energy_wh_delivered: float
    energy_wh_shortfall: float = 0.0  # what the plant was stated to miss, so far
    tally: TrackingTally = field(default_factory=TrackingTally)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


@dataclass
class OpenDispatch:
    dispatch_id: str
    tenant_id: str
    plant_id: str
    mode: DispatchMode
    status: DispatchStatus
    baseline_w: float | None
    intervals: list[IntervalState]

    @property
    def end(self) -> datetime:
        return self.intervals[-1].end


class Keep(Enum):
    """A field of an update left as it is in the store (``None`` stores NULL)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class DispatchUpdate:
    """What the dispatcher sets on a dispatch; fields left at :data:`KEEP` stay as they are."""

    status: DispatchStatus | Keep = KEEP
    baseline_w: float | Keep | None = KEEP
    detail: str | Keep = KEEP
    shortfall_w: float | Keep = KEEP

    def values(self) -> dict[str, str | float | None]:
        """The columns this update sets (the status as its text)."""
        out: dict[str, str | float | None] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not KEEP:
                out[f.name] = v.value if isinstance(v, DispatchStatus) else v
        return out


@dataclass(frozen=True, slots=True)
class IntervalUpdate:
    """What the dispatcher sets on one interval; fields left at :data:`KEEP` stay as they
    are, ``None`` stores NULL (e.g. no fresh measurement this cycle)."""

    p_w_target: float | Keep = KEEP
    p_w_planned: float | Keep = KEEP
    energy_wh_target: float | Keep = KEEP
    energy_wh_delivered: float | Keep = KEEP
    energy_wh_shortfall: float | Keep = KEEP
    p_w_measured_last: float | Keep | None = KEEP
    tally: TrackingTally | Keep = KEEP

    def values(self) -> dict[str, float | int | None]:
        """The columns this update sets (a tally as its ``track_*`` columns)."""
        out: dict[str, float | int | None] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, TrackingTally):
                out.update(tally_columns(v))
            elif v is not KEEP:
                out[f.name] = v
        return out


class DispatcherStore(Protocol):
    def open_dispatches(self) -> list[OpenDispatch]: ...

    def has_accepted(self) -> bool:
        """Whether a dispatch waits to be planned (checked often: keep it cheap)."""

    def plant(self, plant_id: str) -> Plant | None: ...

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]: ...

    def latest_readings(self, der_ids: Iterable[str] | None = None) -> dict[str, Reading]: ...

    def update_dispatch(self, dispatch_id: str, now: datetime, update: DispatchUpdate) -> None:
        """Update an open dispatch; a cancellation that came in meanwhile is never undone."""

    def update_interval(self, dispatch_id: str, idx: int, update: IntervalUpdate) -> None: ...

    def unhealthy(self, der_ids: Iterable[str]) -> frozenset[str]:
        """Those of ``der_ids`` their gateway marked unhealthy (planned around)."""

    def save_cycle(
        self,
        dispatch_id: str,
        now: datetime,
        update: DispatchUpdate,
        intervals: Mapping[int, IntervalUpdate],
        loop_state: Mapping[str, Any],
    ) -> None:
        """One cycle's figures and the loop state, in one transaction (restart-safe); a
        cancellation that came in meanwhile is never undone."""

    def loop_state(self, dispatch_id: str) -> Mapping[str, Any] | None:
        """The loop state last saved for ``dispatch_id`` (``None``: never saved)."""

    def acks_for(self, command_ids: Iterable[str]) -> list[CommandAck]:
        """The acks received for these commands (none yet: not listed)."""

    def power_history(
        self, der_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        """Per DER, its usable readings ``(ts, p_w)`` in ``[start, end)`` in time order, plus
        the last one before ``start`` (what it held when the window opened)."""


class CommandSender(Protocol):
    async def send_commands(self, cmds: Sequence[SetpointCommand]) -> None: ...
