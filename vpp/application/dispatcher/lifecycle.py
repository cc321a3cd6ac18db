"""A dispatch's life cycle as the dispatcher drives it, through the domain's transitions.

``accepted`` → (targets fixed: relative mode takes the plant's measured power now as the
baseline) ``planned`` → (first setpoints inside an interval) ``active`` → ``completed`` or
``failed`` by the delivery verdict.  Every move is checked by
:func:`vpp.domain.dispatch.can_transition`; ``cancelled`` comes from the API and is never
undone (the store refuses to update a dispatch that is no longer open).
"""

from __future__ import annotations

from vpp.application.dispatcher.delivery import delivery_verdict
from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState
from vpp.application.ports import KEEP, DispatchUpdate, Keep, OpenDispatch
from vpp.domain.dispatch import DispatchMode, DispatchStatus, can_transition
from vpp.domain.errors import InvalidValue


class InvalidTransition(InvalidValue):
    """The dispatcher tried a move the domain does not allow (a bug, never data)."""


def advance(d: OpenDispatch, new: DispatchStatus) -> DispatchStatus | Keep:
    """Move ``d`` to ``new`` (``KEEP`` when it is there already)."""
    if d.status is new:
        return KEEP
    if not can_transition(d.status, new):
        raise InvalidTransition(f"dispatch {d.dispatch_id}: {d.status} -> {new} is not allowed")
    d.status = new
    return new


def plan_targets(d: OpenDispatch, measured_w: float) -> DispatchUpdate:
    """Fix every interval's absolute target (``accepted`` → ``planned``)."""
    baseline = measured_w if d.mode is DispatchMode.RELATIVE else None
    for iv in d.intervals:
        iv.p_w_target = iv.p_w_requested + (baseline or 0.0)
    d.baseline_w = baseline
    return DispatchUpdate(status=advance(d, DispatchStatus.PLANNED), baseline_w=baseline)


def settle(
    d: OpenDispatch, loop: LoopState, settings: DispatcherSettings, notes: list[str]
) -> DispatchUpdate:
    """After the last interval: the verdict on energy and tracking."""
    status, detail = delivery_verdict(d.intervals, loop, settings)
    if d.status is DispatchStatus.PLANNED and status is DispatchStatus.COMPLETED:
        advance(d, DispatchStatus.ACTIVE)  # it ran while the dispatcher was away
    return DispatchUpdate(status=advance(d, status), detail="; ".join([*notes, detail]))


def fail(d: OpenDispatch, why: str) -> DispatchUpdate:
    return DispatchUpdate(status=advance(d, DispatchStatus.FAILED), detail=why)
