"""A setpoint holds through back-to-back intervals, never beyond the run it belongs to."""

from __future__ import annotations

from datetime import timedelta

from tests.harness.dispatching import T0
from vpp.application.dispatcher.emission import hold_until
from vpp.application.ports import IntervalState


def iv(idx: int, start_s: float, dur_s: float) -> IntervalState:
    return IntervalState(idx, T0 + timedelta(seconds=start_s), dur_s, 1000.0, 1000.0, 0.0)


def test_back_to_back_intervals_hold_to_the_end_of_the_run() -> None:
    ivs = [iv(0, 0, 60), iv(1, 60, 60), iv(2, 120, 60), iv(3, 300, 60)]
    assert hold_until(ivs, ivs[0]) == T0 + timedelta(seconds=180)  # through 1 and 2
    assert hold_until(ivs, ivs[2]) == T0 + timedelta(seconds=180)  # a gap follows
    assert hold_until(ivs, ivs[3]) == T0 + timedelta(seconds=360)  # the last one
