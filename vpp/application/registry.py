"""Registry use cases: import tenants, sites, gateways, DERs and plants; manage them per tenant.

Ids are global natural keys (they become NATS subjects and SQL keys), so an id another
tenant holds cannot be taken over: that is a conflict, not an overwrite.

Which DERs a tenant owns: those on its sites, and the members of its plants.  A DER put
through the API names one of the tenant's sites, so it is visible to its tenant from the
moment it is registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vpp.application.auth import Principal
from vpp.application.ports import (
    DerRecord,
    GatewayRecord,
    RegistryImport,
    RegistryStore,
    SiteRecord,
)
from vpp.application.use_case_errors import Conflict, NotFound, Refused
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.plant import Plant

MAX_PLANT_MEMBERS = 10_000
MAX_CHANGES = 2_000


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


@dataclass(frozen=True, slots=True)
class TenantChanges:
    """Registry changes of one tenant, applied together (one transaction)."""

    sites: Sequence[tuple[str, str]] = ()  # (site_id, name)
    gateways: Sequence[GatewayRecord] = ()
    ders: Sequence[DerRecord] = ()
    plants: Sequence[tuple[str, str, frozenset[str]]] = ()  # (plant_id, name, members)

    def size(self) -> int:
        return len(self.sites) + len(self.gateways) + len(self.ders) + len(self.plants)


class TenantRegistry:
    """Registry changes made by one tenant's admin key.

    Ids are global: a site, gateway, DER or plant id another tenant holds is a conflict.
    Sites and gateways named by the changes must be the tenant's (already, or in the same
    changes); a DER behind an unknown gateway registers that gateway on the DER's site.
    """

    def __init__(self, store: RegistryStore) -> None:
        self._store = store

    @staticmethod
    def _not_taken(
        what: str, asked: str, found: str | None, owner: str | None, tenant: str
    ) -> None:
        """Refuse an id held by another tenant, or one that differs only in letter case from
        an existing id (MySQL/TiDB would treat both as the same key)."""
        if found is None:
            return
        if found != asked:
            raise Conflict(f"{what} {asked!r} differs only in letter case from {found!r}")
        if owner is not None and owner != tenant:
            raise Conflict(f"{what} {asked!r} is taken by another tenant")

    def _site_owner(self, site_id: str | None) -> str | None:
        site = self._store.site(site_id) if site_id is not None else None
        return None if site is None else site.tenant_id

    def _check_gateway(self, gateway_id: str, tenant: str) -> bool:
        """Whether the gateway exists (and is not another tenant's)."""
        current = self._store.gateway(gateway_id)
        if current is None:
            return False
        owner = self._site_owner(current.site_id)
        self._not_taken("gateway_id", gateway_id, current.gateway_id, owner, tenant)
        return True

    def _unknown_members(self, plant: Plant, new_ders: set[str], tenant: str) -> list[str]:
        existing = plant.members - new_ders
        known = self._store.der_records(existing)  # keyed by the stored (exact) ids
        return sorted(
            d for d in existing if d not in known or not self._store.der_visible(tenant, d)
        )

    def _check_plant(self, plant: Plant, new_ders: set[str], tenant: str) -> None:
        """Refuse a plant without members or with too many, one whose id is taken, or one
        naming DERs the tenant neither registers now nor has on its sites or plants."""
        if not plant.members:
            raise Refused(f"plant {plant.plant_id} needs at least one member DER")
        if len(plant.members) > MAX_PLANT_MEMBERS:
            raise Refused(f"a plant has at most {MAX_PLANT_MEMBERS} members")
        current = self._store.plant(plant.plant_id)
        if current is not None:
            self._not_taken("plant_id", plant.plant_id, current.plant_id, current.tenant_id, tenant)
        unknown = self._unknown_members(plant, new_ders, tenant)
        if unknown:
            raise Refused(
                f"plant {plant.plant_id}: unknown DERs (not registered on your sites "
                f"or plants): {unknown}"
            )

    def apply(self, principal: Principal, changes: TenantChanges) -> RegistryImport:
        if changes.size() > MAX_CHANGES:
            raise Refused(f"at most {MAX_CHANGES} registry items per request")
        tenant = principal.tenant_id
        sites = [
            SiteRecord(validate_id(sid, "site_id"), tenant, name) for sid, name in changes.sites
        ]
        for site in sites:
            current = self._store.site(site.site_id)
            found = current.site_id if current else None
            self._not_taken("site_id", site.site_id, found, self._site_owner(found), tenant)
        new_sites = {s.site_id for s in sites}

        def own_site(site_id: str | None, what: str) -> None:
            if site_id is None:
                raise Refused(f"{what} names one of your sites (site_id)")
            if site_id in new_sites:
                return
            site = self._store.site(site_id)
            if site is None or site.site_id != site_id or site.tenant_id != tenant:
                raise NotFound("site", site_id)

        gateways = {g.gateway_id: g for g in changes.gateways}
        for gw in changes.gateways:
            validate_id(gw.gateway_id, "gateway_id")
            own_site(gw.site_id, f"gateway {gw.gateway_id}")
            self._check_gateway(gw.gateway_id, tenant)
        for rec in changes.ders:
            der = rec.der
            own_site(der.site_id, f"DER {der.der_id}")
            found = next(iter(self._store.der_records([der.der_id])), None)
            owners = self._store.der_tenants(der.der_id) - {tenant}
            self._not_taken("der_id", der.der_id, found, next(iter(owners), tenant), tenant)
            if der.gateway_id not in gateways and not self._check_gateway(der.gateway_id, tenant):
                gateways[der.gateway_id] = GatewayRecord(der.gateway_id, der.site_id)
        new_ders = {rec.der.der_id for rec in changes.ders}
        plants = [Plant(pid, tenant, members, name) for pid, name, members in changes.plants]
        for plant in plants:
            self._check_plant(plant, new_ders, tenant)
        data = RegistryImport(
            sites=sites, gateways=list(gateways.values()), ders=list(changes.ders), plants=plants
        )
        self._store.import_registry(data)
        return data

    def put_site(self, principal: Principal, site_id: str, name: str = "") -> SiteRecord:
        return self.apply(principal, TenantChanges(sites=[(site_id, name)])).sites[0]

    def put_gateway(
        self, principal: Principal, gateway_id: str, site_id: str, name: str = ""
    ) -> GatewayRecord:
        gateway = GatewayRecord(gateway_id, site_id, name)
        return self.apply(principal, TenantChanges(gateways=[gateway])).gateways[0]

    def put_der(self, principal: Principal, record: DerRecord) -> DerRecord:
        self.apply(principal, TenantChanges(ders=[record]))
        return self._store.der_records([record.der.der_id])[record.der.der_id]

    def put_plant(
        self, principal: Principal, plant_id: str, members: Iterable[str], name: str = ""
    ) -> Plant:
        changes = TenantChanges(plants=[(plant_id, name, frozenset(members))])
        return self.apply(principal, changes).plants[0]
