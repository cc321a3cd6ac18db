"""Benchmark peer: N SunSpec simulators in one process (the simulators' own classes).

    python bench/gateway_sim_worker.py --count N --prefix X --duration S

Prints one JSON line with the endpoints when every server listens, steps the physics
every second, and exits after ``--duration`` seconds or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from datetime import UTC, datetime

from simulators.physics import example_ratings, make_model
from simulators.sunspec import SunSpecDevice, SunSpecServer
from vpp.domain import DerKind

KINDS = [DerKind.PV, DerKind.BATTERY, DerKind.PV, DerKind.CHP, DerKind.EV_CHARGER]


async def main(count: int, prefix: str, duration: float) -> None:
    devices: list[SunSpecDevice] = []
    endpoints = []
    servers = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        der_id = f"{prefix}-{i:05d}"
        r = example_ratings(kind)
        dev = SunSpecDevice(make_model(kind, der_id, r, seed=1))
        server = SunSpecServer(dev)
        port = await server.start()
        devices.append(dev)
        servers.append(server)
        endpoints.append(
            {"der_id": der_id, "kind": kind.value, "protocol": "sunspec",
             "host": "127.0.0.1", "port": port, "unit_id": 1,
             "ratings": {"p_min_w": r.p_min_w, "p_max_w": r.p_max_w,
                         "energy_wh": r.energy_wh, "q_max_var": r.q_max_var}}
        )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(duration, stop.set)
    print(json.dumps(endpoints), flush=True)
    last = datetime.now(UTC)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        now = datetime.now(UTC)
        for dev in devices:
            dev.tick(now, (now - last).total_seconds())
        last = now
    for server in servers:
        await server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="sim")
    p.add_argument("--duration", type=float, default=600.0)
    a = p.parse_args()
    asyncio.run(main(a.count, a.prefix, a.duration))
    sys.exit(0)
