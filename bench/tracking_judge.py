"""The tracking benchmark's pure parts: the schedule of targets and the judging of samples.

No I/O and no clock: every function takes what was measured and returns figures, so the
test suite checks them (tests/bench/test_tracking_judge.py) without a playground.
Judging uses :mod:`vpp.domain.tracking` (band = max(5 % of the target, 2 % of the plant's
range), samples judged after the activation allowance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vpp.domain.tracking import TrackingRule, TrackingTally

RULE = TrackingRule(activation_s=20.0)  # the measure: share within band after 20 s
GOAL_SHARE = 0.95  # share within band after the allowance
GOAL_BAND_S = 10.0  # batteries: within band this soon after a step
STEP_FRACTIONS = (0.75, 0.3, 0.55, 0.1)  # of the plant's range, from p_min: both signs
HOLD_FRACTION = 0.75  # the 3-minute hold of the table (74.5 kW on −62 … +120 kW)


@dataclass(frozen=True, slots=True)
class Step:
    """One interval of the dispatch: its offset from the dispatch's start and target."""

    offset_s: float
    duration_s: float
    target_kw: float
    fraction: float


def schedule(p_min_kw: float, p_max_kw: float, step_s: float, hold_s: float | None) -> list[Step]:
    """Consecutive intervals of ``step_s`` at :data:`STEP_FRACTIONS` of the range from
    ``p_min_kw``, then (when ``hold_s``) a hold at :data:`HOLD_FRACTION`."""
    span = p_max_kw - p_min_kw
    parts = [(f, step_s) for f in STEP_FRACTIONS]
    if hold_s:
        parts.append((HOLD_FRACTION, hold_s))
    steps, offset = [], 0.0
    for f, d in parts:
        steps.append(Step(offset, d, round(p_min_kw + f * span, 1), f))
        offset += d
    return steps


@dataclass(frozen=True, slots=True)
class IntervalFigures:
    """How one interval tracked its target (kW, s; ``None``: nothing to judge)."""

    samples: int
    judged: int
    share: float | None
    rms_kw: float | None
    worst_kw: float | None
    time_to_band_s: float | None
    band_kw: float
    from_kw: float | None

    def verdict(self, battery_plant: bool) -> str:
        """``held`` when the share meets the goal (and, on batteries, the band is
        reached in time); ``no samples`` is a failure, never a pass."""
        if self.share is None:
            return "FAILED: no samples"
        misses = []
        if self.share < GOAL_SHARE:
            misses.append(f"share < {GOAL_SHARE:.0%}")
        if battery_plant and (self.time_to_band_s is None or self.time_to_band_s > GOAL_BAND_S):
            misses.append(f"band not reached in {GOAL_BAND_S:.0f} s")
        return "held" if not misses else "missed: " + ", ".join(misses)


def judge_interval(
    samples: Sequence[tuple[float, float]],
    start_s: float,
    duration_s: float,
    target_kw: float,
    range_kw: float,
    rule: TrackingRule = RULE,
) -> IntervalFigures:
    """Figures of the interval ``[start_s, start_s + duration_s)`` from ``samples``
    (time in s on the same axis, measured plant power in kW), in time order."""
    target_w, band_w = target_kw * 1000.0, rule.band_w(target_kw * 1000.0, range_kw * 1000.0)
    tally = TrackingTally()
    before = [p for t, p in samples if t < start_s]
    for t, p_kw in samples:
        if start_s <= t < start_s + duration_s:
            tally = tally.add(t - start_s, p_kw * 1000.0 - target_w, band_w, rule)
    rms = tally.rms_w
    return IntervalFigures(
        samples=tally.samples,
        judged=tally.judged,
        share=tally.share_within,
        rms_kw=None if rms is None else rms / 1000.0,
        worst_kw=tally.worst_w / 1000.0 if tally.samples else None,
        time_to_band_s=tally.first_in_band_s,
        band_kw=band_w / 1000.0,
        from_kw=before[-1] if before else None,
    )


def setpoint_at(acks: Sequence[tuple[float, float | None]], t: float) -> float | None:
    """The setpoint in force at ``t``: the last applied value acked at or before ``t``
    (``acks`` = (time, applied kW or None for a refused command), in time order)."""
    value = None
    for ts, applied in acks:
        if ts > t:
            break
        if applied is not None:
            value = applied
    return value


@dataclass(frozen=True, slots=True)
class MemberFollow:
    """How one member followed its setpoints over an interval (kW)."""

    der_id: str
    setpoint_kw: float | None  # mean of the setpoints in force (None: never commanded)
    measured_kw: float | None  # mean measured
    mean_abs_error_kw: float | None  # mean |measured − setpoint| where commanded
    share_off: float | None  # share of commanded samples off by more than ``tol_kw``


def member_follow(
    der_id: str,
    readings: Sequence[tuple[float, float]],
    acks: Sequence[tuple[float, float | None]],
    start_s: float,
    end_s: float,
    tol_kw: float,
    settle_s: float = 6.0,
) -> MemberFollow:
    """Compare a member's readings (time, kW) with the setpoints in force ``settle_s``
    earlier (a device gets a few seconds to reach a new setpoint)."""
    inside = [(t, p) for t, p in readings if start_s <= t < end_s]
    pairs = [(setpoint_at(acks, t - settle_s), p) for t, p in inside]
    commanded = [(s, p) for s, p in pairs if s is not None]
    errors = [abs(p - s) for s, p in commanded]
    return MemberFollow(
        der_id=der_id,
        setpoint_kw=_mean([s for s, _ in commanded]),
        measured_kw=_mean([p for _, p in inside]),
        mean_abs_error_kw=_mean(errors),
        share_off=(sum(e > tol_kw for e in errors) / len(errors)) if errors else None,
    )


def _mean(xs: Sequence[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None
