"""Projector: JetStream streams into the read models."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from sqlalchemy import Engine

    from vpp.adapters.nats.client import NatsClientSettings
    from vpp.adapters.nats.projection_consumer import JetStreamProjectionFeed
    from vpp.application.ports import ChangePublisher
    from vpp.application.retention import RetentionSettings

#: per projection: its counters (batches, items, skipped, refused, last_seq,
#: change_errors, dead_letters) and its last notes
ProjectorStats = dict[str, dict[str, int | list[str]]]


async def run_projector(
    nats: NatsClientSettings | str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    publish_changes: bool = True,
    ready: asyncio.Event | None = None,
    retention: RetentionSettings | None = None,
) -> ProjectorStats:
    """Project TELEMETRY, COMMANDS and ACKS into the store until ``stop`` is set; with
    ``retention``, keep the telemetry bounded too (:func:`retention_task`).

    Returns the per-projection statistics.
    """
    from vpp.adapters.nats.client import as_settings, connect, log_nats_error
    from vpp.adapters.nats.projection_consumer import NatsChangePublisher
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.store.engine import make_engine

    url = db_url or default_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    nc = await connect(
        as_settings(nats), "vpp-projector", max_reconnect_attempts=-1, error_cb=log_nats_error
    )
    try:
        js = nc.jetstream()
        await ensure_streams(js, update_existing=False)  # ops provisions them
        changes = NatsChangePublisher(js) if publish_changes else None
        feeds = _feeds(js, engine, changes)
        tasks = [asyncio.create_task(f.run(stop), name=f.durable) for f in feeds]
        if retention is not None:  # where the roll-ups are made (their owner)
            tasks.append(retention_task(engine, retention, stop))
        if ready is not None:
            ready.set()
        await asyncio.gather(*tasks)
        return {
            f.projection.name: {**vars(f.projection.stats), "dead_letters": f.dead_letters}
            for f in feeds
        }
    finally:
        if nc.is_connected:
            await nc.flush(timeout=5)  # the last batch's ack
        await nc.close()
        engine.dispose()


def retention_task(
    engine: Engine, settings: RetentionSettings, stop: asyncio.Event
) -> asyncio.Task[None]:
    """Telemetry retention (raw, 1-minute, 15-minute horizons) every ``settings.every_s``
    until ``stop``: run it in the one process that owns the roll-ups."""
    from vpp.adapters.store.retention import SqlTelemetryRetention
    from vpp.application.retention import TelemetryRetention, keep_telemetry_bounded
    from vpp.runtime import SystemClock

    retention = TelemetryRetention(SqlTelemetryRetention(engine), SystemClock(), settings)
    return asyncio.create_task(keep_telemetry_bounded(retention, stop), name="retention")


def _feeds(
    js: JetStreamContext, engine: Engine, changes: ChangePublisher | None
) -> list[JetStreamProjectionFeed[Any]]:
    """The three projections over ``engine``, each fed from its stream."""
    from vpp.adapters.nats import codec
    from vpp.adapters.nats.projection_consumer import (
        JetStreamProjectionFeed,
        decode_ack,
        decode_command,
        decode_telemetry,
    )
    from vpp.adapters.store.projection_writer import SqlProjectionWriter
    from vpp.adapters.store.registry_store import SqlDerGateways
    from vpp.adapters.store.rollups import SqlRollupMaintainer
    from vpp.application.projector import AckProjection, CommandProjection, TelemetryProjection

    store = SqlProjectionWriter(engine)
    rollups, ders = SqlRollupMaintainer(engine), SqlDerGateways(engine)
    telemetry = TelemetryProjection(store, rollups, ders, changes)
    return [
        JetStreamProjectionFeed(js, telemetry, decode_telemetry, narrow=codec.telemetry_of_ders),
        JetStreamProjectionFeed(js, CommandProjection(store, changes), decode_command),
        JetStreamProjectionFeed(js, AckProjection(store, changes), decode_ack),
    ]
