"""Telemetry bound to its gateway (issue 11): the projector, on a real nats-server and
both store backends, refuses readings of DERs not registered behind the gateway whose
subject carried them — a dead letter with the reason, nothing of them in the read
model — and still projects the good readings of the same message."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta
from typing import Any

import nats
from sqlalchemy import text

from tests.harness.projector import T0, batch, der_ids, publish_telemetry, register_ders
from tests.harness.read_models import ReadModels
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.projection_consumer import JetStreamProjectionFeed, decode_telemetry
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.store.registry_store import SqlDerGateways
from vpp.application.ports import StoreUnavailable
from vpp.application.projector import TelemetryProjection
from vpp.application.telemetry_binding import GatewayBinding
from vpp.bootstrap import run_projector
from vpp.domain import Reading

#: how long the projector may take to project or dead-letter what was published
CATCH_UP_S = 20.0
#: a DER registered while the projector runs is accepted within this (its registry
#: look-up bound is 1 s; the rest is slack for a loaded machine)
ACCEPTED_WITHIN_S = 6.0


async def _publish(js: Any, subject_gw: str, payload_gw: str, readings: list[Reading]) -> None:
    await js.publish(
        subjects.telemetry(subject_gw),
        codec.encode_telemetry(payload_gw, readings),
        headers={"Nats-Msg-Id": codec.telemetry_msg_id(payload_gw, readings)},
    )


def _stored(store: ReadModels) -> dict[str, list[float]]:
    with store.engine.connect() as con:
        rows = con.execute(text("select der_id, p_w from telemetry order by der_id, ts"))
        out: dict[str, list[float]] = {}
        for der_id, p_w in rows:
            out.setdefault(der_id, []).append(p_w)
    return out


async def test_forged_and_unregistered_readings_are_dead_lettered_and_the_rest_projected(
    nats_server_factory: Any, db_url: str
) -> None:
    server = nats_server_factory()
    register_ders(db_url, "gw-a", ["bat-0001"])
    register_ders(db_url, "gw-b", ["bat-0002"])
    store = ReadModels.from_url(db_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    dead = await nc.subscribe(subjects.dead_letter("TELEMETRY"))
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, db_url, stop))

    # gw-b's message: its own DER, gw-a's DER (forged) and a DER nobody registered
    mixed = [
        Reading("bat-0002", T0, 200.0),
        Reading("bat-0001", T0, -5000.0),
        Reading("ghost-1", T0, 1.0),
        Reading("bat-0002", T0 + timedelta(seconds=4), 204.0),
    ]
    await _publish(js, "gw-b", "gw-b", mixed)
    # on gw-b's subject, a payload that claims to be gw-a's: refused whole
    await _publish(js, "gw-b", "gw-a", [Reading("bat-0001", T0 + timedelta(seconds=8), -4000.0)])
    await _publish(js, "gw-a", "gw-a", [Reading("bat-0001", T0 + timedelta(seconds=1), 100.0)])

    first = json.loads((await dead.next_msg(timeout=CATCH_UP_S)).data)
    second = json.loads((await dead.next_msg(timeout=CATCH_UP_S)).data)
    await async_wait_until(lambda: store.reads.count() == 3, CATCH_UP_S, 0.1, in_thread=True)
    stop.set()
    stats = await asyncio.wait_for(task, 30)

    assert first["subject"] == "vpp.telemetry.gw-b"
    assert "DER bat-0001 is registered behind gw-a, not gw-b" in first["reason"]
    assert "DER ghost-1 is not registered" in first["reason"]
    refused = json.loads(first["payload"])["readings"]  # only what was refused
    assert sorted(r["der_id"] for r in refused) == ["bat-0001", "ghost-1"]
    assert "'gw-a' is not the gateway of the subject ('gw-b')" in second["reason"]

    assert _stored(store) == {"bat-0001": [100.0], "bat-0002": [200.0, 204.0]}
    assert store.registry.latest_readings(["bat-0001"])["bat-0001"].p_w == 100.0
    assert "ghost-1" not in store.registry.latest_readings()
    assert stats["telemetry"]["dead_letters"] == 2
    assert stats["telemetry"]["refused"] == 2  # readings refused by the registry check
    assert stats["telemetry"]["items"] == 3
    await nc.close()
    store.close()


async def test_a_der_registered_while_the_projector_runs_is_accepted_soon_after(
    nats_server_factory: Any, db_url: str
) -> None:
    server = nats_server_factory()
    register_ders(db_url, "gw-c", ["pv-0001"])
    store = ReadModels.from_url(db_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    dead = await nc.subscribe(subjects.dead_letter("TELEMETRY"))
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, db_url, stop))
    second = itertools.count()

    async def publish_new() -> None:
        await _publish(
            js, "gw-c", "gw-c", [Reading("new-1", T0 + timedelta(seconds=next(second)), 5.0)]
        )

    await publish_new()  # before it is registered: refused
    letter = json.loads((await dead.next_msg(timeout=CATCH_UP_S)).data)
    assert "DER new-1 is not registered" in letter["reason"]
    assert store.reads.count() == 0

    register_ders(db_url, "gw-c", ["new-1"])

    async def accepted() -> bool:
        if await asyncio.to_thread(store.reads.count) > 0:
            return True
        await publish_new()
        return False

    await async_wait_until(accepted, ACCEPTED_WITHIN_S, 0.25)
    stop.set()
    stats = await asyncio.wait_for(task, 30)
    assert set(_stored(store)) == {"new-1"}
    assert stats["telemetry"]["refused"] >= 1
    await nc.close()
    store.close()


class _Counted:
    """The real registry adapter, counting its queries."""

    def __init__(self, inner: SqlDerGateways) -> None:
        self.inner, self.calls = inner, 0

    def der_gateways(self, der_ids: Any = None) -> dict[str, str]:
        self.calls += 1
        return self.inner.der_gateways(der_ids)


async def test_a_flood_of_unknown_ders_costs_at_most_one_registry_query_a_second(
    sqlite_url: str,
) -> None:
    register_ders(sqlite_url, "gw-a", ["bat-0001"])
    store = ReadModels.from_url(sqlite_url)
    registry = _Counted(SqlDerGateways(store.engine))
    now = [100.0]
    binding = GatewayBinding(registry, clock=lambda: now[0])
    good = [Reading("bat-0001", T0, 1.0).as_row()]
    for i in range(200):  # forged readings, each of a different made-up DER
        rows = [*good, Reading(f"fake-{i}", T0, 1.0).as_row()]
        kept, refusal = await binding.screen("gw-a", rows)
        assert kept == good and refusal is not None and refusal.keys == {f"fake-{i}"}
        now[0] += 0.004  # 200 messages in 0.8 s
    assert registry.calls == 1  # the initial load; no look-up within its second
    now[0] += 0.2
    register_ders(sqlite_url, "gw-a", ["late-1"])
    kept, refusal = await binding.screen("gw-a", [Reading("late-1", T0, 1.0).as_row()])
    assert refusal is None and registry.calls == 2 and binding.lookups == 1
    kept, refusal = await binding.screen("gw-b", good)  # cached: no query to refuse it
    assert refusal is not None and "registered behind gw-a, not gw-b" in refusal.reason
    assert kept == [] and registry.calls == 2
    store.close()


class _AwayAtFirst:
    """The real registry adapter, away for its first ``n`` queries."""

    def __init__(self, inner: SqlDerGateways, n: int) -> None:
        self.inner, self.n = inner, n

    def der_gateways(self, der_ids: Any = None) -> dict[str, str]:
        if self.n > 0:
            self.n -= 1
            raise StoreUnavailable("store unavailable: database away")
        return self.inner.der_gateways(der_ids)


async def test_a_registry_that_is_away_delays_telemetry_and_refuses_nothing(
    nats_server_factory: Any, sqlite_url: str
) -> None:
    server = nats_server_factory()
    register_ders(sqlite_url, "gw1", der_ids("gw1"))
    store = ReadModels.from_url(sqlite_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    for i in range(3):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    projection = TelemetryProjection(
        store.writer, store.rollups, _AwayAtFirst(SqlDerGateways(store.engine), 2)
    )
    feed = JetStreamProjectionFeed(js, projection, decode_telemetry)
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    await async_wait_until(lambda: store.reads.count() == 60, CATCH_UP_S, 0.1, in_thread=True)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 30)
    assert feed.dead_letters == 0 and projection.stats.refused == 0
    await nc.close()
    store.close()
