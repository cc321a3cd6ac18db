"""The operator API's world for its tests: the real app over the real store, seeded with
two tenants (``t-a``, ``t-b``), each with one plant of DERs, keys of every scope, and a
platform key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.harness.read_models import ReadModels
from vpp.adapters.api.app import create_app
from vpp.adapters.api.settings import ApiSettings
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport, SiteRecord
from vpp.application.registry import import_registry
from vpp.bootstrap import api_services, build_api, ensure_tenant_key, issue_platform_key
from vpp.domain import Der, DerKind, DerRatings, Plant, Reading, Tenant


def battery(der_id: str, site: str, p_kw: float = 50.0) -> Der:
    ratings = DerRatings(-p_kw * 1000, p_kw * 1000, energy_wh=4 * p_kw * 1000)
    return Der(der_id, DerKind.BATTERY, ratings, gateway_id=f"gw-{site}", site_id=site)


def pv(der_id: str, site: str, p_kw: float = 100.0) -> Der:
    return Der(
        der_id, DerKind.PV, DerRatings(0.0, p_kw * 1000), gateway_id=f"gw-{site}", site_id=site
    )


@dataclass
class World:
    db_url: str
    client: TestClient
    key_a: str  # t-a, all scopes
    key_a_read: str
    key_b: str  # t-b, all scopes
    store: ReadModels
    platform_key: str  # scope platform: creates tenants

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def readings(self, *readings: Reading) -> None:
        """Store readings and roll them up, as the telemetry projector does."""
        self.store.writer.record_readings(list(readings))
        self.store.rollups.roll_up()

    def save_plant(self, plant: Plant) -> None:
        """Create or replace a plant and its membership."""
        self.store.registry.import_registry(RegistryImport(plants=[plant]))


def seed_registry(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        data = RegistryImport(
            tenants=[Tenant("t-a", "Tenant A"), Tenant("t-b", "Tenant B")],
            sites=[SiteRecord("site-a", "t-a"), SiteRecord("site-b", "t-b")],
            gateways=[GatewayRecord("gw-site-a", "site-a"), GatewayRecord("gw-site-b", "site-b")],
            ders=[
                DerRecord(battery("bat-a1", "site-a"), "sunspec", "127.0.0.1:1502/1"),
                DerRecord(pv("pv-a1", "site-a"), "sunspec", "127.0.0.1:1503/1"),
                DerRecord(battery("bat-b1", "site-b")),
            ],
            plants=[
                Plant("plant-a", "t-a", frozenset({"bat-a1", "pv-a1"}), "Plant A"),
                Plant("plant-b", "t-b", frozenset({"bat-b1"}), "Plant B"),
            ],
        )
        import_registry(SqlRegistryStore(engine), data)
    finally:
        engine.dispose()


def fresh_readings(now: datetime | None = None) -> list[Reading]:
    """Battery at 10 kW discharging with half charge, PV at 30 kW (30 kW available)."""
    ts = (now or datetime.now(UTC)) - timedelta(seconds=2)
    return [
        Reading("bat-a1", ts, 10_000.0, soc=0.5),
        Reading("pv-a1", ts, 30_000.0, p_avail_w=30_000.0),
        Reading("bat-b1", ts, 0.0, soc=0.5),
    ]


@contextmanager
def make_world(
    db_url: str, settings: ApiSettings | None = None, clock: Callable[[], float] | None = None
) -> Iterator[World]:
    """The world; ``settings`` and ``clock`` (monotonic seconds) set its rate limits."""
    app = build_api(db_url, settings=settings)
    if clock is not None:  # the same app on a clock the test moves
        engine = app.state.engine
        app = create_app(api_services(engine), settings, clock=clock)
        app.state.engine = engine
    seed_registry(db_url)
    key_a = ensure_tenant_key(db_url, "t-a", upgrade=False)
    key_a_read = ensure_tenant_key(db_url, "t-a", scopes=["read"], upgrade=False)
    key_b = ensure_tenant_key(db_url, "t-b", upgrade=False)
    platform = issue_platform_key(db_url, upgrade=False)
    store = ReadModels.from_url(db_url)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            yield World(db_url, client, key_a, key_a_read, key_b, store, platform)
    finally:
        store.close()
        app.state.engine.dispose()
