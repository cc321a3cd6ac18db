"""The projector against a real nats-server and both store backends."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import nats

from tests.harness.projector import T0, batch, der_ids, publish_telemetry, register_ders
from tests.harness.read_models import ReadModels
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.application.ports import StoreUnavailable
from vpp.bootstrap import run_projector
from vpp.domain import AckOutcome, CommandAck, SetpointCommand

#: the test itself: after everything arrived, a quiet spell in which anything doubled or
#: late would show in the counts
QUIET_AFTER_S = 1.0
#: how long the projector may take to catch up
CATCH_UP_S = 20.0


async def test_projects_exactly_once_across_restart_and_dead_letters_garbage(
    nats_server_factory: object, db_url: str
) -> None:
    server = nats_server_factory()  # type: ignore[operator]
    register_ders(db_url, "gw1", der_ids("gw1"))
    store = ReadModels.from_url(db_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    dl = await nc.subscribe(f"{subjects.DEAD_LETTER_PREFIX}.>")

    for i in range(10):  # 10 messages x 20 readings
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    await js.publish(
        subjects.telemetry("gw1"), b'{"v": 1, "gateway_id": "gw1", "readings": [{"der_id": "x"}]}'
    )
    await js.publish(subjects.telemetry("gw1"), b"\xff not json")

    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, db_url, stop))
    await async_wait_until(lambda: store.reads.count() == 200, CATCH_UP_S, 0.1, in_thread=True)
    stop.set()
    stats = await asyncio.wait_for(task, 30)
    assert stats["telemetry"]["dead_letters"] == 2
    first = await dl.next_msg(timeout=5)
    assert "missing field 'ts'" in json.loads(first.data)["reason"]

    # more data while the projector is down, including a replay of old messages
    for i in range(10, 20):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    await js.publish(  # replay beyond the dedupe key: a different message id, same rows
        subjects.telemetry("gw1"), codec.encode_telemetry("gw1", batch("gw1", 0, 4))
    )
    cmd = SetpointCommand("c1", "gw1-der1", "gw1", 1, 500.0, T0, T0 + timedelta(minutes=5), "d1")
    await js.publish(subjects.command("gw1", "gw1-der1"), codec.encode_command(cmd))
    ack = CommandAck(
        "c1", "gw1-der1", "gw1", 1, AckOutcome.APPLIED, T0, 500.0, 500.0, dispatch_id="d1"
    )
    await js.publish(subjects.ack("gw1", "gw1-der1"), codec.encode_ack(ack))

    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, db_url, stop))
    await async_wait_until(
        lambda: store.reads.count() == 400 and store.writer.position("acks") > 0,
        CATCH_UP_S,
        0.1,
        in_thread=True,
    )
    await asyncio.sleep(QUIET_AFTER_S)  # anything doubled or late would show now
    stop.set()
    stats = await asyncio.wait_for(task, 30)
    assert store.reads.count() == 400
    assert stats["telemetry"]["items"] == 220  # 10 new messages + the replayed one
    assert store.writer.position("telemetry") == 23  # 10 + 2 garbage + 10 + 1 replay
    latest = store.registry.latest_readings(["gw1-der3"])["gw1-der3"]
    assert latest.ts == T0 + timedelta(seconds=79) and latest.p_w == 379.0
    with store.engine.connect() as con:
        from sqlalchemy import text

        assert con.execute(text("select outcome from acks")).scalar_one() == "applied"
        assert con.execute(text("select p_w from commands")).scalar_one() == 500.0
    await nc.close()
    store.close()


async def test_change_records_are_canal_json(nats_server_factory: object, sqlite_url: str) -> None:
    server = nats_server_factory()  # type: ignore[operator]
    register_ders(sqlite_url, "gw2", der_ids("gw2", 3))
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    sub = await nc.subscribe(f"{subjects.PREFIX}.change.telemetry")
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, sqlite_url, stop))
    await publish_telemetry(js, "gw2", batch("gw2", 0, 1, ders=3))
    msg = await sub.next_msg(timeout=15)
    record = json.loads(msg.data)
    assert record["table"] == "telemetry" and record["type"] == "INSERT"
    assert record["pkNames"] == ["der_id", "ts"]
    assert record["mysqlType"]["ts"] == "datetime(6)"
    assert sorted(r["der_id"] for r in record["data"]) == ["gw2-der0", "gw2-der1", "gw2-der2"]
    assert all(isinstance(v, str) or v is None for r in record["data"] for v in r.values())
    stop.set()
    await asyncio.wait_for(task, 30)
    await nc.close()


async def test_a_crash_between_fetch_and_commit_loses_nothing(
    nats_server_factory: object, sqlite_url: str
) -> None:
    """A projector that dies after fetching a batch and before committing it leaves those
    messages delivered but unacked in its durable consumer; JetStream would redeliver them
    only after ack_wait, after newer messages had moved the position past them.  The
    next run must project them anyway, at once."""
    server = nats_server_factory()  # type: ignore[operator]
    store = ReadModels.from_url(sqlite_url)
    register_ders(sqlite_url, "gw1", der_ids("gw1"))
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    stop = asyncio.Event()  # a first run creates the durable consumer and projects 5 messages
    task = asyncio.create_task(run_projector(server.url, sqlite_url, stop))
    for i in range(5):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    await async_wait_until(lambda: store.reads.count() == 100, CATCH_UP_S, 0.1, in_thread=True)
    stop.set()
    await asyncio.wait_for(task, 30)

    for i in range(5, 10):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    crashed = await js.pull_subscribe_bind("proj-telemetry", stream="TELEMETRY")
    held = await crashed.fetch(5, timeout=5)  # fetched by the "crashed" run, never acked
    assert len(held) == 5
    for i in range(10, 15):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))

    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, sqlite_url, stop))
    await async_wait_until(  # ack_wait is 60 s
        lambda: store.reads.count() == 300, 20, 0.1, in_thread=True
    )
    stop.set()
    await asyncio.wait_for(task, 30)
    assert store.writer.position("telemetry") == 15
    await nc.close()
    store.close()


class _StoreAwayAtFirst:
    """The real SQLite store, away for its first ``n`` position reads (a database that
    dies just as the projector starts its feeds)."""

    def __init__(self, store: SqlProjectionWriter, n: int) -> None:
        self.store, self.n = store, n

    def position(self, projection: str) -> int:
        if self.n > 0:
            self.n -= 1
            raise StoreUnavailable("store unavailable: database away")
        return self.store.position(projection)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


async def test_a_feed_waits_for_a_store_that_is_away_when_it_starts(
    nats_server_factory: object, sqlite_url: str
) -> None:
    from vpp.adapters.nats.projection_consumer import JetStreamProjectionFeed, decode_telemetry
    from vpp.adapters.store.registry_store import SqlDerGateways
    from vpp.application.projector import TelemetryProjection

    server = nats_server_factory()  # type: ignore[operator]
    register_ders(sqlite_url, "gw1", der_ids("gw1"))
    store = ReadModels.from_url(sqlite_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    for i in range(3):
        await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
    feed = JetStreamProjectionFeed(
        js,
        TelemetryProjection(
            _StoreAwayAtFirst(store.writer, 2),  # type: ignore[arg-type]
            store.rollups,
            SqlDerGateways(store.engine),
        ),
        decode_telemetry,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    await async_wait_until(lambda: store.reads.count() == 60, 20, 0.1, in_thread=True)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 30)
    await nc.close()
    store.close()
