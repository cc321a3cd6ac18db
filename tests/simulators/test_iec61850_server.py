"""One IEC 61850 server in-process: a taken port is an error, not a crash."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from open61850.data import FloatData, StructureData
from open61850.mms import MmsClient, operate

from simulators.fleet import FleetStartError, start_fleet
from simulators.iec61850.server import IecServer
from simulators.physics import example_ratings, make_model
from vpp.codecs.scl import parse_scl

MODELS = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"


def test_a_taken_port_raises_and_a_retry_under_the_same_name_works():
    doc = parse_scl((MODELS / "battery.icd").read_text(encoding="utf-8"))
    model = make_model("battery", "bat-1", example_ratings("battery"))
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(OSError):
            IecServer(model, doc, "SRETRY", port=blocker.getsockname()[1]).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = IecServer(model, doc, "SRETRY", port=port)
    server.start()
    outcome: list[object] = []

    def client() -> None:  # open61850 waits on sockets without holding the GIL
        try:
            with MmsClient.connect("127.0.0.1", port, timeout=5) as c:
                outcome.append(
                    operate(c, "SRETRYDER/DRCC1.OutWSet", StructureData([FloatData(-1e3)]))
                )
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        while thread.is_alive():
            server.serve_once()
            time.sleep(0.002)
    finally:
        server.stop()
    assert outcome and not isinstance(outcome[0], Exception), outcome
    assert model.setpoint_w == -1000.0


def test_a_fleet_asking_for_a_taken_port_fails_to_start_cleanly():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        fleet = {
            "addressing": {"iec61850": {"base_port": blocker.getsockname()[1]}},
            "groups": [{"kind": "pv", "count": 1, "protocol": "iec61850"}],
        }
        with pytest.raises(FleetStartError, match=r"exited \(1\)"):
            start_fleet(fleet, ready_timeout_s=30)
