"""pysunspec2's own client against every SunSpec simulator of the demo fleet."""

from __future__ import annotations

from functools import partial

import pytest
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP
from sunspec2.modbus.modbus import ModbusClientException

from simulators.fleet import RunningFleet
from tests.harness.wait import wait_until
from vpp.codecs.sunspec_vpp import VPP_STATE_MODEL_ID

STORAGE_KINDS = {"battery", "ev_charger"}


def connect(endpoint) -> SunSpecModbusClientDeviceTCP:
    dev = SunSpecModbusClientDeviceTCP(
        slave_id=endpoint["unit_id"], ipaddr=endpoint["host"], ipport=endpoint["port"], timeout=5
    )
    dev.scan()
    dev.connect()  # scan() closes the socket
    return dev


#: how long a simulator may take to follow what a test asks, unless it says otherwise
FOLLOW_S = 8.0
#: one Modbus read every 0.25 s at most while waiting
POLL_S = 0.25


def watts(dev) -> float:
    m = dev.models[701][0]
    m.read()
    return float(m.W.cvalue)


def watts_near(dev, target: float, tolerance: float) -> bool:
    return abs(watts(dev) - target) <= tolerance


def test_every_sunspec_simulator_scans_with_the_expected_models(demo_fleet: RunningFleet):
    endpoints = demo_fleet.by_protocol("sunspec")
    assert len(endpoints) >= 8
    for e in endpoints:
        dev = connect(e)
        try:
            ids = {k for k in dev.models if isinstance(k, int)}
            expected = {1, 701, 702, 704, 715} | ({713} if e["kind"] in STORAGE_KINDS else set())
            expected |= {122} if e["kind"] == "pv" else set()
            expected |= (
                {VPP_STATE_MODEL_ID} if e["kind"] in ("heat_pump", "flexible_load") else set()
            )
            assert ids == expected, e["der_id"]
            common = dev.models[1][0]
            assert common.SN.value == e["der_id"]
            capacity = dev.models[702][0]
            r = e["ratings"]
            assert capacity.WMaxRtg.cvalue == pytest.approx(
                max(r["p_max_w"], -r["p_min_w"]), rel=0.01, abs=10
            )
            w = watts(dev)
            assert r["p_min_w"] - 10 <= w <= r["p_max_w"] + 10
            if e["kind"] in STORAGE_KINDS:
                storage = dev.models[713][0]
                storage.read()
                assert storage.WHRtg.cvalue == pytest.approx(r["energy_wh"], rel=0.01)
                if e["kind"] == "battery":
                    assert 0 <= storage.SoC.cvalue <= 100
        finally:
            dev.close()


def battery(demo_fleet: RunningFleet):
    return next(e for e in demo_fleet.by_protocol("sunspec") if e["kind"] == "battery")


def test_wset_moves_a_battery_and_reversion_brings_it_back(demo_fleet: RunningFleet):
    e = battery(demo_fleet)
    dev = connect(e)
    try:
        ctl = dev.models[704][0]
        ctl.WSetMod.value = 1  # watts
        ctl.WSet.value = -3000
        ctl.WSetRvrtTms.value = 3
        ctl.WSetEna.value = 1
        ctl.write()
        wait_until(
            lambda: watts(dev) < -2500, FOLLOW_S, POLL_S, what="battery did not start charging"
        )
        ctl.read()
        assert ctl.WSetEna.value == 1
        assert 0 < ctl.WSetRvrtRem.value <= 3
        # no refresh: after 3 s the device falls back to its default (idle)
        wait_until(lambda: abs(watts(dev)) < 200, 10, POLL_S, what="no reversion")
        ctl.read()
        assert ctl.WSetEna.value == 0
        # WSetPct: 50 % of WMax discharges at about half power
        ctl.WSetMod.value = 0
        ctl.WSetPct.value = 500  # WSetPct_SF = -1
        ctl.WSetRvrtTms.value = 0
        ctl.WSetEna.value = 1
        ctl.write()
        wait_until(lambda: watts(dev) > 2000, FOLLOW_S, POLL_S)
        ctl.WSetEna.value = 0
        ctl.write()
    finally:
        dev.close()


def test_wmaxlimpct_curtails_pv_until_its_reversion_timer_expires(demo_fleet: RunningFleet):
    # (at night the array gives nothing anyway; the control path is checked all the same)
    e = next(e for e in demo_fleet.by_protocol("sunspec") if e["kind"] == "pv")
    tolerance_w = 0.01 * e["ratings"]["p_max_w"]
    dev = connect(e)
    try:
        ctl = dev.models[704][0]
        ctl.WMaxLimPct.value = 0  # 0 %: no injection
        ctl.WMaxLimPctRvrtTms.value = 6
        ctl.WMaxLimPctEna.value = 1
        ctl.write()
        wait_until(lambda: watts(dev) <= tolerance_w, FOLLOW_S, POLL_S)
        ctl.read()
        assert ctl.WMaxLimPctEna.value == 1
        wait_until(lambda: (ctl.read() or ctl.WMaxLimPctEna.value) == 0, 10, POLL_S)
        assert ctl.WMaxLimPct.value == 1000  # back to its reversion value, 100.0 %
    finally:
        dev.close()


def test_opctl_stops_and_starts_a_device(demo_fleet: RunningFleet):
    e = next(e for e in demo_fleet.by_protocol("sunspec") if e["kind"] == "ev_charger")
    dev = connect(e)
    try:
        der_ctl = dev.models[715][0]
        der_ctl.OpCtl.value = 0  # STOP
        der_ctl.write()
        measure = dev.models[701][0]
        wait_until(lambda: (measure.read() or measure.St.value) == 0, FOLLOW_S, POLL_S)
        assert watts(dev) == 0
        der_ctl.OpCtl.value = 1  # START
        der_ctl.write()
        wait_until(lambda: (measure.read() or measure.St.value) == 1, FOLLOW_S, POLL_S)
    finally:
        dev.close()


def test_bad_writes_get_modbus_exceptions(demo_fleet: RunningFleet):
    e = battery(demo_fleet)
    dev = connect(e)
    try:
        ctl = dev.models[704][0]
        ctl.WSet.value = int(e["ratings"]["p_max_w"]) * 3  # beyond the ratings
        with pytest.raises(ModbusClientException, match="exception: 3"):
            ctl.write()
        ctl.read()
        ctl.WSetEna.value = 7  # not a symbol of the enum
        with pytest.raises(ModbusClientException, match="exception: 3"):
            ctl.write()
        ctl.read()
        ctl.WMaxLimPct.value = 1001  # 100.1 %
        with pytest.raises(ModbusClientException, match="exception: 3"):
            ctl.write()
        measure = dev.models[701][0]
        measure.W.value = 100  # a measurement is read-only
        with pytest.raises(ModbusClientException, match="exception: 2"):
            measure.W.write()
        ctl.read()
        ctl.WSetRvrtRem.value = 5  # read-only point inside the control model
        with pytest.raises(ModbusClientException, match="exception: 2"):
            ctl.WSetRvrtRem.write()
    finally:
        dev.close()


FOLLOW_TARGET = {  # a setpoint each kind can hold whatever its state (W); None: not strict
    "pv": lambda r: 0.0,
    "battery": lambda r: r["p_min_w"] / 4,
    "ev_charger": lambda r: 0.0,
    "flexible_load": lambda r: None,  # its deadline may force it on
    "heat_pump": lambda r: None,  # the comfort band may force it on
}


def test_every_sunspec_simulator_follows_a_wset(demo_fleet: RunningFleet):
    for e in demo_fleet.by_protocol("sunspec"):
        r = e["ratings"]
        target = FOLLOW_TARGET[e["kind"]](r)
        dev = connect(e)
        try:
            ctl = dev.models[704][0]
            ctl.WSetMod.value = 1
            wanted = int(target if target is not None else r["p_min_w"] / 2)
            ctl.WSet.value = wanted
            ctl.WSetRvrtTms.value = 30
            ctl.WSetEna.value = 1
            ctl.write()
            ctl.read()
            assert (ctl.WSetEna.value, ctl.WSet.value) == (1, wanted)
            if target is not None:
                tolerance = 0.02 * (r["p_max_w"] - r["p_min_w"])
                wait_until(
                    partial(watts_near, dev, target, tolerance),
                    FOLLOW_S,
                    POLL_S,
                    what=f"{e['der_id']} did not follow",
                )
            assert r["p_min_w"] - 10 <= watts(dev) <= r["p_max_w"] + 10
            ctl.WSetEna.value = 0
            ctl.write()
        finally:
            dev.close()
