"""The tracking rule: band, running figures, activation allowance."""

from __future__ import annotations

import math

import pytest

from vpp.domain.tracking import DEFAULT_RULE, TrackingRule, TrackingTally


def test_band_is_the_larger_of_relative_and_range_share() -> None:
    assert DEFAULT_RULE.band_w(74_500, 182_000) == pytest.approx(3725.0)
    assert DEFAULT_RULE.band_w(-7_600, 182_000) == pytest.approx(3640.0)  # 2 % of range
    assert DEFAULT_RULE.band_w(0.0, 0.0) == 1.0


def test_tally_counts_only_judged_samples_in_the_share() -> None:
    rule = TrackingRule(activation_s=20.0)
    tally = TrackingTally()
    errors = [(0.0, 5000.0), (4.0, 3000.0), (8.0, 100.0), (20.0, 50.0), (24.0, -400.0)]
    for t, e in errors:
        tally = tally.add(t, e, band_w=300.0, rule=rule)
    assert tally.samples == 5
    assert tally.judged == 2 and tally.within == 1
    assert tally.share_within == 0.5
    assert tally.first_in_band_s == 8.0
    assert tally.worst_w == 5000.0
    assert tally.rms_w == pytest.approx(math.sqrt(sum(e * e for _, e in errors) / 5))
    assert not tally.held(TrackingRule(min_share=0.9))
    assert tally.held(TrackingRule(min_share=0.5))


def test_nothing_judged_is_held_and_has_no_share() -> None:
    tally = TrackingTally().add(1.0, 10_000.0, 100.0, DEFAULT_RULE)
    assert tally.share_within is None and tally.first_in_band_s is None
    assert tally.held(DEFAULT_RULE)
