"""Dispatcher: the closed loop that follows dispatches with setpoints.

Several ``vpp dispatcher`` processes may run against the same NATS and store: they elect
one leader through the lease in the ``LEASES`` KV bucket
(:mod:`vpp.application.dispatcher.leadership`); only the leader runs cycles, the others
watch the lease and take over when it lapses (within ``lease_ttl_s`` plus a poll), and
continue the open dispatches from the loop state the leader saved every cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url, make_engine
from vpp.runtime import utc_now

if TYPE_CHECKING:
    from nats.aio.client import Client

    from vpp.adapters.nats.client import NatsClientSettings
    from vpp.adapters.prometheus.dispatcher_metrics import PrometheusDispatcherMetrics
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.application.dispatcher import Dispatcher
    from vpp.application.dispatcher.leadership import LeaderElection
    from vpp.application.ports import CommandSigner

log = logging.getLogger("vpp.dispatcher")


@dataclass(frozen=True, slots=True)
class DispatcherOptions:
    """How one dispatcher process runs (the CLI's options)."""

    cycle_s: float = 4.0
    instance: str = "dispatcher"
    lease_ttl_s: float | None = None  # None: the cycle, at least 2 s
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: no ops endpoint
    wake_s: float = 0.05

    @property
    def ttl_s(self) -> float:
        """A follower takes over ``ttl_s`` (plus a poll) after the leader's last renewal,
        and its first cycle starts at once: within two cycles of the leader's loss."""
        return self.lease_ttl_s if self.lease_ttl_s is not None else max(2.0, self.cycle_s)


class _Status:
    """What ``/readyz`` reads (from the endpoint's thread: plain attributes only)."""

    def __init__(self, nc: Client, election: LeaderElection) -> None:
        self.nc, self.election = nc, election
        self.store_ok = True

    def ready(self) -> str | None:
        if not self.nc.is_connected:
            return "not connected to NATS"
        if self.election.holds():
            return None if self.store_ok else "leading, but the last cycle failed (store?)"
        if self.election.leader_alive():
            return None
        return "no live leader seen yet (electing)"


async def _one_cycle(
    dispatcher: Dispatcher, opts: DispatcherOptions, status: _Status | None = None
) -> float:
    """Run one cycle and log it; return when it started (event-loop time)."""
    from vpp.application.dispatcher.leadership import NotLeading

    loop = asyncio.get_running_loop()
    started = loop.time()
    sent_before = dispatcher.commands_sent
    ok = True
    try:
        await dispatcher.cycle(utc_now())
    except NotLeading as lost:
        log.warning("%s: %s; nothing more sent", opts.instance, lost)
    except Exception:  # the store or NATS is away: try again next cycle
        ok = False
        log.exception("dispatcher cycle failed")
    if status is not None:
        status.store_ok = ok
    took = loop.time() - started
    if dispatcher.metrics is not None:
        dispatcher.metrics.observe_cycle(took)
    sent = dispatcher.commands_sent - sent_before
    log.log(
        logging.INFO if sent or took > opts.cycle_s / 2 else logging.DEBUG,
        "cycle took %.3f s, %d commands sent",
        took,
        sent,
    )
    return started


async def _until_next_cycle(
    store: SqlDispatcherStore,
    stop: asyncio.Event,
    next_cycle: float,
    wake_s: float,
    election: LeaderElection | None = None,
) -> None:
    """Sleep until ``next_cycle``, but return at once when a new dispatch arrives (or the
    lease is lost)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set() and loop.time() < next_cycle:
        if election is not None and not election.holds():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wake_s)
        try:
            if await asyncio.to_thread(store.has_accepted):
                return
        except Exception:  # the store is away; the cycle will say so
            log.debug("has_accepted failed", exc_info=True)


async def _lead_or_follow(
    dispatcher: Dispatcher,
    store: SqlDispatcherStore,
    election: LeaderElection,
    metrics: PrometheusDispatcherMetrics,
    status: _Status,
    stop: asyncio.Event,
    opts: DispatcherOptions,
) -> None:
    """Cycles while this instance leads; waits for the election otherwise."""
    leading = False
    while not stop.is_set():
        now_leading = election.holds()
        metrics.set_leader(now_leading, election.epoch)
        if now_leading and not leading:
            dispatcher.forget()  # continue from what the previous leader saved
            log.info(
                "%s leads (epoch %d): cycles every %.1f s",
                opts.instance,
                election.epoch,
                opts.cycle_s,
            )
        elif leading and not now_leading:
            log.warning("%s no longer leads: following %s", opts.instance, election.leader)
        leading = now_leading
        if not leading:
            election.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(election.changed.wait(), timeout=election.poll_s)
            continue
        started = await _one_cycle(dispatcher, opts, status)
        await _until_next_cycle(store, stop, started + opts.cycle_s, opts.wake_s, election)
    metrics.set_leader(False, election.epoch)


async def run_dispatcher(
    nats: NatsClientSettings | str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    cycle_s: float = 4.0,
    wake_s: float = 0.05,
    ready: asyncio.Event | None = None,
    signing_keys: Path | None = None,
    options: DispatcherOptions | None = None,
) -> int:
    """Run the closed-loop dispatcher every ``cycle_s`` while it leads, until ``stop``;
    returns commands sent.  Commands are signed with the keyring in ``signing_keys``
    (default ``<data dir>/command-signing``, created with a first key if missing).
    ``options`` (instance, lease, ops endpoint) override ``cycle_s`` and ``wake_s``."""
    from vpp.adapters.nats.client import as_settings, connect, log_nats_error
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.bootstrap.signing import dispatcher_signer

    opts = options or DispatcherOptions(cycle_s=cycle_s, wake_s=wake_s)
    signer = dispatcher_signer(signing_keys)
    url = db_url or default_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    store = SqlDispatcherStore(engine)
    nc = await connect(
        as_settings(nats),
        f"vpp-{opts.instance}",
        max_reconnect_attempts=-1,
        error_cb=log_nats_error,
    )
    try:
        return await _serve(nc, store, signer, stop, ready, opts)
    finally:
        await nc.close()
        engine.dispose()


async def _serve(
    nc: Client,
    store: SqlDispatcherStore,
    signer: CommandSigner,
    stop: asyncio.Event,
    ready: asyncio.Event | None,
    opts: DispatcherOptions,
) -> int:
    """Elect, serve the ops endpoint and lead or follow until ``stop``; commands sent."""
    from vpp.adapters.nats.command_sender import NatsCommandSender
    from vpp.adapters.nats.lease import NatsLeaseStore, ensure_lease_bucket
    from vpp.adapters.nats.streams import ensure_streams
    from vpp.adapters.prometheus.dispatcher_metrics import PrometheusDispatcherMetrics
    from vpp.adapters.prometheus.http import serve_ops
    from vpp.application.dispatcher import Dispatcher, DispatcherSettings
    from vpp.application.dispatcher.leadership import LeaderElection

    metrics = PrometheusDispatcherMetrics(opts.instance)
    js = nc.jetstream()
    await ensure_streams(js, update_existing=False)  # ops provisions them
    kv = await ensure_lease_bucket(js)  # ops provisions it too (tests: made here)
    election = LeaderElection(NatsLeaseStore(kv), opts.instance, opts.ttl_s)
    status = _Status(nc, election)
    endpoint = None
    if opts.metrics_port is not None:
        endpoint = serve_ops(opts.metrics_host, opts.metrics_port, metrics.registry, status.ready)
        log.info("%s: ops endpoint on %s", opts.instance, endpoint.url)
    try:
        settings = DispatcherSettings(cycle_s=opts.cycle_s)
        sender = NatsCommandSender(js, signer)
        dispatcher = Dispatcher(store, sender, settings, fence=election, metrics=metrics)
        electing = asyncio.create_task(election.run(stop), name="lease")
        if ready is not None:
            ready.set()
        try:
            await _lead_or_follow(dispatcher, store, election, metrics, status, stop, opts)
        finally:
            stop.set()
            await electing  # releases the lease: a follower takes over at once
        return dispatcher.commands_sent
    finally:
        if endpoint is not None:
            endpoint.stop()
