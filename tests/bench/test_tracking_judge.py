"""The tracking benchmark's pure parts: its schedule and its judging of samples.

The benchmark itself (bench/tracking.py) needs a playground for minutes and is not run
here; what it computes from the samples is.
"""

from __future__ import annotations

import math

import pytest

from bench.tracking_judge import (
    GOAL_SHARE,
    RULE,
    judge_interval,
    member_follow,
    schedule,
    setpoint_at,
)


def test_schedule_steps_across_the_range_with_both_signs_and_a_hold() -> None:
    steps = schedule(-62.0, 120.0, 60.0, 180.0)
    assert [s.target_kw for s in steps] == [74.5, -7.4, 38.1, -43.8, 74.5]
    assert [s.offset_s for s in steps] == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert steps[-1].duration_s == 180.0
    assert any(s.target_kw < 0 for s in steps) and any(s.target_kw > 0 for s in steps)
    assert len(schedule(0.0, 10.0, 30.0, None)) == 4


def test_interval_is_judged_after_the_allowance_against_the_band() -> None:
    # range 182 kW: band = max(5 % of 74.5, 2 % of 182) = 3.725 kW
    samples = [(-2.0, 70.6)] + [(float(t), 60.0) for t in range(0, 20, 2)]
    samples += [(float(t), 75.0) for t in range(20, 50, 2)]  # 15 inside
    samples += [(float(t), 80.0) for t in range(50, 60, 2)]  # 5 outside
    samples += [(60.0, 0.0)]  # the next interval's: not this one's
    f = judge_interval(samples, 0.0, 60.0, 74.5, 182.0)
    assert f.band_kw == pytest.approx(3.725)
    assert f.samples == 30 and f.judged == 20
    assert f.share == pytest.approx(15 / 20)
    assert f.from_kw == 70.6
    assert f.time_to_band_s == 20.0
    assert f.worst_kw == pytest.approx(14.5)
    errors = [14.5] * 10 + [0.5] * 15 + [5.5] * 5
    assert f.rms_kw == pytest.approx(math.sqrt(sum(e * e for e in errors) / 30))
    assert f.verdict(battery_plant=False).startswith("missed")
    assert "10 s" in f.verdict(battery_plant=True)


def test_a_held_interval_and_one_without_samples() -> None:
    samples = [(float(t), 10.1) for t in range(0, 60, 2)]
    f = judge_interval(samples, 0.0, 60.0, 10.0, 50.0)
    assert f.share == 1.0 >= GOAL_SHARE and f.time_to_band_s == 0.0
    assert f.verdict(battery_plant=True) == "held"
    empty = judge_interval([], 0.0, 60.0, 10.0, 50.0)
    assert empty.share is None and empty.from_kw is None
    assert empty.verdict(battery_plant=False).startswith("FAILED")
    assert RULE.activation_s == 20.0


def test_member_follow_compares_with_the_setpoint_in_force_before() -> None:
    acks = [(0.0, 5.0), (30.0, None), (40.0, -5.0)]  # a refused command keeps the last one
    assert setpoint_at(acks, -1.0) is None
    assert setpoint_at(acks, 35.0) == 5.0 and setpoint_at(acks, 41.0) == -5.0
    readings = [(float(t), 5.0) for t in range(0, 60)]  # never leaves +5 kW
    f = member_follow("bat-1", readings, acks, 0.0, 60.0, tol_kw=0.5, settle_s=6.0)
    # t < 6: no setpoint in force yet; 6..45: +5 (followed); 46..59: -5 (10 kW off)
    assert f.measured_kw == 5.0
    assert f.share_off == pytest.approx(14 / 54)
    assert f.mean_abs_error_kw == pytest.approx(10.0 * 14 / 54)
    none = member_follow("pv-1", readings, [], 0.0, 60.0, tol_kw=0.5)
    assert none.setpoint_kw is None and none.share_off is None and none.measured_kw == 5.0
