"""IEC 61850 simulators revert to their default mode by themselves, like SunSpec 704:
``DRCC1.OutWSetRvrtTms`` (a vpp extension) is the time a setpoint holds without a new
operate.  One server in-process, swept and published on this thread; the client
(open61850, pure Python) on its own thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from open61850.data import FloatData, IntData, StructureData
from open61850.mms import MmsClient, operate

from simulators.iec61850.server import IecServer
from simulators.physics import example_ratings, make_model
from vpp.codecs.scl import parse_scl

MODELS = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"
IED = "SRVRT"
LD = f"{IED}DER"
REVERSION_S = 2
#: the test itself: a client refreshing its setpoint once a second keeps it in force
REFRESH_S = 1.0
#: the test itself: with reversion off, the setpoint must outlast the old reversion time
HELD_PAST_REVERSION_S = REVERSION_S + 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_while(server: IecServer, client: Callable[[MmsClient], None], port: int) -> None:
    """Run ``client`` on a thread; sweep and publish (every 0.1 s) until it is done."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with MmsClient.connect("127.0.0.1", port, timeout=5) as c:
                client(c)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    next_publish = 0.0
    while thread.is_alive():
        server.serve_once()
        if time.monotonic() >= next_publish:
            server.publish(datetime.now(UTC))
            next_publish = time.monotonic() + 0.1
        time.sleep(0.002)
    if failure:
        raise failure[0]


@pytest.fixture
def server():
    doc = parse_scl((MODELS / "battery.icd").read_text(encoding="utf-8"))
    model = make_model("battery", "bat-rvrt", example_ratings("battery"))
    port = free_port()
    srv = IecServer(model, doc, IED, port=port)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_iec_device_reverts_after_its_reversion_time_and_holds_while_refreshed(server):
    model = server.model
    seen: dict[str, object] = {}

    def client(c: MmsClient) -> None:
        c.write(f"{LD}/DRCC1.OutWSetRvrtTms.setVal [SP]", IntData(REVERSION_S))
        seen["rvrt"] = int(c.read(f"{LD}/DRCC1.OutWSetRvrtTms.setVal [SP]").value)
        # refreshed every second for twice the reversion time: the setpoint holds
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2 * REVERSION_S:
            operate(c, f"{LD}/DRCC1.OutWSet", StructureData([FloatData(-1500.0)]))
            time.sleep(REFRESH_S)
            assert model.setpoint_w == -1500.0
        seen["held_s"] = time.monotonic() - t0
        # no refresh: back to the default mode (as WSetEna false) after REVERSION_S
        operate(c, f"{LD}/DRCC1.OutWSet", StructureData([FloatData(-1000.0)]))
        t_last = time.monotonic()
        while model.setpoint_w is not None and time.monotonic() - t_last < REVERSION_S + 3:
            time.sleep(0.02)
        seen["reverted_after_s"] = time.monotonic() - t_last
        seen["setpoint_after"] = model.setpoint_w
        time.sleep(0.3)  # one more publish
        seen["wsetena"] = c.read(f"{LD}/DRCC1.WSetEna.stVal [ST]").value
        # 0 = no reversion: a setpoint then holds past the old reversion time
        c.write(f"{LD}/DRCC1.OutWSetRvrtTms.setVal [SP]", IntData(0))
        operate(c, f"{LD}/DRCC1.OutWSet", StructureData([FloatData(-800.0)]))
        time.sleep(HELD_PAST_REVERSION_S)
        seen["held_without_reversion"] = model.setpoint_w

    serve_while(server, client, server.port)
    print(
        f"reversion time {REVERSION_S} s: held {seen['held_s']:.1f} s while refreshed, "
        f"reverted {seen['reverted_after_s']:.2f} s after the last operate"
    )
    assert seen["rvrt"] == REVERSION_S
    assert seen["setpoint_after"] is None and seen["wsetena"] is False
    # publish runs every 0.1 s: the revert lands within that of the deadline
    assert REVERSION_S - 0.05 <= seen["reverted_after_s"] <= REVERSION_S + 0.5
    assert seen["held_without_reversion"] == -800.0
    assert server.reversions == 1


def test_reversion_time_refuses_negative_values_and_ratings_stay_read_only(server):
    outcome: dict[str, object] = {}

    def client(c: MmsClient) -> None:
        for name, ref, value in (
            ("negative", f"{LD}/DRCC1.OutWSetRvrtTms.setVal [SP]", IntData(-1)),
            ("rating", f"{LD}/DRAT1.MaxWOut.setMag.f [SP]", FloatData(1e9)),
        ):
            try:
                c.write(ref, value)
                outcome[name] = "accepted"
            except Exception as exc:
                outcome[name] = exc
        outcome["rvrt"] = int(c.read(f"{LD}/DRCC1.OutWSetRvrtTms.setVal [SP]").value)
        outcome["max"] = float(c.read(f"{LD}/DRAT1.MaxWOut.setMag.f [SP]").value)

    serve_while(server, client, server.port)
    assert outcome["negative"] != "accepted" and outcome["rating"] != "accepted", outcome
    assert outcome["rvrt"] == 0 and server.reversion_s == 0
    assert outcome["max"] == server.model.ratings.p_max_w
