"""Single-interval dispatch of a registered fleet: Der + latest Reading -> one setpoint each.

This is what the dispatcher calls every few seconds: it turns each DER's current envelope
(:func:`vpp.domain.der_envelope`: power limits, availability from the latest reading, state
of charge, EV presence) into box limits and splits the plant target with :func:`allocate`.
DERs without a fresh reading are left out and listed in ``unavailable``.

CHP units cannot run between 0 and their minimum stable power.  The envelope is the convex
hull ``[0, max]``; a unit the allocation puts inside the forbidden band is rounded to 0 or
its minimum and the rest of the fleet re-allocated around it.  That repair is a heuristic
(at most one re-allocation), not a MILP: the horizon planner solves on/off exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from vpp.domain import Der, DerKind, Reading, der_envelope
from vpp.domain.flexibility import DEFAULT_MAX_AGE
from vpp.optimizer.allocation import Allocation, allocate
from vpp.optimizer.status import Binding, SolveStatus


@dataclass(frozen=True, slots=True)
class DerCost:
    """Cost of running a DER, as a rate: ``lin`` currency per Wh injected, ``quad``
    currency per W²·h of deviation from the power it runs at now (discomfort, wear)."""

    lin: float = 0.0
    quad: float = 0.0


#: Illustrative defaults (EUR): free PV, batteries pay wear, CHP burns gas, loads dislike
#: being moved from what they do now.  Operators pass their own.
DEFAULT_COSTS: Mapping[DerKind, DerCost] = {
    DerKind.PV: DerCost(lin=0.0),
    DerKind.BATTERY: DerCost(lin=20e-6, quad=1e-9),
    DerKind.EV_CHARGER: DerCost(lin=0.0, quad=4e-9),
    DerKind.CHP: DerCost(lin=90e-6),
    DerKind.HEAT_PUMP: DerCost(lin=0.0, quad=6e-9),
    DerKind.FLEXIBLE_LOAD: DerCost(lin=0.0, quad=8e-9),
}


@dataclass(frozen=True, slots=True)
class FleetAllocation:
    """Setpoints for the available DERs, the status, and who could not take part."""

    status: SolveStatus
    setpoints_w: Mapping[str, float]
    target_w: float
    marginal_cost: float
    objective: float
    unavailable: tuple[str, ...] = ()
    binding: Binding | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def total_w(self) -> float:
        return float(sum(self.setpoints_w.values()))


def allocate_fleet(
    ders: Sequence[Der],
    readings: Mapping[str, Reading],
    now: datetime,
    target_w: float,
    *,
    costs: Mapping[DerKind, DerCost] = DEFAULT_COSTS,
    cost_by_der: Mapping[str, DerCost] | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    sustain_s: float | None = None,
    p_ref_by_der: Mapping[str, float] | None = None,
    limits_by_der: Mapping[str, tuple[float, float]] | None = None,
) -> FleetAllocation:
    """Split ``target_w`` (plant injection, W) among the fleet at least cost, now.

    The quadratic costs are deviations from each DER's power now, or from
    ``p_ref_by_der`` where given (a plan the allocation should stay close to);
    ``limits_by_der`` narrows a DER's envelope (what its ramp reaches in the next
    seconds, what it was seen to take)."""
    members: list[Der] = []
    lo: list[float] = []
    hi: list[float] = []
    ref: list[float] = []
    unavailable: list[str] = []
    for der in ders:
        env = der_envelope(der, readings.get(der.der_id), now, max_age=max_age, sustain_s=sustain_s)
        if env is None:
            unavailable.append(der.der_id)
            continue
        members.append(der)
        lim = (limits_by_der or {}).get(der.der_id)
        lo_i, hi_i = env.p_min_w, env.p_max_w
        if lim is not None:
            lo_i = min(max(lo_i, lim[0]), hi_i)
            hi_i = max(min(hi_i, lim[1]), lo_i)
        lo.append(lo_i)
        hi.append(hi_i)
        wanted = (p_ref_by_der or {}).get(der.der_id, env.p_now_w)
        ref.append(env.clamp(wanted))
    by_der = cost_by_der or {}
    picked = [by_der.get(d.der_id) or costs.get(d.kind, DerCost()) for d in members]
    c = np.array([x.lin for x in picked], dtype=np.float64)
    a = np.array([x.quad for x in picked], dtype=np.float64)
    lo_a, hi_a, ref_a = (np.array(v, dtype=np.float64) for v in (lo, hi, ref))
    result = allocate(lo_a, hi_a, target_w, cost_lin=c, cost_quad=a, p_ref_w=ref_a)
    notes: list[str] = []
    result = _repair_min_stable(members, result, lo_a, hi_a, c, a, ref_a, notes)
    ids = [d.der_id for d in members]
    return FleetAllocation(
        status=result.status,
        setpoints_w=dict(zip(ids, (float(p) for p in result.p_w), strict=True)),
        target_w=target_w,
        marginal_cost=result.marginal_cost,
        objective=result.objective,
        unavailable=tuple(unavailable),
        binding=result.binding,
        notes=tuple(notes),
    )


def _repair_min_stable(
    members: Sequence[Der],
    result: Allocation,
    lo: np.ndarray,
    hi: np.ndarray,
    c: np.ndarray,
    a: np.ndarray,
    ref: np.ndarray,
    notes: list[str],
) -> Allocation:
    """Round units inside their forbidden band ``(0, min_stable)`` and re-allocate once."""
    min_stable = np.array(
        [d.ratings.min_stable_w if d.kind is DerKind.CHP else 0.0 for d in members]
    )
    p = result.p_w
    bad = (min_stable > 0) & (p > 1e-6) & (p < min_stable - 1e-6)
    if not bad.any() or not result.status.has_plan:
        return result
    rounded = np.where(p >= 0.5 * min_stable, np.minimum(min_stable, hi), 0.0)
    lo2, hi2 = lo.copy(), hi.copy()
    lo2[bad] = hi2[bad] = rounded[bad]
    # units already at or above their minimum must stay there (not drift into the band)
    running = (min_stable > 0) & (p >= min_stable - 1e-6)
    lo2[running] = np.maximum(lo2[running], min_stable[running])
    notes.append(f"{int(bad.sum())} unit(s) rounded out of the band below minimum stable power")
    return allocate(lo2, hi2, result.target_w, cost_lin=c, cost_quad=a, p_ref_w=ref)
