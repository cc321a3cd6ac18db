"""Physics invariants, property-tested: whatever the setpoints, the physics holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.physics import example_ratings, make_model
from simulators.physics.pv import clear_sky_ghi
from vpp.domain import DerKind, DerRatings
from vpp.domain.errors import InvalidValue

T0 = datetime(2026, 6, 21, 4, 0, tzinfo=UTC)

setpoints = st.lists(
    st.one_of(st.none(), st.floats(min_value=-60_000, max_value=60_000, allow_nan=False)),
    min_size=1,
    max_size=12,
)
steps = st.floats(min_value=0.1, max_value=900.0)


def run(model, plan, dt_s, n_per_setpoint=20, start=T0):
    """Drive ``model`` through ``plan`` (setpoints), yielding (now, dt) after each step."""
    now = start
    for sp in plan:
        model.set_setpoint(sp)
        for _ in range(n_per_setpoint):
            now += timedelta(seconds=dt_s)
            model.step(now, dt_s)
            yield now


@settings(max_examples=60, deadline=None)
@given(plan=setpoints, dt=steps, seed=st.integers(0, 10_000), soc0=st.floats(0.0, 1.0))
def test_battery_soc_stays_within_bounds_and_energy_balances(plan, dt, seed, soc0):
    r = example_ratings(DerKind.BATTERY)
    m = make_model("battery", "bat-1", r, params={"soc0": soc0}, seed=seed)
    assert r.energy_wh is not None
    now = T0
    for sp in plan:
        m.set_setpoint(sp)
        for _ in range(10):
            soc_before = m.soc
            now += timedelta(seconds=dt)
            m.step(now, dt)
            p, e_wh = m.p_w, m.p_w * dt / 3600
            assert r.p_min_w - 1e-6 <= p <= r.p_max_w + 1e-6
            assert r.soc_min - 1e-9 <= m.soc <= r.soc_max + 1e-9
            # the cells lose what was injected / eff_discharge, gain what was drawn * eff_charge
            stored_wh = -e_wh * r.eff_charge if p < 0 else -e_wh / r.eff_discharge
            assert (m.soc - soc_before) * r.energy_wh == pytest.approx(stored_wh, abs=1e-6)
            assert m.reading(now).soc == m.soc


@settings(max_examples=60, deadline=None)
@given(plan=setpoints, dt=steps, seed=st.integers(0, 10_000))
def test_pv_never_exceeds_available_irradiance_power(plan, dt, seed):
    r = DerRatings(p_min_w=0.0, p_max_w=8000.0)
    m = make_model("pv", "pv-1", r, seed=seed)
    for now in run(m, plan, dt, n_per_setpoint=8):
        clear_sky = clear_sky_ghi(now, m.lat_deg, m.lon_deg) / 1000.0 * r.p_max_w
        reading = m.reading(now)
        assert 0.0 <= m.p_w <= reading.p_avail_w + 1e-9
        assert reading.p_avail_w <= min(r.p_max_w, clear_sky) + 1e-9


@settings(max_examples=40, deadline=None)
@given(plan=setpoints, dt=st.floats(1.0, 300.0), seed=st.integers(0, 10_000))
def test_absent_ev_draws_nothing_and_never_injects(plan, dt, seed):
    arrive = T0 + timedelta(hours=1)
    leave = T0 + timedelta(hours=3)
    session = {"arrival": arrive, "departure": leave, "energy_wh": 30_000.0, "max_w": 7_400.0}
    m = make_model(
        "ev_charger",
        "ev-1",
        example_ratings("ev_charger"),
        params={"sessions": [session]},
        seed=seed,
    )
    delivered = 0.0
    for now in run(m, plan, dt, n_per_setpoint=6):
        reading = m.reading(now)
        assert m.p_w <= 0.0
        assert m.p_w >= -7_400.0 - 1e-9
        if not (arrive <= now < leave):
            assert m.p_w == 0.0
            assert reading.connected is False
            assert reading.p_w == 0.0
        delivered = max(delivered, m.delivered_wh)
    assert delivered <= 30_000.0 + 1e-6


@settings(max_examples=40, deadline=None)
@given(plan=setpoints, dt=st.floats(1.0, 120.0), seed=st.integers(0, 10_000))
def test_heat_pump_keeps_tank_in_comfort_band(plan, dt, seed):
    m = make_model("heat_pump", "hp-1", example_ratings("heat_pump"), seed=seed)
    for now in run(m, plan, dt, n_per_setpoint=15):
        assert m.t_min_c - 1e-6 <= m.t_c <= m.t_max_c + 1e-6
        assert -3000.0 - 1e-9 <= m.p_w <= 0.0
        assert m.p_w == 0.0 or -m.p_w >= 900.0 - 1e-6  # off, or at least minimum stable
        r = m.reading(now)  # what it reports: its tank and the fill of its band
        assert r.temp_c == m.t_c
        assert r.soc == pytest.approx((m.t_c - m.t_min_c) / (m.t_max_c - m.t_min_c), abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(plan=setpoints, seed=st.integers(0, 10_000))
def test_flexible_load_finishes_its_job_by_the_deadline(plan, seed):
    m = make_model("flexible_load", "fl-1", example_ratings("flexible_load"), seed=seed)
    now = datetime(2026, 6, 21, 7, 0, tzinfo=UTC)
    for i in range(13 * 60):  # 07:00 .. 20:00 in minutes, setpoint changes every 30 min
        m.set_setpoint(plan[(i // 30) % len(plan)])
        now += timedelta(minutes=1)
        m.step(now, 60.0)
        assert -2000.0 - 1e-9 <= m.p_w <= 0.0
        r = m.reading(now)  # the job as it reports it: done + left = the job, by 20:00
        assert r.soc is not None and r.energy_wh is not None
        assert r.soc * m.job_wh + r.energy_wh == pytest.approx(m.job_wh, rel=1e-9)
        assert r.deadline == now.replace(hour=20, minute=0)
    assert now.hour == 20
    assert m.job_wh > 0
    assert m.remaining_wh <= 1e-6
    assert m.done_wh <= m.job_wh + 1e-6


@settings(max_examples=40, deadline=None)
@given(plan=setpoints, dt=st.floats(0.5, 30.0), seed=st.integers(0, 10_000))
def test_chp_runs_off_or_between_min_stable_and_max(plan, dt, seed):
    r = example_ratings("chp")
    m = make_model("chp", "chp-1", r, seed=seed)
    previous = m.p_w
    for _ in run(m, plan, dt, n_per_setpoint=10):
        assert m.p_w == 0.0 or r.min_stable_w - 1e-6 <= m.p_w <= r.p_max_w + 1e-6
        if m.p_w > 0 and previous > 0:
            assert abs(m.p_w - previous) <= r.ramp_w_per_s * dt + 1e-6
        previous = m.p_w


@pytest.mark.parametrize("kind", list(DerKind))
def test_same_seed_same_trajectory_and_readings_do_not_disturb_it(kind):
    a = make_model(kind, "d-1", example_ratings(kind), seed=5)
    b = make_model(kind, "d-1", example_ratings(kind), seed=5)
    now = T0 + timedelta(hours=6)
    for i in range(600):
        now += timedelta(seconds=1)
        for m in (a, b):
            m.set_setpoint(None if i < 300 else -1000.0 if kind != "chp" else 30_000.0)
            m.step(now, 1.0)
        a.reading(now)  # only a is read: its trajectory must not change
    assert a.p_w == b.p_w


@pytest.mark.parametrize("kind", list(DerKind))
def test_sign_convention_and_stop(kind):
    m = make_model(kind, "d-1", example_ratings(kind), seed=1)
    r = m.ratings
    now = T0 + timedelta(hours=8)
    for _ in range(120):
        now += timedelta(seconds=1)
        m.step(now, 1.0)
        assert r.p_min_w - 1e-9 <= m.p_w <= r.p_max_w + 1e-9
    m.set_enabled(False)
    for _ in range(60):
        now += timedelta(seconds=1)
        m.step(now, 1.0)
    assert m.p_w == 0.0


def test_ratings_that_contradict_the_kind_are_refused():
    with pytest.raises(InvalidValue):
        make_model("pv", "pv-1", DerRatings(p_min_w=-100.0, p_max_w=1000.0))
    with pytest.raises(ValueError):
        make_model("fusion", "x-1", example_ratings("pv"))
