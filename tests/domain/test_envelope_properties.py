"""Invariants of flexibility envelopes (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpp.domain import Der, DerKind, DerRatings, Plant, Quality, Reading
from vpp.domain.flexibility import der_envelope, fleet_envelope

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
power = st.floats(min_value=100.0, max_value=1e6, allow_nan=False)
soc = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def der_and_reading(draw: st.DrawFn, idx: int = 0) -> tuple[Der, Reading]:
    kind = draw(st.sampled_from(list(DerKind)))
    p = draw(power)
    if kind is DerKind.PV:
        ratings = DerRatings(0.0, p)
        reading_p = draw(st.floats(0.0, p))
        extra = {"p_avail_w": draw(st.floats(reading_p, p))}
    elif kind is DerKind.CHP:
        ratings = DerRatings(0.0, p, min_stable_w=p / 3)
        reading_p = draw(st.sampled_from([0.0, p / 2]))
        extra = {}
    elif kind in (DerKind.BATTERY, DerKind.EV_CHARGER):
        p_max = p if kind is DerKind.BATTERY else 0.0
        ratings = DerRatings(-p, p_max, energy_wh=4 * p, soc_min=0.1, soc_max=0.9)
        reading_p = draw(st.floats(-p, p_max))
        extra = {"soc": draw(soc)}
        if kind is DerKind.EV_CHARGER:
            extra["connected"] = draw(st.booleans())
    else:
        ratings = DerRatings(-p, 0.0)
        reading_p = draw(st.floats(-p, 0.0))
        extra = {}
    der = Der(f"d{idx}-{draw(st.integers(0, 10**6))}", kind, ratings, gateway_id="gw")
    age = draw(st.floats(0.0, 200.0))
    reading = Reading(der.der_id, NOW - timedelta(seconds=age), reading_p, **extra)  # type: ignore[arg-type]
    return der, reading


@given(st.lists(der_and_reading(), min_size=1, max_size=25, unique_by=lambda x: x[0].der_id))
def test_plant_envelope_is_sum_of_members(pairs: list[tuple[Der, Reading]]) -> None:
    registry = {d.der_id: d for d, _ in pairs}
    readings = {r.der_id: r for _, r in pairs}
    plant = Plant("p", "t", frozenset(registry))
    fleet = plant.envelope(registry, readings, NOW)
    members = [der_envelope(d, readings[d.der_id], NOW) for d, _ in pairs]
    assert fleet.total.p_min_w == pytest.approx(sum(m.p_min_w for m in members if m))
    assert fleet.total.p_max_w == pytest.approx(sum(m.p_max_w for m in members if m))
    assert fleet.total.p_min_w <= fleet.total.p_max_w
    assert not fleet.unavailable  # all readings are fresh


@given(der_and_reading())
def test_envelope_within_ratings_and_signs_follow_convention(pair: tuple[Der, Reading]) -> None:
    der, reading = pair
    env = der_envelope(der, reading, NOW)
    assert env is not None
    r = der.ratings
    assert r.p_min_w - 1e-9 <= env.p_min_w <= env.p_max_w <= r.p_max_w + 1e-9
    if der.kind in (DerKind.PV, DerKind.CHP):
        assert env.p_min_w >= 0  # generators never consume
    if der.kind in (DerKind.EV_CHARGER, DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD):
        assert env.p_max_w <= 0  # loads never inject
    if der.kind is DerKind.PV:
        assert env.p_max_w <= reading.p_avail_w + 1e-9  # type: ignore[operator]


@given(power, st.floats(0.0, 0.1))
def test_empty_battery_offers_no_discharge(p: float, s: float) -> None:
    der = Der("b", DerKind.BATTERY, DerRatings(-p, p, energy_wh=p, soc_min=0.1), "gw")
    env = der_envelope(der, Reading("b", NOW, 0.0, soc=s), NOW)
    assert env is not None and env.p_max_w <= 0 and env.p_min_w == -p


@given(power, st.floats(0.9, 1.0))
def test_full_battery_offers_no_charge(p: float, s: float) -> None:
    der = Der("b", DerKind.BATTERY, DerRatings(-p, p, energy_wh=p, soc_max=0.9), "gw")
    env = der_envelope(der, Reading("b", NOW, 0.0, soc=s), NOW)
    assert env is not None and env.p_min_w >= 0 and env.p_max_w == p


def test_absent_ev_offers_nothing() -> None:
    der = Der("ev", DerKind.EV_CHARGER, DerRatings(-11000, 0, energy_wh=60000), "gw")
    env = der_envelope(der, Reading("ev", NOW, 0.0, soc=0.2, connected=False), NOW)
    assert env is not None and (env.p_min_w, env.p_max_w) == (0.0, 0.0)


def test_stale_invalid_or_missing_readings_make_a_der_unavailable() -> None:
    der = Der("b", DerKind.BATTERY, DerRatings(-1, 1, energy_wh=1), "gw")
    stale = Reading("b", NOW - timedelta(hours=1), 0.0, soc=0.5)
    invalid = Reading("b", NOW, 0.0, soc=0.5, quality=Quality.INVALID)
    for r in (stale, invalid, None):
        assert der_envelope(der, r, NOW) is None
    fleet = fleet_envelope([der], {}, NOW)
    assert fleet.unavailable == ("b",) and fleet.total.p_max_w == 0


@given(power, st.floats(0.2, 0.8), st.floats(60.0, 7200.0))
def test_sustained_envelope_respects_stored_energy(p: float, s: float, secs: float) -> None:
    der = Der("b", DerKind.BATTERY, DerRatings(-p, p, energy_wh=p / 4), "gw")
    env = der_envelope(der, Reading("b", NOW, 0.0, soc=s), NOW, sustain_s=secs)
    assert env is not None
    assert env.p_max_w * secs / 3600 <= s * p / 4 + 1e-6  # cannot deliver more than stored
    assert -env.p_min_w * secs / 3600 <= (1 - s) * p / 4 + 1e-6
