"""An independent IEC 61850 client (open61850, pure Python) against every IEC simulator.

It reads MMXU values, operates the active-power setpoint (direct and SBO), enables a
buffered report and receives reports — from every IEC 61850 device of the demo fleet.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from functools import partial

import pytest
from open61850.data import BoolData, FloatData, IntData, StructureData
from open61850.mms import ControlError, MmsClient, ObjectName, decode_report, is_report, operate
from open61850.mms import rcb as rcbs

from simulators.fleet import RunningFleet
from tests.harness.wait import wait_until

DIRECT, SBO = 1, 2


def connect(e) -> MmsClient:
    return MmsClient.connect(e["host"], e["port"], timeout=5)


def value(client: MmsClient, ref: str) -> float:
    return float(client.read(ref).value)


def target_for(e) -> float:
    """A setpoint the device can follow now, whatever its state (W)."""
    r = e["ratings"]
    return {
        "battery": -0.5 * -r["p_min_w"],
        "chp": r["p_max_w"] * 0.8,
        "pv": 0.0,  # curtailment to zero works day and night
        "ev_charger": 0.0,
        "heat_pump": r["p_min_w"],  # comfort band permitting; checked loosely below
        "flexible_load": 0.0,
    }[e["kind"]]


def setpoint(x: float) -> StructureData:
    return StructureData([FloatData(x)])


#: how long a simulator may take to show what a test waits for, unless it says otherwise
SETTLE_S = 10.0
#: one MMS read every 0.25 s at most while waiting
POLL_S = 0.25


def published_at(c: MmsClient, ld: str) -> datetime:
    """When the server last published: its ``MMXU1.TotW.t``."""
    stamp = getattr(c.read(f"{ld}/MMXU1.TotW.t [MX]"), "value", None)  # a TimestampData
    assert isinstance(stamp, datetime), stamp
    return stamp


def wait_for_publish(c: MmsClient, ld: str) -> None:
    """Until the server published once more.  It serves requests and publishes on one
    thread, so what a client wrote before is taken over by then."""
    before = published_at(c, ld)
    wait_until(lambda: published_at(c, ld) > before, SETTLE_S, POLL_S, what="no publish")


def reads_near(c: MmsClient, ref: str, target: float) -> bool:
    return abs(value(c, ref) - target) < 1


def ctl_model_is(c: MmsClient, ld: str, ctl: int) -> bool:
    return int(value(c, f"{ld}/DRCC1.OutWSet.ctlModel [CF]")) == ctl


def test_every_iec_simulator_serves_its_measurements_and_ratings(demo_fleet: RunningFleet):
    endpoints = demo_fleet.by_protocol("iec61850")
    assert len(endpoints) >= 8
    for e in endpoints:
        ld, r = e["ld"], e["ratings"]
        with connect(e) as c:
            p = value(c, f"{ld}/MMXU1.TotW.mag.f [MX]")
            assert r["p_min_w"] - 50 <= p <= r["p_max_w"] + 50
            hz = value(c, f"{ld}/MMXU1.Hz.mag.f [MX]")
            assert 49.5 < hz < 50.5
            volts = value(c, f"{ld}/MMXU1.PhV.phsA.cVal.mag.f [MX]")
            assert 200 < volts < 260
            stamp = c.read(f"{ld}/MMXU1.TotW.t [MX]")
            assert abs(time.time() - stamp.value.timestamp()) < 10
            assert value(c, f"{ld}/DRAT1.MaxWOut.setMag.f [SP]") == pytest.approx(r["p_max_w"])
            assert value(c, f"{ld}/DRAT1.MaxWIn.setMag.f [SP]") == pytest.approx(-r["p_min_w"])
            ctl = int(c.read(f"{ld}/DRCC1.OutWSet.ctlModel [CF]").value)
            assert ctl == {"direct-with-normal-security": DIRECT}.get(e["ctl_model"], SBO)


def test_setpoint_is_operated_directly_and_with_select_before_operate(demo_fleet: RunningFleet):
    for e in demo_fleet.by_protocol("iec61850"):
        ld = e["ld"]
        with connect(e) as c:
            ctl = int(c.read(f"{ld}/DRCC1.OutWSet.ctlModel [CF]").value)
            target = target_for(e)
            result = operate(c, f"{ld}/DRCC1.OutWSet", setpoint(target))
            assert result is not None
            in_force = f"{ld}/DRCC1.OutWSet.mxVal.f [MX]"  # refreshed at the next publish
            wait_until(partial(reads_near, c, in_force, target), SETTLE_S, POLL_S)
            # the other control model, after the client switches ctlModel (CF write)
            other = SBO if ctl == DIRECT else DIRECT
            c.write(f"{ld}/DRCC1.OutWSet.ctlModel [CF]", IntData(other))
            wait_until(partial(ctl_model_is, c, ld, other), SETTLE_S, POLL_S)
            wait_for_publish(c, ld)  # the server takes the new model over at its next publish
            operate(c, f"{ld}/DRCC1.OutWSet", setpoint(target), ctl_model=other)
            c.write(f"{ld}/DRCC1.OutWSet.ctlModel [CF]", IntData(ctl))


def test_a_battery_follows_its_setpoint_and_refuses_one_beyond_its_ratings(
    demo_fleet: RunningFleet,
):
    e = next(e for e in demo_fleet.by_protocol("iec61850") if e["kind"] == "battery")
    ld, r = e["ld"], e["ratings"]
    with connect(e) as c:
        operate(c, f"{ld}/DRCC1.OutWSet", setpoint(-2000.0))
        wait_until(
            lambda: -2100 < value(c, f"{ld}/MMXU1.TotW.mag.f [MX]") < -1900, SETTLE_S, POLL_S
        )
        with pytest.raises(ControlError):
            operate(c, f"{ld}/DRCC1.OutWSet", setpoint(r["p_max_w"] * 3))
        # stop (SPC false): the battery goes to 0 W; start again
        operate(c, f"{ld}/DRCC1.DERStr", BoolData(False))
        wait_until(lambda: value(c, f"{ld}/MMXU1.TotW.mag.f [MX]") == 0.0, SETTLE_S, POLL_S)
        assert int(c.read(f"{ld}/DGEN1.GnOpSt.stVal [ST]").value) == 1  # off
        operate(c, f"{ld}/DRCC1.DERStr", BoolData(True))
        wait_until(
            lambda: -2100 < value(c, f"{ld}/MMXU1.TotW.mag.f [MX]") < -1900, SETTLE_S, POLL_S
        )
        assert c.read(f"{ld}/DRCC1.WSetEna.stVal [ST]").value is True
        # WSetEna false: back to the default mode (a battery idles)
        operate(c, f"{ld}/DRCC1.WSetEna", BoolData(False))
        wait_until(lambda: value(c, f"{ld}/MMXU1.TotW.mag.f [MX]") == 0.0, SETTLE_S, POLL_S)
        assert c.read(f"{ld}/DRCC1.WSetEna.stVal [ST]").value is False


def test_buffered_reports_arrive_from_every_iec_simulator(demo_fleet: RunningFleet):
    endpoints = demo_fleet.by_protocol("iec61850")
    received: dict[str, list] = {e["der_id"]: [] for e in endpoints}
    clients = []
    lock = threading.Lock()
    try:
        for e in endpoints:

            def on_report(message, der_id=e["der_id"]):
                if is_report(message):
                    with lock:
                        received[der_id].append(decode_report(message))

            c = MmsClient.connect(e["host"], e["port"], timeout=5, on_information_report=on_report)
            clients.append((c, e))
            rcbs.enable(
                c,
                ObjectName("LLN0$BR$brcbMX01", e["ld"]),
                rcbs.RcbSettings(intg_pd_ms=1000),
            )
        wait_until(lambda: all(len(v) >= 2 for v in received.values()), 15, POLL_S)
    finally:
        for c, e in clients:
            try:
                rcbs.disable(c, ObjectName("LLN0$BR$brcbMX01", e["ld"]))
            finally:
                c.close()
    for e in endpoints:
        reports = received[e["der_id"]]
        first = reports[0]
        assert first.rpt_id == "brcbMX01"
        assert first.data_set and first.data_set.endswith("LLN0$Measurements")
        # member 0 of the data set is MMXU1.TotW: (mag{f}, q, t); a report carries only
        # the members that triggered it, the general interrogation carries all of them
        totals = [x.value for rep in reports for x in rep.entries if x.index == 0]
        assert totals, f"{e['der_id']}: no report carried TotW"
        mag = totals[0].members[0].members[0].value
        r = e["ratings"]
        assert r["p_min_w"] - 50 <= mag <= r["p_max_w"] + 50
        seq = [rep.seq_num for rep in reports if rep.seq_num is not None]
        assert seq == sorted(seq)
