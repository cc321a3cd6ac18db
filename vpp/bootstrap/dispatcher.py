"""Dispatcher: the closed loop that follows dispatches with setpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url, make_engine
from vpp.runtime import utc_now

if TYPE_CHECKING:
    from vpp.adapters.nats.client import NatsClientSettings
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.application.dispatcher import Dispatcher

log = logging.getLogger("vpp.dispatcher")


async def _one_cycle(dispatcher: Dispatcher, cycle_s: float) -> float:
    """Run one cycle and log it; return when it started (event-loop time)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent_before = dispatcher.commands_sent
    try:
        await dispatcher.cycle(utc_now())
    except Exception:  # the store or NATS is away: try again next cycle
        log.exception("dispatcher cycle failed")
    took = loop.time() - started
    sent = dispatcher.commands_sent - sent_before
    log.log(
        logging.INFO if sent or took > cycle_s / 2 else logging.DEBUG,
        "cycle took %.3f s, %d commands sent",
        took,
        sent,
    )
    return started


async def _until_next_cycle(
    store: SqlDispatcherStore, stop: asyncio.Event, next_cycle: float, wake_s: float
) -> None:
    """Sleep until ``next_cycle``, but return at once when a new dispatch arrives."""
    loop = asyncio.get_running_loop()
    while not stop.is_set() and loop.time() < next_cycle:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wake_s)
        try:
            if await asyncio.to_thread(store.has_accepted):
                return
        except Exception:  # the store is away; the cycle will say so
            log.debug("has_accepted failed", exc_info=True)


async def run_dispatcher(
    nats: NatsClientSettings | str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    cycle_s: float = 4.0,
    wake_s: float = 0.05,
    ready: asyncio.Event | None = None,
    signing_keys: Path | None = None,
) -> int:
    """Run the closed-loop dispatcher every ``cycle_s`` until ``stop``; returns commands sent.
    Commands are signed with the keyring in ``signing_keys`` (default
    ``<data dir>/command-signing``, created with a first key if missing)."""
    from vpp.adapters.nats.client import as_settings, connect, log_nats_error
    from vpp.adapters.nats.command_sender import NatsCommandSender
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.application.dispatcher import Dispatcher, DispatcherSettings
    from vpp.bootstrap.signing import dispatcher_signer

    signer = dispatcher_signer(signing_keys)
    url = db_url or default_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    store = SqlDispatcherStore(engine)
    nc = await connect(
        as_settings(nats), "vpp-dispatcher", max_reconnect_attempts=-1, error_cb=log_nats_error
    )
    try:
        js = nc.jetstream()
        await ensure_streams(js, update_existing=False)  # ops provisions them
        dispatcher = Dispatcher(
            store, NatsCommandSender(js, signer), DispatcherSettings(cycle_s=cycle_s)
        )
        if ready is not None:
            ready.set()
        while not stop.is_set():
            started = await _one_cycle(dispatcher, cycle_s)
            await _until_next_cycle(store, stop, started + cycle_s, wake_s)
        return dispatcher.commands_sent
    finally:
        await nc.close()
        engine.dispose()
