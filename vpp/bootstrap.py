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


# -- field gateway (issue 5) -------------------------------------------------------------

import typing as _t  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402


def _gateway_driver(device: _t.Any) -> _t.Any:
    """The :class:`DeviceDriver` of one configured device, chosen by its protocol."""
    from vpp.config.gateway import Iec61850Device, SunSpecDevice

    ratings = None if device.ratings == "device" else device.ratings.to_domain()
    default_p_w = device.default.p_w if device.default.mode == "fixed" else None
    if isinstance(device, SunSpecDevice):
        from vpp.adapters.modbus.sunspec_driver import SunSpecDriver

        return SunSpecDriver(
            device.der_id,
            device.kind,
            device.host,
            device.port,
            device.unit_id,
            timeout_s=device.timeout_s,
            default_p_w=default_p_w,
            ratings=ratings,
        )
    if isinstance(device, Iec61850Device):
        try:
            from vpp.adapters.iec61850 import Iec61850Driver  # type: ignore[attr-defined]
        except ImportError as exc:
            raise GatewayBuildError(
                f"{device.der_id}: protocol iec61850 needs vpp.adapters.iec61850.Iec61850Driver"
                f" ({exc})"
            ) from exc
        return Iec61850Driver(
            der_id=device.der_id,
            kind=device.kind,
            host=device.host,
            port=device.port,
            ied=device.ied,
            ld=device.ld,
            timeout_s=device.timeout_s,
            default_p_w=default_p_w,
            ratings=ratings,
            scl_file=device.scl_file,
        )
    raise GatewayBuildError(f"{device.der_id}: unknown protocol {device.protocol!r}")


class GatewayBuildError(Exception):
    pass


@dataclass
class BuiltGateway:
    """A gateway wired from ``gateway.yaml``: ``await built.run()`` until ``built.stop()``."""

    gateway: _t.Any  # vpp.application.gateway.FieldGateway
    uplink: _t.Any  # vpp.adapters.nats.uplink.NatsUplink
    publisher: _t.Any  # vpp.adapters.nats.publisher.NatsTelemetryPublisher
    buffer: _t.Any  # vpp.adapters.nats.buffer.DiskTelemetryBuffer
    ledger: _t.Any  # vpp.adapters.nats.ledger.SqliteCommandLedger
    metrics: _t.Any  # vpp.application.gateway.GatewayMetrics
    metrics_endpoint: _t.Any | None

    async def run(self) -> None:
        try:
            await self.gateway.run()
        finally:
            self.buffer.close()
            self.ledger.close()

    def stop(self) -> None:
        self.gateway.stop()

    async def wait_started(self, timeout: float = 10.0) -> None:
        await self.gateway.wait_started(timeout)


def build_gateway(config: _t.Any) -> BuiltGateway:
    """Build the field gateway of a :class:`vpp.config.gateway.GatewayConfig`."""
    from vpp.adapters.nats.buffer import DiskTelemetryBuffer
    from vpp.adapters.nats.commands import NatsCommandConsumer
    from vpp.adapters.nats.ledger import SqliteCommandLedger
    from vpp.adapters.nats.publisher import NatsAckPublisher, NatsTelemetryPublisher
    from vpp.adapters.nats.uplink import NatsCredentials, NatsUplink
    from vpp.application.gateway import (
        DeviceRunner,
        DeviceSpec,
        FieldGateway,
        GatewayCommandHandler,
        GatewayMetrics,
        SystemClock,
    )
    from vpp.application.gateway.metrics import MetricsEndpoint

    gw_id = config.gateway_id
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    n = config.nats
    uplink = NatsUplink(
        n.url,
        NatsCredentials(n.user, n.password, n.token, n.creds_file),
        name=f"vpp-gateway-{gw_id}",
    )
    metrics = GatewayMetrics(gw_id)
    buffer = DiskTelemetryBuffer(data_dir / "telemetry-buffer.sqlite", config.buffer.max_bytes)
    publisher = NatsTelemetryPublisher(uplink, buffer, metrics)
    ledger = SqliteCommandLedger(data_dir / "commands.sqlite")
    clock = SystemClock()
    runners: list[_t.Any] = []
    sink_holder: list[_t.Any] = []

    def sink(reading: _t.Any) -> None:
        sink_holder[0].collect(reading)

    for device in config.devices:
        ratings = None if device.ratings == "device" else device.ratings.to_domain()
        spec = DeviceSpec(
            device.der_id, device.kind, ratings, device.poll_s, config.site_id, device.name
        )
        runners.append(
            DeviceRunner(
                spec,
                _gateway_driver(device),
                gw_id,
                sink,
                revert_after_s=config.safety.device_reversion_s,
                metrics=metrics,
            )
        )
    handler = GatewayCommandHandler(
        gw_id,
        {r.der_id: r for r in runners},
        ledger,
        NatsAckPublisher(uplink),
        clock,
        command_timeout_s=config.safety.command_timeout_s,
        metrics=metrics,
    )
    flush_s = min([d.poll_s for d in config.devices] or [1.0])
    gateway = FieldGateway(
        gw_id, runners, publisher, handler, uplink, clock, metrics=metrics, flush_s=flush_s
    )
    sink_holder.append(gateway)
    consumer = NatsCommandConsumer(
        uplink, gw_id, gateway.handle_command, on_dead_letter=lambda _: metrics.dead_letters.inc()
    )
    endpoint = None
    gateway.services = [uplink, publisher, consumer]
    if config.metrics.port is not None:
        endpoint = MetricsEndpoint(metrics, config.metrics.host, config.metrics.port)
        gateway.services.append(endpoint)
    return BuiltGateway(gateway, uplink, publisher, buffer, ledger, metrics, endpoint)
