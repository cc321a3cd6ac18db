"""Faults: an unreachable device and one that answers garbage are marked unhealthy and
retried with backoff; the others keep their cadence; the process never crashes."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

from simulators.sunspec import SunSpecServer
from tests.harness.gateway import make_config, running
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind

#: the test itself: the window over which the good devices' cadence (1 Hz) is counted
CADENCE_WINDOW_S = 6.0


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    rng = random.Random(5)
    with contextlib.suppress(Exception):
        while data := await reader.read(256):
            writer.write(bytes(rng.randrange(256) for _ in range(len(data) + 7)))
            await writer.drain()
    writer.close()


async def test_bad_devices_unhealthy_with_backoff_others_keep_cadence(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.PV: 2, DerKind.BATTERY: 2}, step_s=0.5)
    garbage = await asyncio.start_server(_garbage, "127.0.0.1", 0)
    g_port = garbage.sockets[0].getsockname()[1]
    endpoints = [dict(e) for e in fleet.endpoints]
    endpoints.append({**endpoints[0], "der_id": "pv-garbage", "port": g_port})
    dead = endpoints[1]["der_id"]
    dead_port = endpoints[1]["port"]
    await fleet.stop_server(dead)  # unreachable from the start
    cfg = make_config(command_keys, endpoints, nats_url, tmp_path / "gw", gateway_id="gw-faults")
    try:
        async with running(build_gateway(cfg)) as gw:
            runners = gw.gateway.runners
            good = [r for d, r in runners.items() if d not in (dead, "pv-garbage")]
            await async_wait_until(lambda: all(r.healthy for r in good), 10)

            def readings(der_id: str) -> float:
                return sample(gw.metrics.registry, "vpp_gateway_readings_total", der_id=der_id)

            start = {r.der_id: readings(r.der_id) for r in good}
            await asyncio.sleep(CADENCE_WINDOW_S)
            for r in good:
                n = readings(r.der_id) - start[r.der_id]
                assert 5 <= n <= 7, (r.der_id, n)  # 1 Hz kept despite the bad neighbours
            for bad in (dead, "pv-garbage"):
                r = runners[bad]
                assert not r.healthy and not r.connected, bad
                healthy = sample(gw.metrics.registry, "vpp_gateway_device_healthy", der_id=bad)
                assert healthy == 0
                assert readings(bad) == 0
                # backoff: 1, 2, 4 s ... not one retry per poll period
                assert 1 <= r.failures <= 4, (bad, r.failures)
                assert r.last_error
            # the unreachable device comes back: retried, healthy again
            server = SunSpecServer(fleet.devices[dead], port=dead_port)
            fleet.servers[dead] = server
            await server.start()
            await async_wait_until(lambda: runners[dead].healthy, 20, step_s=0.2)
            assert not runners["pv-garbage"].healthy
    finally:
        garbage.close()
        await garbage.wait_closed()
