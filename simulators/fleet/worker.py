"""A worker process: serves a shard of the fleet until SIGTERM / SIGINT.

    python -m simulators.fleet.worker --ready-fd FD [--step-s 1.0] < devices.json

Reads a JSON list of :class:`~simulators.fleet.spec.DeviceSpec` on stdin, starts one
server per device, writes the endpoints as one JSON line to file descriptor FD (then
closes it: the parent knows the shard is up), steps the physics every ``step_s`` of
wall-clock time and publishes into the IEC 61850 models.  On SIGTERM it stops every
server and exits 0.  (libiec61850 prints to stdout, hence the separate descriptor.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulators.fleet.endpoints import endpoint_of
from simulators.fleet.spec import DeviceSpec
from simulators.physics import DerModel, make_model
from vpp.codecs.scl import SclDocument, parse_scl

log = logging.getLogger("simulators.worker")
PORT_ATTEMPTS = 5
TICK_CHUNK = 50  # devices stepped between two looks at the sockets
IEC_SWEEP_S = 0.003  # how often the IEC 61850 servers of a worker look for requests
MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Shard:
    def __init__(self, devices: list[DeviceSpec], step_s: float, models_dir: Path) -> None:
        self.devices = devices
        self.step_s = step_s
        self.models_dir = models_dir
        self.sunspec: list[Any] = []  # SunSpecServer
        self.iec: list[Any] = []  # IecServer
        self.endpoints: list[dict[str, Any]] = []
        self._docs: dict[str, SclDocument] = {}
        self._last: dict[str, datetime] = {}

    def _model(self, d: DeviceSpec) -> DerModel:
        return make_model(d.kind, d.der_id, d.der_ratings, params=d.params, seed=d.seed)

    def _doc(self, kind: str) -> SclDocument:
        if kind not in self._docs:
            text = (self.models_dir / f"{kind}.icd").read_text(encoding="utf-8")
            self._docs[kind] = parse_scl(text)
        return self._docs[kind]

    async def start(self) -> None:
        for d in self.devices:
            if d.protocol == "sunspec":
                await self._start_sunspec(d)
            else:
                self._start_iec(d)

    async def _start_sunspec(self, d: DeviceSpec) -> None:
        from simulators.sunspec import SunSpecDevice, SunSpecServer

        server = SunSpecServer(SunSpecDevice(self._model(d), unit_id=d.unit_id), d.host, d.port)
        port = await server.start()
        self.sunspec.append(server)
        self.endpoints.append(endpoint_of(d, port))

    def _start_iec(self, d: DeviceSpec) -> None:
        from simulators.iec61850.server import IecServer

        port = d.port or free_port(d.host)
        for attempt in range(PORT_ATTEMPTS):
            server = IecServer(
                self._model(d), self._doc(d.kind), d.ied, host=d.host, port=port,
                ctl_model=d.ctl_model or None,
            )  # fmt: skip
            try:
                server.start()
            except OSError:
                # another program took the port the launcher probed: take another one
                # (a port the fleet file asks for is not changed behind its back)
                if attempt == PORT_ATTEMPTS - 1 or (d.port and not d.auto_port):
                    raise
                log.warning("%s: port %d is taken, trying another", d.der_id, port)
                port = free_port(d.host)
                continue
            self.iec.append(server)
            self.endpoints.append(endpoint_of(d, port, self.models_dir / f"{d.kind}.icd"))
            return

    def tick(self, now: datetime, part: slice = slice(None)) -> None:
        for server in self.sunspec[part]:
            dev = server.device
            dt = (now - self._last.get(dev.model.der_id, now)).total_seconds()
            dev.tick(now, dt)
            self._last[dev.model.der_id] = now
        for server in self.iec[part]:
            m = server.model
            dt = (now - self._last.get(m.der_id, now)).total_seconds()
            m.step(now, dt)
            self._last[m.der_id] = now
            server.publish(now)

    async def tick_in_chunks(self, now: datetime) -> None:
        """Step everything, yielding to requests between chunks of devices."""
        for start in range(0, max(len(self.sunspec), len(self.iec)), TICK_CHUNK):
            self.tick(now, slice(start, start + TICK_CHUNK))
            for server in self.iec:
                server.serve_once()
            await asyncio.sleep(0)

    async def run(self, stop: asyncio.Event) -> None:
        """Step the physics every ``step_s``; between steps, sweep the IEC servers."""
        loop = asyncio.get_running_loop()
        self.tick(datetime.now(UTC))
        next_tick = loop.time() + self.step_s
        while not stop.is_set():
            if self.iec:
                for server in self.iec:
                    server.serve_once()
                await asyncio.sleep(IEC_SWEEP_S)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_tick - loop.time()))
            if loop.time() >= next_tick:
                await self.tick_in_chunks(datetime.now(UTC))
                next_tick += self.step_s
                if next_tick < loop.time():  # fell behind: do not try to catch up
                    next_tick = loop.time() + self.step_s

    async def stop(self) -> None:
        for server in self.sunspec:
            await server.stop()
        for server in self.iec:
            server.stop()
        self.sunspec.clear()
        self.iec.clear()


async def serve(devices: list[DeviceSpec], ready_fd: int, step_s: float, models_dir: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    shard = Shard(devices, step_s, models_dir)
    try:
        await shard.start()
        gc.freeze()  # the servers' long-lived objects need not be scanned again
        with os.fdopen(ready_fd, "w", encoding="utf-8") as ready:
            ready.write(json.dumps(shard.endpoints) + "\n")
        await shard.run(stop)
    finally:
        await shard.stop()


def filter_library_chatter() -> None:
    """libiec61850's Python glue prints a line per control to stderr; drop those lines."""
    read_fd, write_fd = os.pipe()
    real = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as lines:
            for line in lines:
                if b"Handler::" not in line:
                    os.write(real, line)

    threading.Thread(target=pump, name="stderr-filter", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulators.fleet.worker")
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--step-s", type=float, default=1.0)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    filter_library_chatter()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    devices = [DeviceSpec(**d) for d in json.load(sys.stdin)]
    asyncio.run(serve(devices, args.ready_fd, args.step_s, args.models_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
