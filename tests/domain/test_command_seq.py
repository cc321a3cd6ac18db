"""The sequence bound: a command's ``seq`` may not run more than
:data:`SEQ_AHEAD_LIMIT_US` ahead of its own ``valid_from`` clock (a forged ``2**62`` would
otherwise lock a DER out of every real command)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vpp.application.dispatcher.emission import next_seq
from vpp.domain import AckOutcome, Der, DerKind, DerRatings, SetpointCommand, decide
from vpp.domain.commands import SEQ_AHEAD_LIMIT_US, seq_at

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
BAT = Der("b1", DerKind.BATTERY, DerRatings(-3000, 3000, energy_wh=5000), "gw")


def cmd(seq: int, valid_from: datetime = NOW) -> SetpointCommand:
    return SetpointCommand(
        "c1", "b1", "gw", seq, 1000.0, valid_from, valid_from + timedelta(minutes=1)
    )


def test_seq_far_ahead_of_valid_from_is_rejected_with_the_reason() -> None:
    at = seq_at(NOW)
    assert decide(cmd(at), BAT, None, NOW).apply
    assert decide(cmd(at + SEQ_AHEAD_LIMIT_US), BAT, None, NOW).apply  # the limit itself
    ahead = decide(cmd(at + SEQ_AHEAD_LIMIT_US + 1), BAT, None, NOW)
    assert ahead.outcome is AckOutcome.REJECTED
    assert "ahead of its valid_from" in ahead.reason and "limit 60 s" in ahead.reason
    forged = decide(cmd(2**62), BAT, None, NOW)
    assert forged.outcome is AckOutcome.REJECTED and "ahead of its valid_from" in forged.reason
    # small sequences (behind the clock) are no problem: only far-ahead ones are refused
    assert decide(cmd(1), BAT, None, NOW).apply and decide(cmd(7), BAT, 6, NOW).apply


def test_seq_of_a_time_is_its_microseconds() -> None:
    assert seq_at(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000
    assert seq_at(NOW + timedelta(microseconds=1)) == seq_at(NOW) + 1


@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1)),
    offset=st.integers(min_value=-(2**40), max_value=SEQ_AHEAD_LIMIT_US),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=2**40)),
)
def test_seq_within_the_bound_is_never_refused_for_it(
    start: datetime, offset: int, last: int | None
) -> None:
    start = start.replace(tzinfo=UTC)
    seq = max(0, seq_at(start) + offset)
    d = decide(cmd(seq, start), BAT, last, start)
    assert "ahead of its valid_from" not in d.reason


@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1)),
    beyond=st.integers(min_value=1, max_value=2**62),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=2**63)),
)
def test_seq_beyond_the_bound_is_always_rejected(
    start: datetime, beyond: int, last: int | None
) -> None:
    start = start.replace(tzinfo=UTC)
    d = decide(cmd(seq_at(start) + SEQ_AHEAD_LIMIT_US + beyond, start), BAT, last, start)
    assert d.outcome is AckOutcome.REJECTED and "ahead of its valid_from" in d.reason


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1)),
    burst=st.integers(min_value=1, max_value=1000),
)
def test_the_dispatchers_sequences_are_within_the_bound(now: datetime, burst: int) -> None:
    """A cycle's dispatches sharing DERs step seq by one each: never near the limit."""
    now = now.replace(tzinfo=UTC)
    seq = 0
    for _ in range(burst):
        seq = next_seq(now, seq)
    assert decide(cmd(seq, now), BAT, None, now).apply
