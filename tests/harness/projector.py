"""The projector tests' telemetry: batches of readings, their JetStream publication, and
the registration of their DERs behind their gateway (the projector refuses others)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from vpp.adapters.nats import codec, subjects
from vpp.adapters.store import migrate
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport
from vpp.domain import Der, DerKind, DerRatings, Reading

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def batch(gw: str, i0: int, n: int, ders: int = 5) -> list[Reading]:
    """``n`` seconds (from ``T0 + i0``) of readings of ``ders`` DERs of gateway ``gw``."""
    return [
        Reading(f"{gw}-der{d}", T0 + timedelta(seconds=i), float(100 * d + i), soc=0.5)
        for i in range(i0, i0 + n)
        for d in range(ders)
    ]


def der_ids(gw: str, ders: int = 5) -> list[str]:
    """The DERs of :func:`batch`."""
    return [f"{gw}-der{d}" for d in range(ders)]


def register_ders(db_url: str, gw: str, ids: list[str]) -> None:
    """Register batteries ``ids`` behind gateway ``gw`` (migrating the store first)."""
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        ratings = DerRatings(-5000.0, 5000.0, energy_wh=10_000.0)
        SqlRegistryStore(engine).import_registry(
            RegistryImport(
                gateways=[GatewayRecord(gw)],
                ders=[DerRecord(Der(d, DerKind.BATTERY, ratings, gateway_id=gw)) for d in ids],
            )
        )
    finally:
        engine.dispose()


async def publish_telemetry(js: JetStreamContext, gw: str, readings: list[Reading]) -> None:
    """As the gateway publishes a batch: its deterministic message id for JetStream dedupe."""
    await js.publish(
        subjects.telemetry(gw),
        codec.encode_telemetry(gw, readings),
        headers={"Nats-Msg-Id": codec.telemetry_msg_id(gw, readings)},
    )
