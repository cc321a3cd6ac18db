"""Registry use cases: import tenants, sites, gateways, DERs and plants; manage them per tenant.

Ids are global natural keys (they become NATS subjects and SQL keys), so an id another
tenant holds cannot be taken over: that is a conflict, not an overwrite.

Which DERs a tenant owns: those on its sites, and the members of its plants.  A DER put
through the API names one of the tenant's sites, so it is visible to its tenant from the
moment it is registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vpp.application.auth import Principal
from vpp.application.store_ports import (
    DerRecord,
    GatewayRecord,
    RegistryImport,
    RegistryStore,
    SiteRecord,
)
from vpp.application.use_case_errors import Conflict, NotFound, Refused
from vpp.domain.der import Der
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.plant import Plant

MAX_PLANT_MEMBERS = 10_000


@dataclass(frozen=True, slots=True)
class ImportSummary:
    tenants: int
    sites: int
    gateways: int
    ders: int
    plants: int
    skipped: tuple[str, ...] = field(default=())  # e.g. DERs whose ratings come from the device


def check_import(data: RegistryImport, known_ders: Iterable[str] = ()) -> None:
    """References inside an import must resolve (within it, or to DERs already known)."""
    tenants = {t.tenant_id for t in data.tenants}
    for site in data.sites:
        if site.tenant_id not in tenants:
            raise InvalidValue(f"site {site.site_id} names unknown tenant {site.tenant_id}")
    for plant in data.plants:
        if plant.tenant_id not in tenants:
            raise InvalidValue(f"plant {plant.plant_id} names unknown tenant {plant.tenant_id}")
    ders = {d.der.der_id for d in data.ders} | set(known_ders)
    for plant in data.plants:
        missing = sorted(plant.members - ders)
        if missing:
            raise InvalidValue(f"plant {plant.plant_id} names unregistered DERs: {missing}")


def import_registry(
    store: RegistryStore, data: RegistryImport, *, skipped: Iterable[str] = ()
) -> ImportSummary:
    """Write a whole registry (from the YAML files) in one transaction; idempotent."""
    referenced = {m for p in data.plants for m in p.members}
    check_import(data, store.der_records(referenced).keys())
    store.import_registry(data)
    return ImportSummary(
        tenants=len(data.tenants),
        sites=len(data.sites),
        gateways=len(data.gateways),
        ders=len(data.ders),
        plants=len(data.plants),
        skipped=tuple(skipped),
    )


class TenantRegistry:
    """Registry changes made by one tenant's admin key."""

    def __init__(self, store: RegistryStore) -> None:
        self._store = store

    def put_site(self, principal: Principal, site_id: str, name: str = "") -> SiteRecord:
        validate_id(site_id, "site_id")
        current = self._store.site(site_id)
        if current is not None and current.tenant_id != principal.tenant_id:
            raise Conflict(f"site_id {site_id!r} is taken by another tenant")
        site = SiteRecord(site_id, principal.tenant_id, name)
        self._store.import_registry(RegistryImport(sites=[site]))
        return site

    def _own_site(self, principal: Principal, site_id: str) -> SiteRecord:
        site = self._store.site(site_id)
        if site is None or site.tenant_id != principal.tenant_id:
            raise NotFound("site", site_id)
        return site

    def _gateway_owned_elsewhere(self, principal: Principal, gateway: GatewayRecord) -> bool:
        if gateway.site_id is None:
            return False
        site = self._store.site(gateway.site_id)
        return site is not None and site.tenant_id != principal.tenant_id

    def put_gateway(
        self, principal: Principal, gateway_id: str, site_id: str, name: str = ""
    ) -> GatewayRecord:
        validate_id(gateway_id, "gateway_id")
        self._own_site(principal, site_id)
        current = self._store.gateway(gateway_id)
        if current is not None and self._gateway_owned_elsewhere(principal, current):
            raise Conflict(f"gateway_id {gateway_id!r} is taken by another tenant")
        gateway = GatewayRecord(gateway_id, site_id, name)
        self._store.import_registry(RegistryImport(gateways=[gateway]))
        return gateway

    def put_der(self, principal: Principal, record: DerRecord) -> DerRecord:
        """Register or update a DER on one of the tenant's sites, behind a gateway that is
        the tenant's or new (a new gateway is registered on the DER's site)."""
        der = record.der
        if der.site_id is None:
            raise Refused("a DER put through the API names one of your sites (site_id)")
        self._own_site(principal, der.site_id)
        owners = self._store.der_tenants(der.der_id)
        if owners - {principal.tenant_id}:
            raise Conflict(f"der_id {der.der_id!r} is taken by another tenant")
        gateway = self._store.gateway(der.gateway_id)
        if gateway is not None and self._gateway_owned_elsewhere(principal, gateway):
            raise Conflict(f"gateway_id {der.gateway_id!r} is another tenant's gateway")
        gateways = [GatewayRecord(der.gateway_id, der.site_id)] if gateway is None else []
        self._store.import_registry(RegistryImport(gateways=gateways, ders=[record]))
        return self._store.der_records([der.der_id])[der.der_id]

    def put_plant(
        self, principal: Principal, plant_id: str, members: Iterable[str], name: str = ""
    ) -> Plant:
        plant = Plant(plant_id, principal.tenant_id, frozenset(members), name)
        if not plant.members:
            raise Refused("a plant needs at least one member DER")
        if len(plant.members) > MAX_PLANT_MEMBERS:
            raise Refused(f"a plant has at most {MAX_PLANT_MEMBERS} members")
        current = self._store.plant(plant_id)
        if current is not None and current.tenant_id != principal.tenant_id:
            raise Conflict(f"plant_id {plant_id!r} is taken by another tenant")
        unknown = sorted(
            d for d in plant.members if not self._store.der_visible(principal.tenant_id, d)
        )
        if unknown:
            raise Refused(f"unknown DERs (not registered on your sites or plants): {unknown}")
        self._store.import_registry(RegistryImport(plants=[plant]))
        return plant


def der_record(der: Der, protocol: str | None = None, address: str | None = None) -> DerRecord:
    return DerRecord(der, protocol, address)
