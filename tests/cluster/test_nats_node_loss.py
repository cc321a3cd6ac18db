"""Kill one NATS node of three (SIGKILL) under a gateway with devices at 1 Hz, a
projector and a dispatcher following a running dispatch: every reading the gateway
produced is in the stream once and in the read model; the gateway reconnects to a
surviving node; the dispatch goes on (commands sent after the kill are applied by the
devices and their acks reach the read model); the node, started again, catches up.

The TELEMETRY stream's leader is moved to the gateway's node first, so the kill takes
both the gateway's connection and the stream's leader (the worst case of the three)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.harness.device_health import register_endpoints, running_projector
from tests.harness.dispatching import insert_dispatch, row
from tests.harness.gateway import make_config, running
from tests.harness.nats_cluster import (
    PROCESSES,
    last_seqs,
    node_of,
    placement,
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
from vpp.adapters.store.schema import acks, telemetry
from vpp.application.ports import RegistryImport
from vpp.bootstrap import build_gateway
from vpp.bootstrap.dispatcher import run_dispatcher
from vpp.bootstrap.nats_client import settings_for
from vpp.bootstrap.nats_cluster import SecureNatsCluster, start_secure_nats_cluster
from vpp.domain import DerKind, DispatchStatus, Plant, Tenant
from vpp.domain.commands import AckOutcome

#: the test itself: readings flow this long before the kill, and with the node down
STEADY_S = 5.0
#: a stream elects a new leader and the gateway reconnects within this (with margin)
FAILOVER_S = 20.0
#: the node started again holds the stream's last sequence within this
CATCH_UP_S = 30.0
#: after the gateway stopped, the projector has everything in the read model within this
DRAIN_S = 60.0
#: a command sent after the kill is applied and its ack projected within this of the return
#: (the dispatcher renews setpoints well within their validity)
COMMAND_AFTER_KILL_S = 40.0
#: the plant's batteries discharge this much each in the dispatch (W)
DISPATCH_W_PER_BATTERY = 500.0


def kinds_for(n: int) -> dict[DerKind, int]:
    order = [DerKind.PV, DerKind.BATTERY, DerKind.EV_CHARGER, DerKind.CHP, DerKind.HEAT_PUMP]
    out = dict.fromkeys(order, n // len(order))
    out[DerKind.PV] += n - sum(out.values())
    return out


def stored_keys(store: ReadModels) -> set[tuple[str, datetime]]:
    with store.engine.connect() as con:
        rows = con.execute(select(telemetry.c.der_id, telemetry.c.ts)).all()
    return {(r.der_id, r.ts) for r in rows}


def applied_since(store: ReadModels, since: datetime) -> int:
    """Acks in the read model of commands the devices applied at or after ``since``."""
    q = select(func.count()).where(acks.c.ts >= since, acks.c.outcome == AckOutcome.APPLIED)
    with store.engine.connect() as con:
        return int(con.execute(q).scalar_one())


def start_dispatch(store: ReadModels, db_url: str, fleet_endpoints: list[dict]) -> str:
    """A plant of the fleet's batteries and a dispatch of it running from now for an hour."""
    bats = frozenset(e["der_id"] for e in fleet_endpoints if e["kind"] == DerKind.BATTERY)
    store.registry.import_registry(
        RegistryImport(tenants=[Tenant("t1")], plants=[Plant("plant-c", "t1", bats)])
    )
    target = DISPATCH_W_PER_BATTERY * len(bats)
    insert_dispatch(db_url, "d-cluster", "absolute", [(datetime.now(UTC), 3600.0, target)],
                    plant_id="plant-c")  # fmt: skip
    return "d-cluster"


@contextlib.asynccontextmanager
async def running_dispatcher(
    cluster: SecureNatsCluster, db_url: str, keys: CommandKeys
) -> AsyncIterator[None]:
    stop, ready = asyncio.Event(), asyncio.Event()
    settings = settings_for(None, cluster.client_file("dispatcher"))
    task = asyncio.create_task(
        run_dispatcher(settings, db_url, stop, ready=ready, signing_keys=keys.directory)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


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
        start_dispatch(store, mysql_url, fleet.endpoints)
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
        async with (
            running_projector(projector, mysql_url),  # type: ignore[arg-type]
            running(built) as gw,
            running_dispatcher(cluster, mysql_url, command_keys),
        ):
            await async_wait_until(lambda: gw.uplink.connected, 20)
            await async_wait_until(lambda: len(stored_keys(store)) >= devices, 30, in_thread=True)
            t0 = datetime.now(UTC)
            await async_wait_until(lambda: applied_since(store, t0) > 0, 30, in_thread=True)
            victim = node_of(cluster, gw.uplink.nc)
            await step_down_to(ops, "TELEMETRY", victim.name)
            await async_wait_until(
                lambda: _leader_is(ops, "TELEMETRY", victim.name), 15, step_s=0.2
            )
            await asyncio.sleep(STEADY_S)  # the test itself: readings flow before the kill
            before = placement(cluster.nodes)
            assert sorted(p for ps in before.values() for p in ps) == sorted(PROCESSES), before

            victim.kill()
            t_kill, killed_at = time.monotonic(), datetime.now(UTC)
            await async_wait_until(
                lambda: gw.uplink.connected and node_of(cluster, gw.uplink.nc) is not victim,
                FAILOVER_S,
                step_s=0.1,
            )
            reconnected_s = time.monotonic() - t_kill
            survivors = [n for n in cluster.nodes if n is not victim]
            await async_wait_until(  # every process on a surviving node (theirs died or not)
                lambda: (
                    sorted(p for ps in placement(survivors).values() for p in ps)
                    == sorted(PROCESSES)
                ),
                FAILOVER_S,
                0.2,
                in_thread=True,
            )
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
            await async_wait_until(
                lambda: applied_since(store, killed_at) > 0,
                COMMAND_AFTER_KILL_S,
                0.2,
                in_thread=True,
            )
            applied_after_kill = applied_since(store, killed_at)
            status = row(store.dispatcher_store(), "d-cluster")[0]
            assert status == DispatchStatus.ACTIVE, status  # the dispatch goes on
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
            f"\n{devices} devices, node {victim.name} (TELEMETRY leader, serving "
            f"{', '.join(before.get(victim.name, []))}) killed "
            f"for {down_s:.0f} s: gateway on another node after {reconnected_s:.1f} s, new "
            f"leader {new_leader}; stored {stored_while_down} while down; produced "
            f"{len(produced)}, in stream {len(in_stream)} unique / {sum(in_stream.values())}, "
            f"in read model {len(stored)}; node back, caught up in {caught_up_s:.1f} s; "
            f"last seqs {final}; commands applied after the kill {applied_after_kill}"
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
