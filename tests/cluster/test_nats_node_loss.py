"""Kill one NATS node of three (SIGKILL) under a gateway with devices at 1 Hz and a
projector: every reading the gateway produced is in the stream once and in the read
model; the gateway reconnects to a surviving node; the node, started again, catches up.

The TELEMETRY stream's leader is moved to the gateway's node first, so the kill takes
both the gateway's connection and the stream's leader (the worst case of the three)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.harness.device_health import register_endpoints, running_projector
from tests.harness.gateway import make_config, running
from tests.harness.nats_cluster import (
    last_seqs,
    node_of,
    step_down_to,
    stream_leader,
    telemetry_keys,
)
from tests.harness.read_models import ReadModels
from tests.harness.signing import CommandKeys
from tests.harness.sunspec_fleet import start_sunspec_fleet
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.client import connect
from vpp.adapters.store import migrate
from vpp.adapters.store.schema import telemetry
from vpp.bootstrap import build_gateway
from vpp.bootstrap.nats_client import settings_for
from vpp.bootstrap.nats_cluster import SecureNatsCluster, start_secure_nats_cluster
from vpp.domain import DerKind

#: the test itself: readings flow this long before the kill, and with the node down
STEADY_S = 5.0
#: a stream elects a new leader and the gateway reconnects within this (with margin)
FAILOVER_S = 20.0
#: the node started again holds the stream's last sequence within this
CATCH_UP_S = 30.0
#: after the gateway stopped, the projector has everything in the read model within this
DRAIN_S = 60.0


def kinds_for(n: int) -> dict[DerKind, int]:
    order = [DerKind.PV, DerKind.BATTERY, DerKind.EV_CHARGER, DerKind.CHP, DerKind.HEAT_PUMP]
    out = dict.fromkeys(order, n // len(order))
    out[DerKind.PV] += n - sum(out.values())
    return out


def stored_keys(store: ReadModels) -> set[tuple[str, datetime]]:
    with store.engine.connect() as con:
        rows = con.execute(select(telemetry.c.der_id, telemetry.c.ts)).all()
    return {(r.der_id, r.ts) for r in rows}


@pytest.mark.parametrize(
    ("devices", "down_s"),
    [(20, 10.0), pytest.param(100, 30.0, marks=pytest.mark.slow)],
    ids=["20dev-10s", "100dev-30s"],
)
async def test_one_node_killed_loses_and_doubles_nothing(
    command_keys: CommandKeys, mysql_url: str, tmp_path: Path, devices: int, down_s: float
) -> None:
    gw_id = f"gw-cluster-{devices}"
    cluster: SecureNatsCluster = await asyncio.to_thread(
        start_secure_nats_cluster, tmp_path / "run", (gw_id,)
    )
    fleet = await start_sunspec_fleet(kinds_for(devices), 1.0)
    migrate.upgrade(mysql_url)
    store = ReadModels.from_url(mysql_url)
    ops = await connect(settings_for(None, cluster.client_file("ops")), "test-ops")
    try:
        register_endpoints(store, fleet.endpoints, gw_id, "site-1")
        nats_doc = yaml.safe_load(cluster.gateway_client_file(gw_id).read_text())
        assert nats_doc["url"] == cluster.client_url  # every node: a survivor to go to
        cfg = make_config(
            command_keys, fleet.endpoints, cluster.client_url, tmp_path / "gw",
            gateway_id=gw_id, nats=nats_doc,
        )  # fmt: skip
        built = build_gateway(cfg)
        produced: set[tuple[str, datetime]] = set()
        collect = built.gateway.collect

        def tap(reading):  # every reading the gateway produced, then on to its buffer
            produced.add((reading.der_id, reading.ts))
            collect(reading)

        built.gateway.collect = tap
        for runner in built.gateway.runners.values():
            runner.sink = tap
        projector = settings_for(None, cluster.client_file("projector"))
        async with running_projector(projector, mysql_url), running(built) as gw:  # type: ignore[arg-type]
            await async_wait_until(lambda: gw.uplink.connected, 20)
            await async_wait_until(lambda: len(stored_keys(store)) >= devices, 30, in_thread=True)
            victim = node_of(cluster, gw.uplink.nc)
            await step_down_to(ops, "TELEMETRY", victim.name)
            await async_wait_until(
                lambda: _leader_is(ops, "TELEMETRY", victim.name), 15, step_s=0.2
            )
            await asyncio.sleep(STEADY_S)  # the test itself: readings flow before the kill

            victim.kill()
            t_kill = time.monotonic()
            await async_wait_until(
                lambda: gw.uplink.connected and node_of(cluster, gw.uplink.nc) is not victim,
                FAILOVER_S,
                step_s=0.1,
            )
            reconnected_s = time.monotonic() - t_kill
            new_leader = await _wait_leader(ops, "TELEMETRY", victim.name)
            await asyncio.sleep(max(0.0, down_s - (time.monotonic() - t_kill)))  # the outage
            stored_while_down = len(stored_keys(store))

            await asyncio.to_thread(victim.start)
            t_back = time.monotonic()
            survivor = next(n for n in cluster.nodes if n is not victim)
            await async_wait_until(
                lambda: last_seqs(victim, "TELEMETRY") == last_seqs(survivor, "TELEMETRY"),
                CATCH_UP_S,
                step_s=0.2,
                in_thread=True,
            )
            caught_up_s = time.monotonic() - t_back
            await asyncio.sleep(STEADY_S)  # the test itself: readings flow after the return
            built.stop()
            await async_wait_until(lambda: gw.buffer.depth_batches == 0, 30)
            assert gw.buffer.dropped_readings == 0
            await async_wait_until(
                lambda: len(stored_keys(store)) >= len(produced), DRAIN_S, 0.2, in_thread=True
            )
        in_stream = await telemetry_keys(ops, "TELEMETRY")
        stored = stored_keys(store)
        final = {n.name: last_seqs(n, "TELEMETRY") for n in cluster.nodes}
        dupes = sum(c - 1 for c in in_stream.values())
        print(
            f"\n{devices} devices, node {victim.name} (gateway's, TELEMETRY leader) killed "
            f"for {down_s:.0f} s: gateway on another node after {reconnected_s:.1f} s, new "
            f"leader {new_leader}; stored {stored_while_down} while down; produced "
            f"{len(produced)}, in stream {len(in_stream)} unique / {sum(in_stream.values())}, "
            f"in read model {len(stored)}; node back, caught up in {caught_up_s:.1f} s; "
            f"last seqs {final}"
        )
        assert dupes == 0
        assert set(in_stream) == produced
        assert stored == produced
        assert len(set(final.values())) == 1, final  # every node holds the same stream
    finally:
        await ops.close()
        await fleet.close()
        store.close()
        await asyncio.to_thread(cluster.stop)


async def _leader_is(ops, stream: str, name: str) -> bool:
    try:
        return await stream_leader(ops, stream) == name
    except Exception:  # electing
        return False


async def _wait_leader(ops, stream: str, not_: str) -> str | None:
    """The stream's new leader (another node than ``not_``)."""
    found: list[str | None] = []

    async def elected() -> bool:
        try:
            leader = await stream_leader(ops, stream)
        except Exception:
            return False
        found.append(leader)
        return leader is not None and leader != not_

    await async_wait_until(elected, FAILOVER_S, step_s=0.2)
    return found[-1]
