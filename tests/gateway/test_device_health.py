"""Device health from the gateway's view into the store: a SunSpec simulator that stops
answering, an IEC 61850 simulator whose process is killed, and a device that answers
garbage become ``ders.healthy`` false in the store and the API within seconds (with the
reason), and the stopped ones true again once they answer; the dispatcher's store port
names them (:meth:`unhealthy`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from pathlib import Path

import nats

from simulators.fleet import expand_fleet, start_fleet
from simulators.fleet.launcher import assign_free_ports
from simulators.sunspec import SunSpecServer
from tests.harness.api_world import World, make_world
from tests.harness.device_health import register_endpoints, running_projector
from tests.harness.gateway import make_config, running
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind

#: how soon a device that stops answering must be unhealthy in the store (s): a failed
#: read (timeout 2 s + 1 s), the next flush (1 s), the projector's fetch (1 s), margin
UNHEALTHY_WITHIN_S = 10.0


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    rng = random.Random(5)
    with contextlib.suppress(Exception):
        while data := await reader.read(256):
            writer.write(bytes(rng.randrange(256) for _ in range(len(data) + 7)))
            await writer.drain()
    writer.close()


def _health(world: World, der_ids: list[str]) -> dict[str, tuple[bool, str]]:
    recs = world.store.registry.der_records(der_ids)
    return {d: (r.healthy, r.health_reason) for d, r in recs.items() if r.health_ts is not None}


async def _api_health(world: World, der_id: str) -> dict[str, object]:
    resp = await asyncio.to_thread(
        world.client.get, f"/v1/ders/{der_id}", headers=world.auth(world.key_a)
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


async def test_a_device_that_stops_answering_is_unhealthy_in_the_store_then_recovers(
    command_keys: CommandKeys, fleet_factory, nats_url: str, db_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.PV: 1, DerKind.BATTERY: 1}, step_s=0.5)
    garbage = await asyncio.start_server(_garbage, "127.0.0.1", 0)
    endpoints = [dict(e) for e in fleet.endpoints]
    endpoints.append(
        {**endpoints[0], "der_id": "pv-garbage", "port": garbage.sockets[0].getsockname()[1]}
    )
    bat = next(e["der_id"] for e in endpoints if e["kind"] == "battery")
    pv = next(e["der_id"] for e in endpoints if e["der_id"] != bat and e["kind"] == "pv")
    bat_port = next(e["port"] for e in endpoints if e["der_id"] == bat)
    ids = [e["der_id"] for e in endpoints]
    gw_id = f"gw-health-{db_url.split(':')[0].split('+')[0]}"
    cfg = make_config(command_keys, endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    nc = await nats.connect(nats_url)
    await ensure_streams(nc.jetstream())
    await nc.close()
    try:
        with make_world(db_url) as world:
            register_endpoints(world.store, endpoints, gw_id, site_id="site-a")
            dispatcher = world.store.dispatcher_store()
            async with running_projector(nats_url, db_url), running(build_gateway(cfg)):

                def stated() -> bool:
                    h = _health(world, ids)
                    return set(h) == set(ids) and h[bat][0] and h[pv][0]

                await async_wait_until(stated, 20, 0.2, in_thread=True)
                healthy_ok, reason = _health(world, ids)["pv-garbage"]
                assert not healthy_ok and "garbage" in reason.lower(), reason
                assert dispatcher.unhealthy(ids) == {"pv-garbage"}

                # the battery's simulator stops answering
                await fleet.stop_server(bat)
                stopped = time.monotonic()
                await async_wait_until(
                    lambda: not _health(world, ids)[bat][0], 20, 0.2, in_thread=True
                )
                took = time.monotonic() - stopped
                assert took <= UNHEALTHY_WITHIN_S, took
                assert dispatcher.unhealthy(ids) == {bat, "pv-garbage"}
                assert dispatcher.unhealthy([pv]) == frozenset()
                shown = await _api_health(world, bat)
                assert shown["healthy"] is False and shown["health_reason"], shown
                assert (await _api_health(world, pv))["healthy"] is True

                # it answers again: healthy in the store and the API
                server = SunSpecServer(fleet.devices[bat], port=bat_port)
                fleet.servers[bat] = server
                await server.start()
                await async_wait_until(lambda: _health(world, ids)[bat][0], 30, 0.2, in_thread=True)
                assert (await _api_health(world, bat))["healthy"] is True
                assert dispatcher.unhealthy(ids) == {"pv-garbage"}
    finally:
        garbage.close()
        await garbage.wait_closed()


async def test_an_iec61850_simulator_killed_is_unhealthy_in_the_store_then_recovers(
    command_keys: CommandKeys, nats_url: str, db_url: str, tmp_path: Path
) -> None:
    spec = {
        "name": "iec-health",
        "seed": 5,
        "step_s": 0.5,
        "addressing": {"iec61850": {"host": "127.0.0.1", "base_port": 0}},
        "groups": [{"kind": "heat_pump", "id_prefix": "ihp", "count": 1, "protocol": "iec61850"}],
    }
    # a fixed port, so that the simulator started again is where the gateway looks
    devices = [
        dataclasses.replace(d, auto_port=False) for d in assign_free_ports(expand_fleet(spec))
    ]
    fleet = start_fleet(devices, ready_timeout_s=60)
    endpoints = fleet.endpoints
    der_id = endpoints[0]["der_id"]
    gw_id = f"gw-iec-health-{db_url.split(':')[0].split('+')[0]}"
    cfg = make_config(command_keys, endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    nc = await nats.connect(nats_url)
    await ensure_streams(nc.jetstream())
    await nc.close()
    try:
        with make_world(db_url) as world:
            register_endpoints(world.store, endpoints, gw_id, site_id="site-a")
            dispatcher = world.store.dispatcher_store()
            async with running_projector(nats_url, db_url), running(build_gateway(cfg)):
                await async_wait_until(
                    lambda: _health(world, [der_id]).get(der_id, (False, ""))[0],
                    30,
                    0.2,
                    in_thread=True,
                )
                await asyncio.to_thread(fleet.stop)  # the simulator's process is gone
                stopped = time.monotonic()
                await async_wait_until(
                    lambda: not _health(world, [der_id])[der_id][0], 20, 0.2, in_thread=True
                )
                took = time.monotonic() - stopped
                assert took <= UNHEALTHY_WITHIN_S, took
                assert dispatcher.unhealthy([der_id]) == {der_id}
                assert (await _api_health(world, der_id))["healthy"] is False

                fleet = await asyncio.to_thread(start_fleet, devices, ready_timeout_s=60)
                await async_wait_until(
                    lambda: _health(world, [der_id])[der_id][0], 40, 0.2, in_thread=True
                )
                assert dispatcher.unhealthy([der_id]) == frozenset()
                assert (await _api_health(world, der_id))["healthy"] is True
    finally:
        fleet.stop()
