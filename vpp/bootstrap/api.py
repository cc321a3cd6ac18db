"""Operator API, registry import and API keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url, make_engine

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

    from vpp.adapters.api.services import ApiServices
    from vpp.adapters.api.settings import ApiSettings
    from vpp.application.ports import RegistryImport
    from vpp.application.registry import ImportSummary
    from vpp.config.gateway import GatewayConfig
    from vpp.config.registry import RegistryConfig


def api_services(engine: Engine) -> ApiServices:
    """The API's use cases on the store behind ``engine`` (which must be migrated)."""
    from vpp.adapters.api.services import ApiServices
    from vpp.adapters.store.api_keys import SqlApiKeyStore
    from vpp.adapters.store.dispatch_store import SqlDispatchStore
    from vpp.adapters.store.registry_store import SqlRegistryStore
    from vpp.adapters.store.telemetry_reads import SqlTelemetryReadStore
    from vpp.application.auth import ApiKeys
    from vpp.application.dispatch_requests import DispatchRequests
    from vpp.application.flexibility import PlantFlexibility
    from vpp.application.queries import OperatorQueries
    from vpp.application.registry import TenantRegistry

    registry = SqlRegistryStore(engine)
    queries = OperatorQueries(registry, SqlTelemetryReadStore(engine))
    return ApiServices(
        keys=ApiKeys(SqlApiKeyStore(engine)),
        queries=queries,
        dispatches=DispatchRequests(SqlDispatchStore(engine), registry),
        registry=TenantRegistry(registry),
        flexibility=PlantFlexibility(queries, registry),
    )


def build_api(
    db_url: str | None = None, *, upgrade: bool = True, settings: ApiSettings | None = None
) -> FastAPI:
    """The operator API (a FastAPI app) on the store at ``db_url`` (default SQLite file).

    With ``upgrade`` the store is migrated first; ``settings`` are its rate limits
    (defaults: :class:`vpp.adapters.api.settings.ApiSettings`).  Serve it with uvicorn
    (``vpp api``); ``app.state.engine.dispose()`` closes its database connections.
    """
    from vpp.adapters.api.app import create_app
    from vpp.adapters.store.health import StoreProbe

    url = db_url or default_url()
    if upgrade:
        migrate.upgrade(url)
    engine = make_engine(url)
    probe = StoreProbe(engine)
    app = create_app(api_services(engine), settings, readiness=probe.reason)
    app.state.engine = engine
    app.state.store_probe = probe  # also the readiness of --metrics-port's /readyz
    return app


def registry_import_from_config(
    registry: RegistryConfig | None, gateways: Sequence[GatewayConfig]
) -> tuple[RegistryImport, list[str]]:
    """A :class:`RegistryImport` from a ``RegistryConfig`` and ``GatewayConfig`` objects,
    and the ids of the DERs it leaves out.

    Devices whose ratings come from the device itself (``ratings: device``) cannot be
    registered before the gateway reads them; they are listed in ``skipped``.
    """
    from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport, SiteRecord
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
    registry_file: str | Path | None,
    gateway_files: Sequence[str | Path] = (),
    *,
    upgrade: bool = True,
) -> ImportSummary:
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
    registry: RegistryConfig | None,
    gateways: Sequence[GatewayConfig] = (),
    *,
    upgrade: bool = True,
) -> ImportSummary:
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
    scopes: Iterable[str] = ("read", "dispatch", "admin"),
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


def issue_platform_key(db_url: str | None, *, upgrade: bool = True) -> str:
    """A new key with the ``platform`` scope (it creates tenants through the API, nothing
    else); the raw key, shown this once.  ``vpp api --issue-platform-key``."""
    from vpp.adapters.store.api_keys import SqlApiKeyStore
    from vpp.application.auth import ApiKeys

    url = db_url or default_url()
    if upgrade:
        migrate.upgrade(url)
    engine = make_engine(url)
    try:
        return ApiKeys(SqlApiKeyStore(engine)).create_platform_key().raw_key
    finally:
        engine.dispose()
