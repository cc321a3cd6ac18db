"""``vpp sim serve``: starts a fleet, writes endpoints, stops every process on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.wait import wait_until

FLEET = """
seed: 3
groups:
  - {kind: battery, id_prefix: b, count: 2, protocol: sunspec}
  - {kind: pv, id_prefix: p, count: 1, protocol: iec61850}
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_writes_endpoints_and_stops_cleanly(tmp_path: Path, sig: signal.Signals):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET, encoding="utf-8")
    out = tmp_path / "endpoints.json"
    cli = subprocess.Popen(
        [sys.executable, "-c", "from vpp.cli import main; main()", "sim", "serve",
         "--fleet", str(fleet), "--endpoints", str(out), "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:

        def written() -> bool:
            assert cli.poll() is None, "vpp sim serve exited"
            return out.exists()

        wait_until(written, 60, 0.2, what="no endpoints file")
        time.sleep(0.3)
        endpoints = json.loads(out.read_text(encoding="utf-8"))
        assert [e["der_id"] for e in endpoints] == ["b-0001", "b-0002", "p-0001"]
        assert {e["protocol"] for e in endpoints} == {"sunspec", "iec61850"}
        assert endpoints[0]["unit_id"] == 1
        assert endpoints[2]["ied"] and endpoints[2]["ld"] == endpoints[2]["ied"] + "DER"
        assert set(endpoints[0]["ratings"]) >= {"p_min_w", "p_max_w", "energy_wh"}
        workers = [
            int(line.split("pids ")[1].split(")")[0].split(", ")[i])
            for line in [_wait_line(cli, "pids ")]
            for i in range(2)
        ]
        assert all(alive(pid) for pid in workers)
        cli.send_signal(sig)
        rest, _ = cli.communicate(timeout=30)
        assert cli.returncode == 0, rest
        assert "exit codes [0, 0]" in rest
        assert not any(alive(pid) for pid in workers)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def _wait_line(proc: subprocess.Popen[str], needle: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r}")
