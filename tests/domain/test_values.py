"""Validation of domain values: ids, units, time, commands, dispatch intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpp.domain import (
    AckOutcome,
    Der,
    DerKind,
    DerRatings,
    DispatchMode,
    DispatchRequest,
    Interval,
    InvalidValue,
    Reading,
    SetpointCommand,
    decide,
)
from vpp.domain.dispatch import DispatchStatus, can_transition
from vpp.domain.ids import is_valid_id, validate_id
from vpp.domain.units import (
    format_duration,
    format_rfc3339,
    kw_to_w,
    parse_duration,
    parse_rfc3339,
    w_to_kw,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "a.b", "a*", ">", "x" * 65, "ü", "a b", None, 3])
def test_bad_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValue):
        validate_id(bad, "der_id")


@given(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
def test_good_ids_pass(good: str) -> None:
    assert is_valid_id(good) and validate_id(good) == good


@given(st.datetimes(timezones=st.just(UTC)))
def test_rfc3339_round_trip(ts: datetime) -> None:
    text = format_rfc3339(ts)
    assert text.endswith("Z") and parse_rfc3339(text) == ts


def test_rfc3339_needs_an_offset_and_normalises_to_utc() -> None:
    with pytest.raises(InvalidValue):
        parse_rfc3339("2026-11-26T12:00:00")
    plus_one = parse_rfc3339("2026-11-26T13:00:00+01:00")
    assert plus_one == NOW and plus_one.tzinfo == UTC
    assert datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))).utcoffset()


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT15M", 900), ("PT4S", 4), ("P1DT2H", 93600), ("PT0.5S", 0.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("bad", ["P", "PT", "15M", "P1Y", "P1M", "PT-5M", "", "P1W"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(InvalidValue):
        parse_duration(bad)


def test_units() -> None:
    assert kw_to_w(1.5) == 1500.0 and w_to_kw(-2500.0) == -2.5


def test_ratings_contradicting_the_kind_are_refused() -> None:
    with pytest.raises(InvalidValue):
        Der("pv1", DerKind.PV, DerRatings(-100, 1000), "gw")  # PV consuming
    with pytest.raises(InvalidValue):
        Der("hp1", DerKind.HEAT_PUMP, DerRatings(-100, 50), "gw")  # heat pump injecting
    with pytest.raises(InvalidValue):
        Der("b1", DerKind.BATTERY, DerRatings(-100, 100), "gw")  # no capacity
    with pytest.raises(InvalidValue):
        DerRatings(100, -100)
    with pytest.raises(InvalidValue):
        DerRatings(0, 100, eff_charge=1.5)


def test_reading_needs_aware_time_and_soc_fraction() -> None:
    with pytest.raises(InvalidValue):
        Reading("b", datetime(2026, 1, 1), 1.0)
    with pytest.raises(InvalidValue):
        Reading("b", NOW, 1.0, soc=1.2)
    with pytest.raises(InvalidValue):
        Reading("b", NOW, float("nan"))
    with pytest.raises(InvalidValue):
        Reading("hp", NOW, -1.0, temp_c=float("inf"))
    with pytest.raises(InvalidValue):
        Reading("load", NOW, -1.0, deadline=datetime(2026, 1, 1, 20))  # naive
    later = Reading("load", NOW, -1.0, deadline=NOW.astimezone(timezone(timedelta(hours=2))))
    assert later.deadline == NOW and later.deadline.tzinfo is UTC
    assert Reading.from_row(later.as_row()) == later


def test_device_health_is_validated() -> None:
    from vpp.domain import DeviceHealth

    with pytest.raises(InvalidValue):
        DeviceHealth("a b", NOW, True)
    with pytest.raises(InvalidValue):
        DeviceHealth("d", datetime(2026, 1, 1), False)
    with pytest.raises(InvalidValue):
        DeviceHealth("d", NOW, 1)  # type: ignore[arg-type]
    assert len(DeviceHealth("d", NOW, False, "why " * 400).reason) == 500


def _cmd(
    seq: int = 5, p_w: float = 1000.0, until: timedelta = timedelta(minutes=1)
) -> SetpointCommand:
    return SetpointCommand("c1", "b1", "gw", seq, p_w, NOW, NOW + until, "d1")


BAT = Der("b1", DerKind.BATTERY, DerRatings(-3000, 3000, energy_wh=5000), "gw")


def test_command_rules() -> None:
    assert decide(_cmd(), BAT, 4, NOW).apply
    assert decide(_cmd(), None, None, NOW).outcome is AckOutcome.REJECTED
    assert decide(_cmd(), BAT, 5, NOW).outcome is AckOutcome.REJECTED  # replay
    assert decide(_cmd(), BAT, None, NOW + timedelta(minutes=2)).outcome is AckOutcome.EXPIRED
    other_gw = Der("b1", DerKind.BATTERY, BAT.ratings, "gw-2")
    assert decide(_cmd(), other_gw, None, NOW).outcome is AckOutcome.REJECTED
    clamped = decide(_cmd(p_w=9000.0), BAT, None, NOW)
    assert (
        clamped.apply and clamped.clamped and clamped.p_w == 3000.0 and "clamped" in clamped.reason
    )
    with pytest.raises(InvalidValue):
        _cmd(until=timedelta(0))


def test_dispatch_intervals_and_status() -> None:
    iv = [
        Interval(NOW, timedelta(minutes=15), 1e6),
        Interval(NOW + timedelta(minutes=15), timedelta(minutes=15), 2e6),
    ]
    req = DispatchRequest("d1", "p1", "t1", DispatchMode.ABSOLUTE, tuple(iv))
    assert req.end == NOW + timedelta(minutes=30)
    assert req.interval_at(NOW + timedelta(minutes=20)) == iv[1]
    assert req.interval_at(req.end) is None  # half-open
    with pytest.raises(InvalidValue):
        DispatchRequest("d1", "p1", "t1", DispatchMode.ABSOLUTE, (iv[1], iv[0]))
    with pytest.raises(InvalidValue):
        DispatchRequest("d1", "p1", "t1", DispatchMode.ABSOLUTE, ())
    assert can_transition(DispatchStatus.ACCEPTED, DispatchStatus.PLANNED)
    assert not can_transition(DispatchStatus.COMPLETED, DispatchStatus.ACTIVE)
