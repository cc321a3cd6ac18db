"""Real IEC 61850 peers for the driver tests: the simulators' libiec61850 servers.

``sim_fleet`` starts one simulated device per DER kind (two batteries: one direct, one
select-before-operate) in a worker process of ``simulators.fleet``; teardown stops the
workers by PID.  ``driver_for`` builds an :class:`Iec61850Driver` from an endpoint the
way the gateway's composition root does from an ``Iec61850Device`` config.
"""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.fleet import start_fleet
from vpp.adapters.iec61850 import Iec61850Driver
from vpp.domain.der import DerKind

SBO = "sbo-with-normal-security"
DIRECT = "direct-with-normal-security"


def fleet_spec(groups: list[dict[str, Any]], step_s: float = 1.0) -> dict[str, Any]:
    return {
        "name": "iec61850-tests",
        "seed": 7,
        "step_s": step_s,
        "addressing": {"iec61850": {"host": "127.0.0.1", "base_port": 0}},
        "per_process": {"iec61850": 100},
        "groups": groups,
    }


def group(kind: str, prefix: str, count: int = 1, ctl: str = DIRECT) -> dict[str, Any]:
    return {
        "kind": kind,
        "id_prefix": prefix,
        "count": count,
        "protocol": "iec61850",
        "ctl_model": {"choice": [ctl]},
    }


@pytest.fixture(scope="module")
def sim_fleet() -> Iterator[dict[str, dict[str, Any]]]:
    spec = fleet_spec(
        [
            group("battery", "batd"),
            group("battery", "bats", ctl=SBO),
            group("battery", "batc"),  # a test switches its ctlModel to SBO
            group("pv", "pv"),
            group("ev_charger", "ev"),
            group("chp", "chp"),
            group("heat_pump", "hp"),
            group("flexible_load", "load"),
        ]
    )
    fleet = start_fleet(spec)
    try:
        yield {e["der_id"]: e for e in fleet.endpoints}
    finally:
        fleet.stop()


def start_threaded_servers(count: int, ctl: str = "mixed") -> tuple[subprocess.Popen[bytes], int]:
    """``fleet_server.py`` on free ports; a port taken meanwhile means another try."""
    root = Path(__file__).resolve().parents[2]
    for _ in range(5):
        base = free_port_block(count)
        args = ["--base-port", str(base), "--count", str(count), "--prefix", f"F{base}"]
        args += ["--ctl", ctl]
        cmd = [sys.executable, "-m", "tests.iec61850.fleet_server", *args, "--duration", "600"]
        proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = proc.stdout.readline() if proc.stdout else b""
        if line.startswith(b"READY"):
            # libiec61850's SWIG layer prints on stdout: drain it, or a full pipe blocks it
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            return proc, base
        proc.kill()
        proc.wait()
    raise RuntimeError("fleet_server did not start in 5 tries")


def threaded_endpoints(base: int, count: int) -> list[dict[str, Any]]:
    scl = str(Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420" / "battery.icd")
    return [
        {
            "der_id": f"f-{i}",
            "kind": "battery",
            "host": "127.0.0.1",
            "port": base + i,
            "ied": f"F{base}D{i:03d}",
            "ld": f"F{base}D{i:03d}DER",
            "ld_inst": "DER",
            "scl": scl,
        }
        for i in range(count)
    ]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def threaded_servers() -> Iterator[list[dict[str, Any]]]:
    """Two minimal libiec61850 servers on their own threads (``fleet_server.py``, its own
    process; even = direct, odd = SBO): a peer whose reports flow without any request."""
    proc, base = start_threaded_servers(2)
    try:
        yield threaded_endpoints(base, 2)
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def enhanced_servers() -> Iterator[list[dict[str, Any]]]:
    """Like ``threaded_servers`` with direct- and sbo-with-enhanced-security."""
    proc, base = start_threaded_servers(2, "enhanced")
    try:
        yield threaded_endpoints(base, 2)
    finally:
        stop_process(proc)


def driver_for(endpoint: dict[str, Any], **kwargs: Any) -> Iec61850Driver:
    return Iec61850Driver(
        endpoint["der_id"],
        DerKind(endpoint["kind"]),
        endpoint["host"],
        endpoint["port"],
        endpoint["ied"],
        endpoint["ld_inst"],
        Path(endpoint["scl"]),
        **kwargs,
    )


@pytest.fixture
async def drivers() -> AsyncIterator[Callable[..., Iec61850Driver]]:
    """Drivers made by a test are closed after it, even when it fails."""
    made: list[Iec61850Driver] = []

    def make(endpoint: dict[str, Any], **kwargs: Any) -> Iec61850Driver:
        made.append(driver_for(endpoint, **kwargs))
        return made[-1]

    yield make
    await asyncio.gather(*(d.close() for d in made), return_exceptions=True)


def free_port_block(count: int) -> int:
    """``count`` consecutive free loopback ports, below the kernel's ephemeral range (where
    the many client connections of a test run would take some of them)."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 32000 - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
