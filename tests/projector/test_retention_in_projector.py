"""The projector keeps raw telemetry bounded while it projects (``retention=``): old raw
readings go once rolled up, their roll-ups stay."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tests.harness.read_models import ReadModels
from tests.harness.wait import async_wait_until
from vpp.adapters.store import migrate
from vpp.adapters.store import schema as s
from vpp.application.retention import RetentionSettings
from vpp.bootstrap import run_projector
from vpp.domain.telemetry import Reading
from vpp.runtime import utc_now


async def test_the_projector_prunes_old_raw_readings(nats_server_factory: Any, db_url: str) -> None:
    server = nats_server_factory()
    migrate.upgrade(db_url)
    store = ReadModels.from_url(db_url)
    old = (utc_now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    readings = [Reading("pv-1", old + timedelta(seconds=i), 5.0) for i in range(90)]
    store.writer.record_readings(readings)  # two minutes of one quarter hour

    def count(table: Any) -> int:
        with store.engine.connect() as con:
            return int(con.execute(select(func.count()).select_from(table)).scalar_one())

    stop = asyncio.Event()
    retention = RetentionSettings(every_s=0.2, batch_rows=10)
    task = asyncio.create_task(run_projector(server.url, db_url, stop, retention=retention))
    try:
        # the telemetry projection rolls up at its first commit or its end; until then the
        # raw readings are not rolled up, and a retention pass leaves them
        await async_wait_until(lambda: "raw" in store.reads.kept_from(), 10, in_thread=True)
        assert count(s.telemetry) == 90
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)  # the final roll-up
    assert count(s.telemetry_1m) == 2 and count(s.telemetry_15m) == 1
    stop = asyncio.Event()
    task = asyncio.create_task(run_projector(server.url, db_url, stop, retention=retention))
    try:
        await async_wait_until(lambda: count(s.telemetry) == 0, 10, in_thread=True)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert count(s.telemetry_1m) == 2 and count(s.telemetry_15m) == 1
    assert set(store.reads.kept_from()) == {"raw", "1m", "15m"}
    store.close()
