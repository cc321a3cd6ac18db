"""Projector: JetStream streams into the read models, shared by any number of processes.

Every process joins the group of its NATS account (:mod:`vpp.application.projector_group`):
the telemetry partitions of the TELEMETRY stream (its ``P``, set by ops; 1 when it is not
partitioned) and the ``main`` unit (commands, acks, roll-ups) are leased in the
projectors' KV bucket.  One process alone holds everything, as before partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url

if TYPE_CHECKING:
    from nats.aio.client import Client
    from sqlalchemy import Engine

    from vpp.adapters.nats.client import NatsClientSettings
    from vpp.application.projector_group import ProjectorGroup
    from vpp.application.retention import RetentionSettings
    from vpp.bootstrap.projector_units import Units

log = logging.getLogger(__name__)

#: per projection: its counters (batches, items, skipped, refused, last_seq,
#: change_errors, dead_letters) and its last notes
ProjectorStats = dict[str, dict[str, int | list[str]]]

__all__ = ["OpsAddress", "ProjectorStats", "run_projector"]


@dataclass(frozen=True, slots=True)
class OpsAddress:
    """Where ``/metrics``, ``/healthz`` and ``/readyz`` are served (port 0: any free)."""

    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class _Readiness:
    """``/readyz``: connected to NATS and the store, holding its share (or idle because
    the others hold everything)."""

    nc: Client
    group: ProjectorGroup
    units: Units
    store_ok: bool = False

    def __call__(self) -> str | None:
        if not self.nc.is_connected:
            return "not connected to NATS"
        if not self.store_ok or self.units.store_failing():
            return "store unavailable"
        state = self.group.state
        if not state.board_ok:
            return "lease board unavailable"
        if not state.settled:
            return f"rebalancing: {len(state.owned)} of {state.quota} partitions held"
        return None

    async def watch_store(self, engine: Engine, stop: asyncio.Event) -> None:
        from sqlalchemy import text

        def ping() -> None:
            with engine.connect() as con:
                con.execute(text("SELECT 1"))

        while not stop.is_set():
            try:
                await asyncio.to_thread(ping)
                self.store_ok = True
            except Exception:
                self.store_ok = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)


@dataclass(frozen=True, slots=True)
class GroupOptions:
    instance: str = "projector"
    ops: OpsAddress | None = None
    lease_ttl_s: float = 5.0
    cycle_s: float = 1.0
    publish_changes: bool = True
    retention: RetentionSettings | None = None


async def run_projector(
    nats: NatsClientSettings | str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    publish_changes: bool = True,
    ready: asyncio.Event | None = None,
    instance: str = "projector",
    ops: OpsAddress | None = None,
    lease_ttl_s: float = 5.0,
    cycle_s: float = 1.0,
    retention: RetentionSettings | None = None,
) -> ProjectorStats:
    """Project (this process's share of) TELEMETRY, COMMANDS and ACKS into the store
    until ``stop`` is set.  ``instance`` names the process in the group (unique per
    process), its logs and metrics; ``ops`` serves its metrics and probes; a member
    silent for ``lease_ttl_s`` is dropped from the group.  With ``retention``, the holder
    of the roll-ups keeps the telemetry bounded too (:func:`retention_task`).

    Returns the per-projection statistics of what this process projected.
    """
    from vpp.adapters.nats.client import as_settings, connect, log_nats_error
    from vpp.adapters.store.engine import make_engine

    options = GroupOptions(instance, ops, lease_ttl_s, cycle_s, publish_changes, retention)
    url = db_url or default_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    nc = await connect(
        as_settings(nats), f"vpp-{instance}", max_reconnect_attempts=-1, error_cb=log_nats_error
    )
    try:
        return await _run_group(nc, engine, stop, ready, options)
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


async def _run_group(
    nc: Client,
    engine: Engine,
    stop: asyncio.Event,
    ready: asyncio.Event | None,
    o: GroupOptions,
) -> ProjectorStats:
    from vpp.adapters.nats.lease import ensure_lease_bucket
    from vpp.adapters.nats.projection_consumer import NatsChangePublisher
    from vpp.adapters.nats.projector_leases import KvLeaseBoard
    from vpp.adapters.nats.streams import ensure_streams, telemetry_partitions
    from vpp.adapters.prometheus.http import serve_ops
    from vpp.adapters.prometheus.projector_metrics import PrometheusProjectorMetrics
    from vpp.application.projector_group import ProjectorGroup
    from vpp.bootstrap.projector_units import Units

    js = nc.jetstream()
    await ensure_streams(js, update_existing=False)  # ops provisions them
    await ensure_lease_bucket(js)  # ops provisions it (an open server: the first one)
    partitions = await telemetry_partitions(js)
    metrics = PrometheusProjectorMetrics() if o.ops is not None else None
    changes = NatsChangePublisher(js) if o.publish_changes else None
    units = Units(js, engine, changes, partitions, metrics, o.retention)
    board = KvLeaseBoard(js, ttl_s=o.lease_ttl_s)
    group = ProjectorGroup(
        o.instance,
        board,
        partitions,
        units.partition,
        units.main,
        interval_s=o.cycle_s,
        metrics=metrics,
    )
    readiness = _Readiness(nc, group, units)
    endpoint = None
    if o.ops is not None and metrics is not None:
        endpoint = serve_ops(o.ops.host, o.ops.port, metrics.registry, readiness)
        log.info("projector %s: ops endpoint on %s", o.instance, endpoint.url)
    log.info("projector %s: %d telemetry partition(s)", o.instance, partitions)
    try:
        watch = asyncio.create_task(readiness.watch_store(engine, stop))
        await group.cycle()  # the first claims at once
        if ready is not None:
            ready.set()
        await group.run(stop)
        await watch
        return units.stats()
    finally:
        if endpoint is not None:
            endpoint.stop()
