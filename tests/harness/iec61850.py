"""The IEC 61850 driver tests' peers and drivers: fleet specs for the simulators, the
minimal threaded libiec61850 servers (:mod:`simulators.iec61850.minimal_fleet`) in their
own process, and a driver built from an endpoint as the gateway's composition root does."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from vpp.adapters.iec61850 import Iec61850Driver
from vpp.domain.der import DerKind

ROOT = Path(__file__).resolve().parents[2]
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


def start_threaded_servers(count: int, ctl: str = "mixed") -> tuple[subprocess.Popen[bytes], int]:
    """``simulators.iec61850.minimal_fleet`` on free ports, its own process; a port taken
    meanwhile means another try."""
    for _ in range(5):
        base = free_port_block(count)
        args = ["--base-port", str(base), "--count", str(count), "--prefix", f"F{base}"]
        args += ["--ctl", ctl]
        cmd = [
            sys.executable,
            "-m",
            "simulators.iec61850.minimal_fleet",
            *args,
            "--duration",
            "600",
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = proc.stdout.readline() if proc.stdout else b""
        if line.startswith(b"READY"):
            # libiec61850's SWIG layer prints on stdout: drain it, or a full pipe blocks it
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            return proc, base
        proc.kill()
        proc.wait()
    raise RuntimeError("minimal_fleet did not start in 5 tries")


def threaded_endpoints(base: int, count: int) -> list[dict[str, Any]]:
    scl = str(ROOT / "models" / "iec61850-7-420" / "battery.icd")
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
