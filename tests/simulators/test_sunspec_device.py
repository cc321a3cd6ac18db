"""The SunSpec device logic (sans-I/O): write validation, reversion, live values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulators.physics import example_ratings, make_model
from simulators.sunspec.device import ILLEGAL_VALUE, SunSpecDevice
from simulators.sunspec.points import BASE_ADDRESS
from vpp.codecs.sunspec import decode_int, encode_raw

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def device(kind="battery"):
    return SunSpecDevice(make_model(kind, f"{kind}-1", example_ratings(kind), seed=3))


def write(dev, name, value, now=T0):
    p = dev.image.writable_points[name]
    return dev.on_write(p.address, encode_raw(p.type, value), now)


def read(dev, model_id, name, now=T0):
    regs = list(dev.image.registers)
    dev.on_read(regs, now)
    p = dev.image.point(model_id, name)
    i = p.address - BASE_ADDRESS
    return decode_int(p.type, regs[i : i + p.size])


def test_image_starts_with_suns_and_ends_with_the_end_marker():
    dev = device()
    regs = dev.image.registers
    assert regs[:2] == [0x5375, 0x6E53]
    assert regs[-2:] == [0xFFFF, 0]
    assert list(dev.image.model_addresses) == [1, 701, 702, 704, 713, 715]


def test_wset_is_validated_against_the_ratings():
    dev = device()
    assert write(dev, "WSet", 6000) == ILLEGAL_VALUE  # rating is 5 kW
    assert write(dev, "WSet", -5000) is None
    assert write(dev, "WSetEna", 2) == ILLEGAL_VALUE  # not an enum symbol
    assert write(dev, "WMaxLimPct", 1001) == ILLEGAL_VALUE  # > 100.0 %
    assert write(dev, "WSetPct", -1000) is None  # -100.0 % is fine
    assert write(dev, "WSet", -0x80000000) == ILLEGAL_VALUE  # "not implemented" marker


def test_wset_reversion_timer_returns_the_device_to_its_default():
    dev = device()
    for name, v in (("WSetMod", 1), ("WSet", -2000), ("WSetRvrtTms", 30), ("WSetEna", 1)):
        assert write(dev, name, v) is None
    assert dev.model.setpoint_w == -2000
    assert read(dev, 704, "WSetRvrtRem", T0 + timedelta(seconds=10)) == 20
    dev.tick(T0 + timedelta(seconds=10), 10.0)
    assert write(dev, "WSet", -1000, T0 + timedelta(seconds=20)) is None  # refresh
    dev.tick(T0 + timedelta(seconds=45), 25.0)
    assert dev.model.setpoint_w == -1000  # 25 s after the refresh: still in force
    dev.tick(T0 + timedelta(seconds=51), 6.0)
    assert dev.model.setpoint_w is None  # expired: default mode
    assert read(dev, 704, "WSetEna", T0 + timedelta(seconds=51)) == 0
    assert read(dev, 704, "WSetRvrtRem", T0 + timedelta(seconds=51)) == 0


def test_wmaxlimpct_limits_injection_of_pv():
    dev = device("pv")
    assert write(dev, "WMaxLimPct", 250) is None  # 25.0 %
    assert write(dev, "WMaxLimPctEna", 1) is None
    assert dev.model.limit_w == pytest.approx(0.25 * 10_000)
    now = T0
    for _ in range(30):
        now += timedelta(seconds=1)
        dev.tick(now, 1.0)
    assert dev.model.p_w <= 2500.0 + 1e-6
    assert read(dev, 701, "W", now) * 10**dev.sf.w <= 2500 + 50


def test_live_values_carry_the_sign_convention_and_state_of_charge():
    dev = device()
    write(dev, "WSetMod", 1)
    write(dev, "WSet", -3000)
    write(dev, "WSetEna", 1)
    now = T0
    for _ in range(20):
        now += timedelta(seconds=1)
        dev.tick(now, 1.0)
    w = read(dev, 701, "W", now) * 10**dev.sf.w
    assert w == pytest.approx(-3000, abs=60)  # charging is negative
    soc = read(dev, 713, "SoC", now) * 10**dev.sf.pct
    assert soc == pytest.approx(dev.model.soc * 100, abs=0.1)
    assert read(dev, 701, "TotWhAbs", now) >= 15  # 3 kW for ~20 s


def test_an_ev_charger_without_a_car_reports_soc_as_not_implemented():
    m = make_model("ev_charger", "ev-1", example_ratings("ev_charger"), params={"sessions": []})
    dev = SunSpecDevice(m)
    dev.tick(T0, 1.0)
    assert read(dev, 713, "SoC") == 0xFFFF
    assert read(dev, 701, "W") == 0


@pytest.mark.parametrize(
    "kind", ["pv", "battery", "ev_charger", "chp", "heat_pump", "flexible_load"]
)
def test_image_equals_the_one_pysunspec2_builds_itself(kind):
    import struct

    from sunspec2.device import Model

    from simulators.sunspec.image import WRITABLE, _models, scale_factors
    from simulators.sunspec.points import END_MARKER, SUNS_MARKER, build_image
    from vpp.codecs.sunspec_vpp import VENDOR_MODELS

    m = make_model(kind, f"{kind}-0001", example_ratings(kind))
    models = _models(m, scale_factors(m.ratings), 1)
    expected = list(SUNS_MARKER)
    for model_id, data in models:
        vendor = VENDOR_MODELS.get(model_id)  # vpp's model: pysunspec2 given its definition
        raw = Model(model_id=model_id, model_def=vendor, data=dict(data)).get_mb()
        expected += struct.unpack(f">{len(raw) // 2}H", raw)
    expected += END_MARKER
    assert build_image(models, WRITABLE).registers == expected
