"""Break things under a running projector — the database, then NATS — and check that
every reading ends up in the read model exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats

from tests.harness.mariadb import private_mariadb
from tests.harness.projector import batch, der_ids, publish_telemetry, register_ders
from tests.harness.read_models import ReadModels
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import run_projector

#: the test itself: how long the database stays dead under the running projector
DATABASE_OUTAGE_S = 3.0
#: the test itself: how long NATS stays dead before it comes back on the same port
NATS_OUTAGE_S = 1.0
#: how long the projector may take to catch up (after an outage: 60 s)
CATCH_UP_S = 20.0
CATCH_UP_AFTER_OUTAGE_S = 60.0


async def test_database_and_nats_outages_lose_nothing(
    tmp_path: Path, nats_server_factory: object
) -> None:
    with private_mariadb(tmp_path / "mariadb") as maria:
        url = maria.create_database("outage")
        register_ders(url, "gw1", der_ids("gw1"))
        store = ReadModels.from_url(url)
        server = nats_server_factory()  # type: ignore[operator]
        nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()
        await ensure_streams(js)
        stop = asyncio.Event()
        task = asyncio.create_task(run_projector(server.url, url, stop))
        for i in range(5):
            await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
        await async_wait_until(lambda: store.reads.count() == 100, CATCH_UP_S, 0.1, in_thread=True)

        maria.kill()  # the database dies under the projector
        for i in range(5, 15):
            await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
        await asyncio.sleep(DATABASE_OUTAGE_S)
        assert not task.done(), "the projector must survive a database outage"
        maria.restart()
        await async_wait_until(
            lambda: store.reads.count() == 300, CATCH_UP_AFTER_OUTAGE_S, 0.1, in_thread=True
        )

        await nc.close()
        server.kill()  # NATS dies: the projector keeps its consumer and reconnects
        await asyncio.sleep(NATS_OUTAGE_S)
        server2 = nats_server_factory(port=server.port)  # type: ignore[operator]
        nc = await nats.connect(server2.url)
        js = nc.jetstream()
        for i in range(15, 20):
            await publish_telemetry(js, "gw1", batch("gw1", 4 * i, 4))
        await async_wait_until(
            lambda: store.reads.count() == 400, CATCH_UP_AFTER_OUTAGE_S, 0.1, in_thread=True
        )
        assert not task.done()
        stop.set()
        stats = await asyncio.wait_for(task, 30)
        assert stats["telemetry"]["dead_letters"] == 0
        assert store.reads.count() == 400
        latest = store.registry.latest_readings(["gw1-der2"])["gw1-der2"]
        assert latest.ts == datetime(2026, 11, 26, 12, 1, 19, tzinfo=UTC) - timedelta(0)
        await nc.close()
        store.close()
