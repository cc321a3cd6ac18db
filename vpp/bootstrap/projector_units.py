"""The units of work of a projector process, built over one store and one NATS
connection: a telemetry partition (its feed), and ``main`` (the commands and acks feeds
and the roll-up schedule).  Every feed built is kept, for the statistics and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import Engine

from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.projection_consumer import (
    JetStreamProjectionFeed,
    decode_ack,
    decode_command,
    decode_telemetry,
)
from vpp.adapters.nats.projection_lag import sample_lag
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.adapters.store.registry_store import SqlDerGateways
from vpp.adapters.store.rollups import SqlRollupMaintainer
from vpp.application.ports import ChangePublisher, ProjectorMetrics
from vpp.application.projector import (
    AckProjection,
    CommandProjection,
    RollupSchedule,
    TelemetryProjection,
)
from vpp.application.projector_group import partition_key
from vpp.application.retention import RetentionSettings
from vpp.bootstrap.projector import ProjectorStats


@dataclass
class _Unit:
    """Feeds (and maybe the roll-ups) run together until ``stop``."""

    units: Units
    feeds: list[JetStreamProjectionFeed[Any]]

    async def run(self, stop: asyncio.Event) -> None:
        self.units.live.extend(self.feeds)
        try:
            work = [f.run(stop) for f in self.feeds]
            if self.units.metrics is not None:
                m = self.units.metrics
                work += [sample_lag(self.units.js, f, m, stop) for f in self.feeds]
            await asyncio.gather(*work)
        finally:
            for f in self.feeds:
                self.units.live.remove(f)


@dataclass
class Units:
    js: JetStreamContext
    engine: Engine
    changes: ChangePublisher | None
    partitions: int
    metrics: ProjectorMetrics | None = None
    retention: RetentionSettings | None = None
    built: list[JetStreamProjectionFeed[Any]] = field(default_factory=list)
    live: list[JetStreamProjectionFeed[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = SqlProjectionWriter(self.engine)
        self.ders = SqlDerGateways(self.engine)

    def partition(self, p: int) -> _Unit:
        name = partition_key(p, self.partitions)
        projection = TelemetryProjection(
            self.store,
            None,  # the holder of main rolls up
            self.ders,
            self.changes,
            name=name,
            metrics=self.metrics,
            resume_after=None if self.partitions == 1 else "telemetry",
        )
        filters = () if self.partitions == 1 else subjects.telemetry_partition_filters(p)
        feed = JetStreamProjectionFeed(
            self.js,
            projection,
            decode_telemetry,
            narrow=codec.telemetry_of_ders,
            filter_subjects=filters,
            metrics=self.metrics,
        )
        self.built.append(feed)
        return _Unit(self, [feed])

    def main(self) -> _MainUnit:
        feeds: list[JetStreamProjectionFeed[Any]] = [
            JetStreamProjectionFeed(
                self.js,
                CommandProjection(self.store, self.changes, self.metrics),
                decode_command,
                metrics=self.metrics,
            ),
            JetStreamProjectionFeed(
                self.js,
                AckProjection(self.store, self.changes, self.metrics),
                decode_ack,
                metrics=self.metrics,
            ),
        ]
        self.built.extend(feeds)
        schedule = RollupSchedule(SqlRollupMaintainer(self.engine))
        return _MainUnit(_Unit(self, feeds), schedule, self.engine, self.retention)

    def stats(self) -> ProjectorStats:
        """Per projection, summed over every feed this process ran for it."""
        out: ProjectorStats = {}
        for f in self.built:
            row = {**vars(f.projection.stats), "dead_letters": f.dead_letters}
            seen = out.setdefault(f.projection.name, {})
            for k, v in row.items():
                old = seen.get(k)
                if isinstance(v, int) and isinstance(old, int):
                    seen[k] = max(old, v) if k == "last_seq" else old + v
                elif isinstance(v, list) and isinstance(old, list):
                    seen[k] = [*old, *v][-20:]
                else:
                    seen[k] = v
        return out

    def store_failing(self) -> bool:
        return any(f.failures for f in self.live)


@dataclass
class _MainUnit:
    """Commands and acks, and the roll-ups every few seconds (the last, of all minutes,
    when stopped); the telemetry retention with ``retention``."""

    feeds: _Unit
    schedule: RollupSchedule
    engine: Engine
    retention: RetentionSettings | None

    async def run(self, stop: asyncio.Event) -> None:
        from vpp.bootstrap.projector import retention_task

        work: list[Awaitable[None]] = [self.feeds.run(stop), self.schedule.run(stop)]
        if self.retention is not None:
            work.append(retention_task(self.engine, self.retention, stop))
        await asyncio.gather(*work)
