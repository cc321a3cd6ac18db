"""Composition root: builds concrete adapters from configuration; the CLI calls it."""

from __future__ import annotations

import asyncio
import contextlib
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

SCL_DIR = Path(__file__).resolve().parents[1] / "models" / "iec61850-7-420"


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
        from vpp.adapters.iec61850 import Iec61850Driver

        ld = device.ld
        if ld.startswith(device.ied) and len(ld) > len(device.ied):
            ld = ld[len(device.ied) :]  # "<IED><inst>" -> "<inst>": the driver wants the inst
        scl = device.scl_file or SCL_DIR / f"{device.kind.value}.icd"
        return Iec61850Driver(
            device.der_id,
            device.kind,
            device.host,
            device.port,
            device.ied,
            ld,
            scl,
            timeout_s=device.timeout_s,
            poll_s=device.poll_s,
            default_p_w=default_p_w,
            ratings=ratings,
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


# -- operator HTTP API and registry (issue 6) --------------------------------------------

from collections.abc import Iterable as _Iterable  # noqa: E402
from collections.abc import Sequence as _Sequence  # noqa: E402
from pathlib import Path as _Path  # noqa: E402
from typing import Any as _Any  # noqa: E402


def api_services(engine: _Any) -> _Any:
    """The API's use cases on the store behind ``engine`` (which must be migrated)."""
    from vpp.adapters.api.services import ApiServices
    from vpp.adapters.store.api_keys import SqlApiKeyStore
    from vpp.adapters.store.dispatch_store import SqlDispatchStore
    from vpp.adapters.store.registry_store import SqlRegistryStore
    from vpp.adapters.store.telemetry_reads import SqlTelemetryReads
    from vpp.application.auth import ApiKeys
    from vpp.application.dispatch_requests import DispatchRequests
    from vpp.application.queries import OperatorQueries
    from vpp.application.registry import TenantRegistry

    registry = SqlRegistryStore(engine)
    return ApiServices(
        keys=ApiKeys(SqlApiKeyStore(engine)),
        queries=OperatorQueries(registry, SqlTelemetryReads(engine)),
        dispatches=DispatchRequests(SqlDispatchStore(engine), registry),
        registry=TenantRegistry(registry),
    )


def build_api(db_url: str | None = None, *, upgrade: bool = True) -> _Any:
    """The operator API (a FastAPI app) on the store at ``db_url`` (default SQLite file).

    With ``upgrade`` the store is migrated first.  Serve it with uvicorn (``vpp api``);
    ``app.state.engine.dispose()`` closes its database connections.
    """
    from vpp.adapters.api.app import create_app

    url = db_url or default_url()
    if upgrade:
        migrate.upgrade(url)
    engine = make_engine(url)
    app = create_app(api_services(engine))
    app.state.engine = engine
    return app


def registry_import_from_config(registry: _Any, gateways: _Sequence[_Any]) -> _Any:
    """A :class:`RegistryImport` from a ``RegistryConfig`` and ``GatewayConfig`` objects.

    Devices whose ratings come from the device itself (``ratings: device``) cannot be
    registered before the gateway reads them; they are listed in ``skipped``.
    """
    from vpp.application.store_ports import DerRecord, GatewayRecord, RegistryImport, SiteRecord
    from vpp.config.gateway import SunSpecDevice
    from vpp.domain.der import Der
    from vpp.domain.plant import Plant, Tenant

    ders: list[DerRecord] = []
    skipped: list[str] = []
    for gw in gateways:
        for dev in gw.devices:
            if dev.ratings == "device":
                skipped.append(dev.der_id)
                continue
            der = Der(
                dev.der_id, dev.kind, dev.ratings.to_domain(), gw.gateway_id, gw.site_id, dev.name
            )
            where = (
                f"{dev.host}:{dev.port}/{dev.unit_id}"
                if isinstance(dev, SunSpecDevice)
                else f"{dev.host}:{dev.port}/{dev.ied}/{dev.ld}"
            )
            ders.append(DerRecord(der, dev.protocol, where))
    data = RegistryImport(
        tenants=[Tenant(t.tenant_id, t.name) for t in (registry.tenants if registry else [])],
        sites=[
            SiteRecord(s.site_id, s.tenant_id, s.name) for s in (registry.sites if registry else [])
        ],
        gateways=[GatewayRecord(g.gateway_id, g.site_id) for g in gateways],
        ders=ders,
        plants=[
            Plant(p.plant_id, p.tenant_id, frozenset(p.members), p.name)
            for p in (registry.plants if registry else [])
        ],
    )
    return data, skipped


def import_registry_files(
    db_url: str | None,
    registry_file: str | _Path | None,
    gateway_files: _Sequence[str | _Path] = (),
    *,
    upgrade: bool = True,
) -> _Any:
    """Load ``registry.yaml`` and ``gateway.yaml`` files and write tenants, sites, gateways,
    DERs and plants into the store in one transaction (idempotent: run it again after
    editing the files).  Returns an :class:`vpp.application.registry.ImportSummary`."""
    from vpp.config.gateway import GatewayConfig
    from vpp.config.loader import load_yaml
    from vpp.config.registry import RegistryConfig

    registry = load_yaml(registry_file, RegistryConfig) if registry_file else None
    gateways = [load_yaml(p, GatewayConfig) for p in gateway_files]
    return import_registry_configs(db_url, registry, gateways, upgrade=upgrade)


def import_registry_configs(
    db_url: str | None,
    registry: _Any,
    gateways: _Sequence[_Any] = (),
    *,
    upgrade: bool = True,
) -> _Any:
    """Like :func:`import_registry_files`, from already loaded configuration objects."""
    from vpp.adapters.store.registry_store import SqlRegistryStore
    from vpp.application.registry import import_registry

    url = db_url or default_url()
    if upgrade:
        migrate.upgrade(url)
    data, skipped = registry_import_from_config(registry, gateways)
    engine = make_engine(url)
    try:
        return import_registry(SqlRegistryStore(engine), data, skipped=skipped)
    finally:
        engine.dispose()


def ensure_tenant_key(
    db_url: str | None,
    tenant_id: str,
    name: str = "",
    scopes: _Iterable[str] = ("read", "dispatch", "admin"),
    *,
    upgrade: bool = True,
) -> str:
    """Create ``tenant_id`` if it does not exist and issue it a new API key.

    Returns the raw key (``vpp_<key_id>_<secret>``); only its hash is stored, so this is
    the one moment it can be shown.  Used by ``vpp playground`` for its demo tenant.
    """
    from vpp.adapters.store.api_keys import SqlApiKeyStore
    from vpp.application.auth import ApiKeys
    from vpp.application.use_case_errors import Conflict

    url = db_url or default_url()
    if upgrade:
        migrate.upgrade(url)
    engine = make_engine(url)
    try:
        keys = ApiKeys(SqlApiKeyStore(engine))
        try:
            return keys.create_tenant(tenant_id, name, scopes).raw_key
        except Conflict:
            return keys.create_key(tenant_id, scopes).raw_key
    finally:
        engine.dispose()


async def run_dispatcher(
    nats_url: str,
    db_url: str | None,
    stop: asyncio.Event,
    *,
    cycle_s: float = 4.0,
    wake_s: float = 0.2,
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
        store.close()
