"""The fencing epoch against a real gateway, nats-server and SunSpec simulator: a command
of an older epoch than the highest the gateway has seen — a deposed dispatcher's, signed
with the real key — is refused (``stale-epoch``, counted) and never moves the device, also
after a gateway restart (the epoch is kept in its ledger)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats

from tests.harness.gateway import acks_of, command, make_config, running, send
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import AckOutcome, DerKind
from vpp.domain.commands import seq_at

REFUSED = "vpp_gateway_commands_refused_total"
GW_ID = "gw-epoch"


async def test_a_deposed_dispatchers_commands_are_refused_across_a_restart(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1})
    bat = fleet.devices["bat-0001"]
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=GW_ID)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)

    async def setpoint(epoch: int, p_w: float) -> Any:
        c = replace(
            command("bat-0001", seq_at(datetime.now(UTC)), p_w, gateway_id=GW_ID), epoch=epoch
        )
        await send(js, c, command_keys)  # a valid signature, whatever the epoch

        async def answered() -> bool:
            return c.command_id in await acks_of(nats_url, 0, timeout=0, gateway_id=GW_ID)

        await async_wait_until(answered, 15, step_s=0.2)
        return (await acks_of(nats_url, 0, timeout=0, gateway_id=GW_ID))[c.command_id]

    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            await async_wait_until(
                lambda: all(r.connected for r in gw.gateway.runners.values()), 20, step_s=0.1
            )
            assert (await setpoint(5, -1000.0)).outcome is AckOutcome.APPLIED
            assert gw.ledger.highest_epoch() == 5
            stale = await setpoint(4, -4000.0)  # the deposed leader, late
            assert stale.outcome is AckOutcome.REJECTED
            assert stale.reason.startswith("stale-epoch: epoch 4 is older than 5"), stale.reason
            assert bat.controls["WSet"] == -1000
            assert sample(gw.metrics.registry, REFUSED, reason="stale_epoch") == 1
            assert (await setpoint(5, -1100.0)).outcome is AckOutcome.APPLIED  # same leader
            assert (await setpoint(6, -1500.0)).outcome is AckOutcome.APPLIED  # a new one
            assert bat.controls["WSet"] == -1500
        async with running(build_gateway(cfg)) as gw:  # restarted: the epoch is kept
            assert await gw.uplink.wait_connected(10)
            assert gw.ledger.highest_epoch() == 6
            before = bat.controls["WSet"]  # (a stopped gateway returned it to its default)
            late = await setpoint(5, -4000.0)
            assert late.outcome is AckOutcome.REJECTED and late.reason.startswith("stale-epoch")
            assert bat.controls["WSet"] == before != -4000
            assert sample(gw.metrics.registry, REFUSED, reason="stale_epoch") == 1
            assert (await setpoint(6, -800.0)).outcome is AckOutcome.APPLIED
            assert bat.controls["WSet"] == -800
    finally:
        await nc.close()
