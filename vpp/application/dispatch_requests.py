"""Dispatch requests from the operator: accept (idempotently), read, cancel.

The database is the interface to the dispatcher: a request accepted here is a
``dispatches`` row in status ``accepted`` with its ``dispatch_intervals``; the dispatcher
plans it, moves the status on and fills in targets, plan and delivery.  A request the
plant cannot meet with its envelope now is accepted with the shortfall stated (or refused
on request), never silently under-delivered.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn

from vpp.application.ports import (
    CommandCounts,
    DispatchRecord,
    DispatchStore,
    DuplicateIdempotencyKey,
    IntervalRecord,
    RegistryStore,
)
from vpp.application.use_case_errors import Conflict, NotFound, Refused
from vpp.domain.dispatch import DispatchMode, DispatchStatus, Interval, check_intervals
from vpp.domain.flexibility import DEFAULT_MAX_AGE, FleetEnvelope, fleet_envelope
from vpp.domain.units import format_rfc3339, w_to_kw
from vpp.runtime import utc_now

MAX_INTERVALS = 96 * 7
MAX_LEAD = timedelta(days=7)


class OnShortfall(StrEnum):
    ACCEPT = "accept"  # accept and state the shortfall
    REFUSE = "refuse"  # refuse with the shortfall as the reason


@dataclass(frozen=True, slots=True)
class DispatchInput:
    plant_id: str
    mode: DispatchMode
    intervals: Sequence[Interval]
    on_shortfall: OnShortfall = OnShortfall.ACCEPT

    def request_hash(self) -> str:
        """SHA-256 of the canonical request: same meaning, same hash."""
        canonical = {
            "plant_id": self.plant_id,
            "mode": self.mode.value,
            "on_shortfall": self.on_shortfall.value,
            "intervals": [
                [format_rfc3339(iv.start), iv.duration.total_seconds(), iv.p_w]
                for iv in self.intervals
            ],
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DispatchView:
    record: DispatchRecord
    intervals: list[IntervalRecord]
    commands: CommandCounts


@dataclass(frozen=True, slots=True)
class Submitted:
    view: DispatchView
    created: bool  # False: an earlier request with the same idempotency key


def _kw(p_w: float) -> str:
    return f"{w_to_kw(p_w):.3f} kW"


def shortfall_w(
    mode: DispatchMode, intervals: Sequence[Interval], env: FleetEnvelope
) -> tuple[float, int | None]:
    """Largest shortfall over the intervals against the envelope now, and where it is."""
    worst, where = 0.0, None
    t = env.total
    for i, iv in enumerate(intervals):
        if mode is DispatchMode.ABSOLUTE:
            short = max(iv.p_w - t.p_max_w, t.p_min_w - iv.p_w, 0.0)
        else:
            short = max(iv.p_w - t.up_w, 0.0) if iv.p_w >= 0 else max(-iv.p_w - t.down_w, 0.0)
        if short > worst + 1e-9:
            worst, where = short, i
    return worst, where


def shortfall_statement(
    mode: DispatchMode, intervals: Sequence[Interval], env: FleetEnvelope, n_members: int
) -> tuple[float, str | None]:
    worst, where = shortfall_w(mode, intervals, env)
    if where is None:
        return 0.0, None
    t = env.total
    iv = intervals[where]
    asked = f"{'a change of ' if mode is DispatchMode.RELATIVE else ''}{_kw(iv.p_w)}"
    unavailable = ""
    if env.unavailable:
        unavailable = f"; unavailable (no fresh reading): {list(env.unavailable)}"
    return worst, (
        f"shortfall: the plant can reach {_kw(t.p_min_w)} to {_kw(t.p_max_w)} now "
        f"(at {_kw(t.p_now_w)}, up {_kw(t.up_w)}, down {_kw(t.down_w)}; "
        f"{len(env.members)} of {n_members} members available{unavailable}); "
        f"interval {where} asks {asked}: short by up to {_kw(worst)}"
    )


class DispatchRequests:
    def __init__(
        self,
        dispatches: DispatchStore,
        registry: RegistryStore,
        *,
        now: Callable[[], datetime] = utc_now,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._dispatches = dispatches
        self._registry = registry
        self._now = now
        self._max_age = max_age

    def _view(self, record: DispatchRecord) -> DispatchView:
        return DispatchView(
            record,
            self._dispatches.intervals(record.dispatch_id),
            self._dispatches.command_counts(record.dispatch_id),
        )

    def _replay(self, tenant_id: str, key: str, request_hash: str) -> Submitted | None:
        earlier = self._dispatches.by_idempotency_key(tenant_id, key)
        if earlier is None:
            return None
        if earlier.request_hash != request_hash:
            raise Conflict(
                f"Idempotency-Key {key!r} was used for a different request "
                f"(dispatch {earlier.dispatch_id}); use a new key for a new request"
            )
        return Submitted(self._view(earlier), created=False)

    def check(self, req: DispatchInput, now: datetime) -> tuple[Interval, ...]:
        if len(req.intervals) > MAX_INTERVALS:
            raise Refused(f"at most {MAX_INTERVALS} intervals per dispatch")
        intervals = check_intervals(req.intervals)
        for i, iv in enumerate(intervals):
            if iv.end <= now:
                raise Refused(f"interval {i} ended at {format_rfc3339(iv.end)}, in the past")
        if intervals[0].start > now + MAX_LEAD:
            raise Refused(f"the first interval starts more than {MAX_LEAD.days} days ahead")
        return intervals

    def submit(self, tenant_id: str, req: DispatchInput, idempotency_key: str) -> Submitted:
        request_hash = req.request_hash()
        replay = self._replay(tenant_id, idempotency_key, request_hash)
        if replay is not None:
            return replay
        plant = self._registry.plant(req.plant_id)
        if plant is None or plant.plant_id != req.plant_id or plant.tenant_id != tenant_id:
            raise NotFound("plant", req.plant_id)
        if not plant.members:
            raise Refused(f"plant {plant.plant_id} has no members: nothing to dispatch")
        now = self._now()
        intervals = self.check(req, now)
        records = self._registry.der_records(plant.members)
        readings = self._registry.latest_readings(records.keys())
        ders = [records[d].der for d in sorted(records)]
        env = fleet_envelope(ders, readings, now, max_age=self._max_age)
        short, detail = shortfall_statement(req.mode, intervals, env, len(plant.members))
        if detail is not None and req.on_shortfall is OnShortfall.REFUSE:
            raise Refused(f"refused (on_shortfall=refuse): {detail}")
        record = DispatchRecord(
            dispatch_id=f"dsp-{secrets.token_hex(10)}",
            tenant_id=tenant_id,
            plant_id=plant.plant_id,
            mode=req.mode.value,
            status=DispatchStatus.ACCEPTED.value,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            start=intervals[0].start,
            end=intervals[-1].end,
            created_at=now,
            updated_at=now,
            detail=detail,
            shortfall_w=short,
        )
        rows = [
            IntervalRecord(i, iv.start, iv.duration.total_seconds(), iv.p_w)
            for i, iv in enumerate(intervals)
        ]
        try:
            overlapping = self._dispatches.insert(record, rows)
        except DuplicateIdempotencyKey:
            replay = self._replay(tenant_id, idempotency_key, request_hash)
            if replay is None:  # the other request's row vanished: report, do not guess
                raise Conflict(f"Idempotency-Key {idempotency_key!r} is in use") from None
            return replay
        if overlapping:
            replay = self._replay(tenant_id, idempotency_key, request_hash)
            if replay is not None:  # a retry of this very request won the race
                return replay
            _refuse_overlap(tenant_id, plant.plant_id, overlapping)
        return Submitted(self._view(record), created=True)

    def _tenant_dispatch(self, tenant_id: str, dispatch_id: str) -> DispatchRecord:
        record = self._dispatches.get(dispatch_id)
        if record is None or record.tenant_id != tenant_id:
            raise NotFound("dispatch", dispatch_id)
        return record

    def get(self, tenant_id: str, dispatch_id: str) -> DispatchView:
        return self._view(self._tenant_dispatch(tenant_id, dispatch_id))

    def cancel(self, tenant_id: str, dispatch_id: str) -> DispatchView:
        """Cancel unless final; the dispatcher sees ``cancelled`` and stops sending."""
        self._tenant_dispatch(tenant_id, dispatch_id)
        cancelled = self._dispatches.cancel(dispatch_id, self._now())
        current = self._tenant_dispatch(tenant_id, dispatch_id)
        if not cancelled:
            raise Conflict(
                f"dispatch {dispatch_id} is {current.status} (final): it cannot be cancelled"
            )
        return self._view(current)

    def list(self, tenant_id: str, *, plant_id: str | None, limit: int) -> list[DispatchRecord]:
        return self._dispatches.list_for_tenant(tenant_id, plant_id=plant_id, limit=limit)


def _refuse_overlap(
    tenant_id: str, plant_id: str, overlapping: list[tuple[DispatchRecord, int]]
) -> NoReturn:
    """One dispatch at a time per DER: two would fight over the same devices (each
    re-allocating what the other moved).  Another tenant's dispatch is not named."""
    other, n = overlapping[0]
    who = (
        f"dispatch {other.dispatch_id} (plant {other.plant_id}, {other.status})"
        if other.tenant_id == tenant_id
        else "a dispatch of another tenant"
    )
    raise Conflict(
        f"{n} of plant {plant_id}'s DERs are already dispatched by {who} until "
        f"{format_rfc3339(other.end)}; cancel it or start after it ends"
    )
