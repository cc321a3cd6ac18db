"""Safety: a held setpoint is refreshed while commands keep coming, released to the
default mode when they stop or the uplink is lost, and the device reverts by itself
when the gateway process is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import yaml
from open61850.mms import MmsClient, ObjectName

from simulators.fleet import start_fleet
from tests.harness.gateway import GW, command, make_config, running, send
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind

#: the test itself: a setpoint is held this long (past the device's own reversion time of
#: 3 s) with no further command, and must still be in force, refreshed by the gateway
HELD_PAST_DEVICE_REVERSION_S = 4.5
#: the test itself: held past one reversion period (4 s), the gateway refreshing it
HELD_PAST_ONE_REVERSION_S = 5.0


async def test_setpoint_refreshed_then_released_when_commands_stop(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1}, step_s=0.2)
    bat = fleet.devices["bat-0001"]
    cfg = make_config(
        command_keys,
        fleet.endpoints,
        nats_url,
        tmp_path / "gw",
        gateway_id=GW + "-s1",
        safety={"command_timeout_s": 6, "device_reversion_s": 3},
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        async with running(build_gateway(cfg)) as gw:
            await async_wait_until(
                lambda: all(r.connected for r in gw.gateway.runners.values()), 10
            )
            cmd = command("bat-0001", 1, -1500.0, valid_s=120, gateway_id=GW + "-s1")
            t_sent = time.monotonic()
            await send(js, cmd, command_keys)
            await async_wait_until(lambda: bat.model.setpoint_w == -1500.0, 5)
            # past the device's own reversion time (3 s): the gateway keeps refreshing it
            await asyncio.sleep(HELD_PAST_DEVICE_REVERSION_S - (time.monotonic() - t_sent))
            assert bat.model.setpoint_w == -1500.0 and bat.controls["WSetEna"] == 1
            # no further command: back to default within command_timeout_s (6 s)
            await async_wait_until(lambda: bat.model.setpoint_w is None, 6.0)
            released_after = time.monotonic() - t_sent
            assert released_after <= 6.0 + 1.0, released_after
            assert bat.controls["WSetEna"] == 0
            reverted = sample(
                gw.metrics.registry, "vpp_gateway_reverted_total", reason="no-command"
            )
            assert reverted == 1
    finally:
        await nc.close()


async def test_uplink_loss_returns_devices_to_default_within_bound(
    command_keys: CommandKeys, fleet_factory, nats_server_factory, tmp_path: Path
) -> None:
    server = nats_server_factory()
    fleet = await fleet_factory({DerKind.BATTERY: 1, DerKind.CHP: 1}, step_s=0.2)
    gw_id = GW + "-s2"
    cfg = make_config(
        command_keys,
        fleet.endpoints,
        server.url,
        tmp_path / "gw",
        gateway_id=gw_id,
        safety={"command_timeout_s": 4, "device_reversion_s": 30},
    )
    nc = await nats.connect(server.url, max_reconnect_attempts=0)
    js = nc.jetstream()
    await ensure_streams(js)
    async with running(build_gateway(cfg)) as gw:
        await async_wait_until(lambda: all(r.connected for r in gw.gateway.runners.values()), 10)
        for i, (der, p) in enumerate((("bat-0001", -2000.0), ("chp-0001", 30000.0))):
            c = command(der, 1, p, valid_s=600, command_id=f"s2-{i}", gateway_id=gw_id)
            await send(js, c, command_keys)
        await async_wait_until(
            lambda: all(d.model.setpoint_w is not None for d in fleet.devices.values()), 5
        )
        await nc.close()
        server.kill()
        t_lost = time.monotonic()
        await async_wait_until(lambda: not gw.uplink.connected, 5)
        took = await async_wait_until(
            lambda: all(d.model.setpoint_w is None for d in fleet.devices.values()), 6
        )
        assert time.monotonic() - t_lost <= 4.0 + 1.0, took
        assert sample(gw.metrics.registry, "vpp_gateway_reverted_total", reason="uplink") == 2


async def test_killed_gateway_devices_revert_by_themselves(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 2, DerKind.PV: 1}, step_s=0.2)
    gw_id = GW + "-kill"
    cfg = make_config(
        command_keys,
        fleet.endpoints,
        nats_url,
        tmp_path / "gw",
        gateway_id=gw_id,
        safety={"command_timeout_s": 60, "device_reversion_s": 4},
    )
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    with (tmp_path / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "vpp"), "gateway", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        targets = {"bat-0001": -2000.0, "bat-0002": 2500.0, "pv-0001": 2000.0}
        for i, (der, p) in enumerate(targets.items()):
            c = command(der, 1, p, valid_s=600, command_id=f"kill-{i}", gateway_id=gw_id)
            await send(js, c, command_keys)
        await async_wait_until(
            lambda: all(
                (d.model.setpoint_w if d.model.kind is not DerKind.PV else d.model.limit_w)
                is not None
                for d in fleet.devices.values()
            ),
            30,
        )
        await asyncio.sleep(HELD_PAST_ONE_REVERSION_S)
        assert all(
            (d.model.setpoint_w if d.model.kind is not DerKind.PV else d.model.limit_w) is not None
            for d in fleet.devices.values()
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        t_killed = time.monotonic()
        took = await async_wait_until(
            lambda: all(
                d.model.setpoint_w is None and d.model.limit_w is None
                for d in fleet.devices.values()
            ),
            4.0 + 2.0,
        )
        print(f"devices reverted {took:.2f} s after SIGKILL (reversion time 4 s)")
        assert time.monotonic() - t_killed <= 6.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await nc.close()


async def test_sigterm_releases_devices_and_exits(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1}, step_s=0.2)
    bat = fleet.devices["bat-0001"]
    gw_id = GW + "-term"
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    with (tmp_path / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "vpp"), "gateway", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        await send(js, command("bat-0001", 1, -1800.0, valid_s=600, gateway_id=gw_id), command_keys)
        await async_wait_until(lambda: bat.model.setpoint_w == -1800.0, 30)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 20)
        assert code == 0, (tmp_path / "gateway.log").read_text()
        assert bat.model.setpoint_w is None and bat.controls["WSetEna"] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await nc.close()


def _wset_ena(endpoint: dict) -> bool:
    """``DRCC1.WSetEna.stVal`` of an IEC 61850 simulator: true while a setpoint is in force."""
    with MmsClient.connect(endpoint["host"], endpoint["port"], timeout=5.0) as client:
        return bool(client.read(ObjectName("DRCC1$ST$WSetEna$stVal", endpoint["ld"])).value)


async def test_killed_gateway_iec61850_devices_revert_by_themselves(
    command_keys: CommandKeys, nats_url: str, tmp_path: Path
) -> None:
    """Like the SunSpec test above, for IEC 61850: the driver writes
    ``DRCC1.OutWSetRvrtTms`` with every setpoint, so the devices fall back on their own."""
    group = {"protocol": "iec61850", "count": 1}
    fleet = start_fleet(
        {
            "name": "iec-kill",
            "seed": 7,
            "step_s": 0.2,
            "addressing": {"iec61850": {"host": "127.0.0.1", "base_port": 0}},
            "groups": [
                {**group, "kind": "battery", "id_prefix": "ibat"},
                {**group, "kind": "chp", "id_prefix": "ichp"},
            ],
        }
    )
    proc = None
    nc = None
    try:
        endpoints = {e["der_id"]: e for e in fleet.endpoints}
        gw_id = GW + "-iec-kill"
        cfg = make_config(
            command_keys,
            list(endpoints.values()),
            nats_url,
            tmp_path / "gw",
            gateway_id=gw_id,
            safety={"command_timeout_s": 60, "device_reversion_s": 4},
        )
        path = tmp_path / "gateway.yaml"
        path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        with (tmp_path / "gateway.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "vpp"), "gateway", "--config", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_streams(js)
        targets = {"ibat-0001": -2000.0, "ichp-0001": endpoints["ichp-0001"]["ratings"]["p_max_w"]}
        for i, (der, p) in enumerate(targets.items()):
            c = command(der, 1, p, valid_s=600, command_id=f"iec-kill-{i}", gateway_id=gw_id)
            await send(js, c, command_keys)
        states: dict[str, bool] = {}

        def poll() -> bool:
            states.update({d: _wset_ena(e) for d, e in endpoints.items()})
            return True

        await async_wait_until(lambda: poll() and all(states.values()), 30, step_s=0.2)
        await asyncio.sleep(HELD_PAST_ONE_REVERSION_S)
        poll()
        assert all(states.values()), (tmp_path / "gateway.log").read_text()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        t_killed = time.monotonic()
        took = await async_wait_until(
            lambda: poll() and not any(states.values()), 4.0 + 2.0, step_s=0.1
        )
        print(f"IEC 61850 devices reverted {took:.2f} s after SIGKILL (reversion time 4 s)")
        assert time.monotonic() - t_killed <= 6.0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if nc is not None:
            await nc.close()
        fleet.stop()
