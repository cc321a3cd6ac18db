"""The read-model adapters over one engine, as the processes compose them, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.adapters.store.rollups import SqlRollupMaintainer
from vpp.adapters.store.telemetry_reads import SqlTelemetryReadStore


@dataclass
class ReadModels:
    """Each port's adapter on ``engine`` (a test can reach every side of the store)."""

    engine: Engine
    writer: SqlProjectionWriter = field(init=False)
    registry: SqlRegistryStore = field(init=False)
    rollups: SqlRollupMaintainer = field(init=False)
    reads: SqlTelemetryReadStore = field(init=False)

    def __post_init__(self) -> None:
        self.writer = SqlProjectionWriter(self.engine)
        self.registry = SqlRegistryStore(self.engine)
        self.rollups = SqlRollupMaintainer(self.engine)
        self.reads = SqlTelemetryReadStore(self.engine)

    @classmethod
    def from_url(cls, url: str) -> ReadModels:
        return cls(make_engine(url))

    def dispatcher_store(self) -> SqlDispatcherStore:
        return SqlDispatcherStore(self.engine)

    def close(self) -> None:
        self.engine.dispose()
