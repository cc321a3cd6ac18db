"""Dispatcher: the closed loop that follows dispatches with setpoints."""

from __future__ import annotations

import asyncio
import contextlib

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url


async def run_dispatcher(
    nats_url: str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    cycle_s: float = 4.0,
    wake_s: float = 0.05,
    ready: asyncio.Event | None = None,
) -> int:
    """Run the closed-loop dispatcher every ``cycle_s`` until ``stop``; returns commands sent."""
    import logging
    from datetime import UTC, datetime

    import nats

    from vpp.adapters.nats.command_sender import NatsCommandSender
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.adapters.store.engine import make_engine
    from vpp.application.dispatcher import Dispatcher, DispatcherSettings

    log = logging.getLogger("vpp.dispatcher")
    url = db_url or default_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    store = SqlDispatcherStore(engine)
    nc = await nats.connect(nats_url, name="vpp-dispatcher", max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        dispatcher = Dispatcher(store, NatsCommandSender(js), DispatcherSettings(cycle_s=cycle_s))
        if ready is not None:
            ready.set()
        while not stop.is_set():
            started = asyncio.get_running_loop().time()
            sent_before = dispatcher.commands_sent
            try:
                await dispatcher.cycle(datetime.now(UTC))
            except Exception:  # the store or NATS is away: try again next cycle
                log.exception("dispatcher cycle failed")
            took = asyncio.get_running_loop().time() - started
            sent = dispatcher.commands_sent - sent_before
            log.log(
                logging.INFO if sent or took > cycle_s / 2 else logging.DEBUG,
                "cycle took %.3f s, %d commands sent",
                took,
                sent,
            )
            # sleep until the next cycle, but start at once when a new dispatch arrives
            next_cycle = started + cycle_s
            while not stop.is_set() and asyncio.get_running_loop().time() < next_cycle:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wake_s)
                try:
                    if await asyncio.to_thread(store.has_accepted):
                        break
                except Exception:  # the store is away; the cycle will say so
                    log.debug("has_accepted failed", exc_info=True)
        return dispatcher.commands_sent
    finally:
        await nc.close()
        engine.dispose()
