"""Projector processes sharing the telemetry partitions (issue 13), against a real secure
nats-server (TELEMETRY in 8 partitions, provisioned by ops) and both store backends:
one of two is SIGKILLed mid-stream, restarted, then a third joins — every reading is in
the read model exactly once and the roll-ups count each once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

from tests.harness.nats_clients import client_as
from tests.harness.projector import der_ids, register_ders
from tests.harness.projector_group import (
    Projectors,
    Published,
    describe,
    publish_round,
    rollup_counts,
    stored,
)
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.store.engine import make_engine
from vpp.bootstrap.nats_security import gateway_identity
from vpp.bootstrap.processes import Supervisor
from vpp.bootstrap.secure_nats import start_secure_nats

GATEWAYS = tuple(f"gw-{i}" for i in range(8))
#: processes start (interpreter, migrations, NATS over TLS) and settle their shares
SETTLED_S = 60.0
#: a killed projector's partitions are taken over (its lease time to live is 3 s)
TAKEOVER_S = 30.0
#: every published reading is in the read model
CATCH_UP_S = 60.0
#: the metrics are sampled every 2 s
METRICS_S = 15.0
LAG = "vpp_projector_lag_messages"
#: the test itself: pacing of the publisher, so that a kill lands mid-stream
ROUND_GAP_S = 0.05


async def test_projectors_share_partitions_and_a_kill_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str
) -> None:
    for gw in GATEWAYS:
        register_ders(db_url, gw, der_ids(gw))
    nats_ = await asyncio.to_thread(start_secure_nats, tmp_path / "run", GATEWAYS)
    sup = Supervisor(tmp_path / "logs")
    engine = make_engine(db_url)
    group = Projectors(sup, nats_, db_url)
    published = Published()
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                gw: (await stack.enter_async_context(client_as(nats_, gateway_identity(gw))))[0]
                for gw in GATEWAYS
            }
            second = 0

            async def publish(rounds: int) -> None:
                nonlocal second
                for _ in range(rounds):
                    await publish_round(clients, published, second)
                    second += 2
                    await asyncio.sleep(ROUND_GAP_S)

            async def settled(shares: list[int]) -> None:
                def check() -> bool:
                    return sorted(group.shares().values()) == shares and all(
                        group.ready(i) for i in group.procs
                    )

                await async_wait_until(
                    check,
                    SETTLED_S,
                    0.2,
                    in_thread=True,
                    what=lambda: (
                        f"shares {group.shares()} != {shares} ({describe(sup)})\n" + group.logs()
                    ),
                )

            async def caught_up() -> None:
                await async_wait_until(
                    lambda: stored(engine) == published.rows,
                    CATCH_UP_S,
                    0.2,
                    in_thread=True,
                    what=lambda: (
                        f"{len(stored(engine))} of {len(published.rows)} rows\n" + group.logs()
                    ),
                )

            group.start("projector-1")
            group.start("projector-2")
            await settled([4, 4])

            publisher = asyncio.create_task(publish(30))
            await async_wait_until(
                lambda: len(stored(engine)) > 400, CATCH_UP_S, 0.1, in_thread=True
            )
            assert not publisher.done(), "the kill must land mid-stream"
            group.kill("projector-1")
            await publisher
            await async_wait_until(
                lambda: group.shares() == {"projector-2": 8}, TAKEOVER_S, 0.2, in_thread=True
            )
            await caught_up()

            group.start("projector-1")  # the same instance comes back
            await settled([4, 4])
            await publish(10)
            await caught_up()

            group.start("projector-3")
            await settled([2, 3, 3])
            await publish(10)
            await (
                clients[GATEWAYS[0]]
                .jetstream()
                .publish(subjects.telemetry(GATEWAYS[0]), b"\xff not json")
            )
            await caught_up()
            assert group.total("vpp_projector_main_owned") == 1

            def metrics_settled() -> bool:
                return (
                    group.total("vpp_projector_dead_letters_total") == 1
                    and group.total(LAG) == 0
                    and group.total("vpp_projector_pending_messages") == 0
                    and len(lags()) == 8 + 2  # every partition, commands and acks
                )

            def lags() -> dict[str, float]:
                return {k: v for i in group.procs for k, v in group.metric(i, LAG).items()}

            await async_wait_until(
                metrics_settled, METRICS_S, 0.2, in_thread=True, what=lambda: str(lags())
            )

        codes = sup.stop_all()
        assert [c for name, c in codes.items() if not name.startswith("projector-1-0")] == [
            0,
            0,
            0,
        ], codes
        assert stored(engine) == published.rows  # nothing lost, nothing twice
        per_minute = Counter((d, ts.strftime("%Y-%m-%d %H:%M")) for d, ts in published.rows)
        assert rollup_counts(engine) == dict(per_minute)  # each reading counted once
    finally:
        sup.stop_all()
        nats_.stop()
        engine.dispose()


async def test_partitioning_a_projected_stream_resumes_where_it_stood(
    nats_server_factory: object, sqlite_url: str
) -> None:
    """A stream projected whole, then partitioned by ops: each new partition starts after
    the whole stream's position — nothing projected again, nothing left out (messages
    stored before the change have no partition token: partition 0 takes them)."""
    import nats

    from tests.harness.projector import batch, publish_telemetry
    from tests.harness.read_models import ReadModels
    from vpp.adapters.nats.streams import ensure_streams, telemetry_partitions
    from vpp.bootstrap import run_projector

    server = nats_server_factory()  # type: ignore[operator]
    for gw in GATEWAYS:
        register_ders(sqlite_url, gw, der_ids(gw))
    store = ReadModels.from_url(sqlite_url)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    for gw in GATEWAYS:
        await publish_telemetry(js, gw, batch(gw, 0, 2))
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, sqlite_url, stop))
    await async_wait_until(lambda: store.reads.count() == 80, CATCH_UP_S, 0.1, in_thread=True)
    stop.set()
    assert (await asyncio.wait_for(task, 30))["telemetry"]["items"] == 80

    for gw in GATEWAYS[:4]:  # stored whole, not yet projected
        await publish_telemetry(js, gw, batch(gw, 2, 2))
    await ensure_streams(js, telemetry_partitions=8)  # ops partitions it
    assert await telemetry_partitions(js) == 8
    for gw in GATEWAYS:  # stored in partitions
        await publish_telemetry(js, gw, batch(gw, 4, 2))
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, sqlite_url, stop))
    await async_wait_until(lambda: store.reads.count() == 200, CATCH_UP_S, 0.1, in_thread=True)
    stop.set()
    stats = await asyncio.wait_for(task, 30)
    assert (
        sum(int(s["items"]) for name, s in stats.items() if name.startswith("telemetry-p")) == 120
    )  # type: ignore[call-overload]
    assert "telemetry" not in stats
    await nc.close()
    store.close()
