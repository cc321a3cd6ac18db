"""Ports of the dispatcher: the open dispatches and their progress, the fleet it reads,
and where its commands go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from vpp.domain.commands import SetpointCommand
from vpp.domain.der import Der
from vpp.domain.dispatch import DispatchMode, DispatchStatus
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading


@dataclass
class IntervalState:
    idx: int
    start: datetime
    duration_s: float
    p_w_requested: float
    p_w_target: float | None
    energy_wh_delivered: float

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
    p_w_measured_last: float | Keep | None = KEEP

    def values(self) -> dict[str, float | None]:
        """The columns this update sets."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not KEEP}


class DispatcherStore(Protocol):
    def open_dispatches(self) -> list[OpenDispatch]: ...

    def has_accepted(self) -> bool:
        """Whether a dispatch waits to be planned (checked often: keep it cheap)."""

    def plant(self, plant_id: str) -> Plant | None: ...

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]: ...

    def latest_readings(self, der_ids: Iterable[str] | None = None) -> dict[str, Reading]: ...

    def unhealthy(self, der_ids: Iterable[str]) -> frozenset[str]:
        """Those of ``der_ids`` whose gateway says they do not answer (``ders.healthy``
        false): plan around them.  A DER never stated unhealthy (or not registered) is
        not in the answer."""

    def update_dispatch(self, dispatch_id: str, now: datetime, update: DispatchUpdate) -> None:
        """Update an open dispatch; a cancellation that came in meanwhile is never undone."""

    def update_interval(self, dispatch_id: str, idx: int, update: IntervalUpdate) -> None: ...


class CommandSender(Protocol):
    async def send_commands(self, cmds: Sequence[SetpointCommand]) -> None: ...
