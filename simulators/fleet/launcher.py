"""Start a fleet as worker processes and stop it again, by process id.

    from simulators.fleet import start_fleet

    with start_fleet("simulators/fleets/demo.yaml", seed=1) as fleet:
        for e in fleet.endpoints: ...      # the endpoint dicts (see endpoints.py)
    # leaving the block stops every worker (SIGTERM, then SIGKILL after a grace period)

``start_fleet`` accepts a path to a fleet YAML file, the parsed fleet (a dict) or a list
of :class:`DeviceSpec`; it returns once every device listens.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from simulators.fleet.spec import DeviceSpec, expand_fleet, shards
from vpp.domain.errors import VppError
from vpp.runtime import stop_processes


class FleetStartError(VppError, RuntimeError):
    """A worker did not start, or did not report its devices listening in time."""


def load_fleet(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise FleetStartError(f"{path}: a fleet file is a YAML mapping")
    return data


@dataclass
class RunningFleet:
    endpoints: list[dict[str, Any]]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self, grace_s: float = 10.0) -> list[int | None]:
        """Stop every worker (SIGTERM, then SIGKILL); return their exit codes."""
        codes = stop_processes(self.processes, grace_s)
        self.processes = []
        return codes

    def by_protocol(self, protocol: str) -> list[dict[str, Any]]:
        return [e for e in self.endpoints if e["protocol"] == protocol]

    def __enter__(self) -> RunningFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(
    devices: list[DeviceSpec], step_s: float, log_dir: Path | None
) -> tuple[subprocess.Popen[bytes], int]:
    read_fd, write_fd = os.pipe()
    out: int | IO[bytes] = subprocess.DEVNULL
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / f"worker-{devices[0].der_id}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.fleet.worker", "--ready-fd", str(write_fd),
         "--step-s", str(step_s)],
        stdin=subprocess.PIPE, stdout=out, stderr=out if log_dir else None,
        pass_fds=(write_fd,),
    )  # fmt: skip
    os.close(write_fd)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps([d.to_json() for d in devices]).encode())
    proc.stdin.close()
    return proc, read_fd


def _await_ready(proc: subprocess.Popen[bytes], fd: int, deadline: float) -> list[dict[str, Any]]:
    chunks = []
    with os.fdopen(fd, "rb") as ready:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FleetStartError(f"worker {proc.pid} did not report ready in time")
            readable, _, _ = select.select([ready], [], [], min(left, 0.5))
            if readable:
                chunk = os.read(ready.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            elif proc.poll() is not None:
                break
    text = b"".join(chunks).decode()
    if not text.strip():
        try:  # the pipe closes as the worker exits, a moment before it can be reaped
            code: int | str = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = "still running, its ready pipe closed"
        raise FleetStartError(f"worker {proc.pid} exited ({code}) before it was ready")
    return list(json.loads(text))


def assign_free_ports(devices: list[DeviceSpec]) -> list[DeviceSpec]:
    """Give IEC 61850 devices without a port distinct free ports (SunSpec servers bind
    port 0 themselves).  All probe sockets stay open until every port is chosen, so no two
    devices of the fleet get the same port; a worker retries if another program takes
    one in the short moment before it binds."""
    probes: list[socket.socket] = []
    out = []
    try:
        for d in devices:
            if d.protocol == "iec61850" and d.port == 0:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((d.host, 0))
                probes.append(s)
                d = dataclasses.replace(d, port=int(s.getsockname()[1]), auto_port=True)
            out.append(d)
    finally:
        for s in probes:
            s.close()
    return out


def start_fleet(
    fleet: str | Path | dict[str, Any] | list[DeviceSpec],
    *,
    seed: int | None = None,
    step_s: float | None = None,
    per_process: dict[str, int] | None = None,
    ready_timeout_s: float = 120.0,
    log_dir: Path | None = None,
) -> RunningFleet:
    """Start the fleet's workers; return when all devices listen (or raise, stopping any)."""
    spec: dict[str, Any] = {}
    if isinstance(fleet, str | Path):
        spec = load_fleet(fleet)
        devices = expand_fleet(spec, seed)
    elif isinstance(fleet, dict):
        spec = fleet
        devices = expand_fleet(spec, seed)
    else:
        devices = list(fleet)
    devices = assign_free_ports(devices)
    step = float(step_s if step_s is not None else spec.get("step_s", 1.0))
    loads = shards(devices, per_process or spec.get("per_process", {}))
    running = RunningFleet(endpoints=[])
    pending = []
    try:
        for load in loads:
            proc, fd = _spawn(load, step, log_dir)
            running.processes.append(proc)
            pending.append((proc, fd))
        deadline = time.monotonic() + ready_timeout_s
        for proc, fd in pending:
            running.endpoints.extend(_await_ready(proc, fd, deadline))
    except BaseException:
        running.stop(grace_s=5.0)
        raise
    order = {d.der_id: i for i, d in enumerate(devices)}
    running.endpoints.sort(key=lambda e: order.get(e["der_id"], 0))
    return running
