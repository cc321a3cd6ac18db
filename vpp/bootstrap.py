"""Composition root: builds concrete adapters from configuration; the CLI calls it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import make_url

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url, make_engine


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def upgrade_store(url: str | None, revision: str = "head") -> tuple[str, str]:
    """Migrate the store at ``url`` (default SQLite file); return (revision, shown URL)."""
    url = url or default_url()
    return migrate.upgrade(url, revision), _shown(url)


def store_revision(url: str | None) -> str | None:
    engine = make_engine(url or default_url())
    try:
        return migrate.current_revision(engine)
    finally:
        engine.dispose()


async def run_projector(
    nats_url: str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    publish_changes: bool = True,
    ready: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Project TELEMETRY, COMMANDS and ACKS into the store until ``stop`` is set.

    Returns the per-projection statistics.
    """
    import nats

    from vpp.adapters.nats.projection_consumer import (
        JetStreamProjectionFeed,
        NatsChangePublisher,
        decode_ack,
        decode_command,
        decode_telemetry,
    )
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.store.read_models import SqlReadModelStore
    from vpp.application.projector import AckProjection, CommandProjection, TelemetryProjection

    url = db_url or default_url()
    migrate.upgrade(url)
    store = SqlReadModelStore.from_url(url)
    nc = await nats.connect(nats_url, name="vpp-projector", max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        changes = NatsChangePublisher(js) if publish_changes else None
        feeds = [
            JetStreamProjectionFeed(js, TelemetryProjection(store, changes), decode_telemetry),
            JetStreamProjectionFeed(js, CommandProjection(store, changes), decode_command),
            JetStreamProjectionFeed(js, AckProjection(store, changes), decode_ack),
        ]
        tasks = [asyncio.create_task(f.run(stop), name=f.durable) for f in feeds]
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
        store.close()


async def run_dispatcher(
    nats_url: str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    cycle_s: float = 4.0,
    ready: asyncio.Event | None = None,
) -> int:
    """Run the closed-loop dispatcher every ``cycle_s`` until ``stop``; returns commands sent."""
    import logging
    from datetime import UTC, datetime

    import nats

    from vpp.adapters.nats.command_publisher import NatsCommandPublisher
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.application.dispatcher import Dispatcher, DispatcherSettings

    log = logging.getLogger("vpp.dispatcher")
    url = db_url or default_url()
    migrate.upgrade(url)
    store = SqlDispatcherStore.from_url(url)
    nc = await nats.connect(nats_url, name="vpp-dispatcher", max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        dispatcher = Dispatcher(
            store, NatsCommandPublisher(js), DispatcherSettings(cycle_s=cycle_s)
        )
        if ready is not None:
            ready.set()
        while not stop.is_set():
            started = asyncio.get_running_loop().time()
            try:
                await dispatcher.cycle(datetime.now(UTC))
            except Exception:  # the store or NATS is away: try again next cycle
                log.exception("dispatcher cycle failed")
            spent = asyncio.get_running_loop().time() - started
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.05, cycle_s - spent))
        return dispatcher.commands_sent
    finally:
        await nc.close()
        store.close()
