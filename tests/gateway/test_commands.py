"""Commands through a real nats-server to real SunSpec simulators: applied and acked;
expired, replayed, unknown-DER and out-of-range commands refused with the reason and never
written to the device; duplicates and malformed messages harmless; restart-safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats

from tests.harness.gateway import GW, acks_of, command, make_config, read_stream, running, send
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import AckOutcome, DerKind

#: the test itself: a command valid 3 s from now is sent, and for this long (while it is
#: not yet valid) the device must not have it
BEFORE_VALID_FROM_S = 2.0


def count_704_writes(device) -> list[int]:
    """Instrument the simulator: count writes that touch model 704 (controls)."""
    counter = [0]
    start = device.image.model_addresses[704]
    end = start + 67
    original = device.on_write

    def on_write(address, values, now):
        if start <= address < end:
            counter[0] += 1
        return original(address, values, now)

    device.on_write = on_write
    return counter


async def test_commands_applied_refused_and_acked(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1, DerKind.PV: 1})
    bat, pv = fleet.devices["bat-0001"], fleet.devices["pv-0001"]
    cfg = make_config(
        command_keys,
        fleet.endpoints,
        nats_url,
        tmp_path / "gw",
        gateway_id=GW,
        safety={"command_timeout_s": 60, "device_reversion_s": 30},
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            await async_wait_until(
                lambda: all(r.connected for r in gw.gateway.runners.values()), 20, step_s=0.1
            )
            writes = count_704_writes(bat)
            ok = command("bat-0001", 1, -2000.0)
            await send(js, ok, command_keys)
            acks = await acks_of(nats_url, 1)
            a = acks[ok.command_id]
            assert a.outcome is AckOutcome.APPLIED and a.p_w_applied == -2000.0, a
            assert not a.clamped and a.dispatch_id == "d-1"
            assert bat.controls["WSetEna"] == 1 and bat.controls["WSet"] == -2000
            assert bat.controls["WSetRvrtTms"] == 30  # the device falls back by itself
            assert bat.model.setpoint_w == -2000.0
            assert writes[0] == 1

            # refused: never written to the device
            replay = command("bat-0001", 1, -1000.0)
            expired = command(
                "bat-0001",
                5,
                -1000.0,
                valid_from=datetime.now(UTC) - timedelta(minutes=2),
                valid_until=datetime.now(UTC) - timedelta(minutes=1),
            )
            unknown = command("ghost-1", 9, 100.0)
            too_big = command("bat-0001", 6, 50_000.0)
            for c in (replay, expired, unknown, too_big):
                await send(js, c, command_keys)
            # duplicate delivery of the applied command (a new msg id defeats JetStream's
            # dedupe, as a re-publish after the window would)
            await send(js, ok, command_keys, msg_id="again-1")
            # malformed but signed: verified, then dead-lettered; the consumer lives on
            bad_subject, bad = subjects.command(GW, "bat-0001"), b'{"v": 1, "seq": "x"}'
            await js.publish(bad_subject, bad, headers=command_keys.headers(bad_subject, bad))
            clamped = command("bat-0001", 7, -5200.0)
            curtail = command("pv-0001", 1, 3000.0)
            await send(js, clamped, command_keys)
            await send(js, curtail, command_keys)
            acks = await acks_of(nats_url, 7)
            assert acks["_count"] == 7, acks  # the duplicate's ack was deduplicated
            r = acks[replay.command_id]
            assert r.outcome is AckOutcome.REJECTED and "not newer" in r.reason
            assert acks[expired.command_id].outcome is AckOutcome.EXPIRED
            u = acks[unknown.command_id]
            assert u.outcome is AckOutcome.REJECTED and "unknown DER" in u.reason
            big = acks[too_big.command_id]
            assert big.outcome is AckOutcome.REJECTED and "out of ratings" in big.reason
            c = acks[clamped.command_id]
            assert c.outcome is AckOutcome.APPLIED and c.clamped and c.p_w_applied == -5000.0
            assert "clamped" in c.reason
            p = acks[curtail.command_id]
            assert p.outcome is AckOutcome.APPLIED and p.p_w_applied == 3000.0
            assert pv.controls["WMaxLimPctEna"] == 1 and pv.model.limit_w == 3000.0
            assert writes[0] == 2  # ok + clamped; nothing refused reached the device
            assert bat.controls["WSet"] == -5000
            dead = await read_stream(nats_url, "DEADLETTER", "vpp.deadletter.commands")
            assert any(b"seq must be an integer" in m.data for m in dead)
            rejected = sample(gw.metrics.registry, "vpp_gateway_commands_total", outcome="rejected")
            assert rejected == 3

        # restart with the same data dir: old sequences stay refused
        async with running(build_gateway(cfg)) as gw2:
            assert await gw2.uplink.wait_connected(10)
            old = command("bat-0001", 2, -1000.0)
            await send(js, old, command_keys)
            acks = await acks_of(nats_url, 8)
            o = acks[old.command_id]
            assert o.outcome is AckOutcome.REJECTED and "last applied 7" in o.reason
    finally:
        await nc.close()


async def test_command_waits_for_its_valid_from(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1})
    bat = fleet.devices["bat-0001"]
    gw_id = GW + "-later"
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            start = datetime.now(UTC) + timedelta(seconds=3)
            later = command(
                "bat-0001", 1, -1200.0, valid_from=start, valid_until=start + timedelta(60),
                gateway_id=gw_id,
            )  # fmt: skip
            await send(js, later, command_keys)
            await asyncio.sleep(BEFORE_VALID_FROM_S)
            assert bat.model.setpoint_w is None  # not before its time
            acks = await acks_of(nats_url, 1, gateway_id=gw_id)
            a = acks[later.command_id]
            assert a.outcome is AckOutcome.APPLIED and a.ts >= start, a
            assert bat.model.setpoint_w == -1200.0
    finally:
        await nc.close()
