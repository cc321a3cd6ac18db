"""``registry.yaml``: tenants, sites and plants (DERs come from the gateways' files)."""

from __future__ import annotations

from pydantic import Field, model_validator

from vpp.config.common import Id, Strict
from vpp.domain.errors import InvalidValue


class TenantConfig(Strict):
    tenant_id: Id
    name: str = ""


class SiteConfig(Strict):
    site_id: Id
    tenant_id: Id
    name: str = ""


class PlantConfig(Strict):
    plant_id: Id
    tenant_id: Id
    name: str = ""
    members: list[Id] = Field(default_factory=list)


class RegistryConfig(Strict):
    tenants: list[TenantConfig] = Field(default_factory=list)
    sites: list[SiteConfig] = Field(default_factory=list)
    plants: list[PlantConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> RegistryConfig:
        tenants = {t.tenant_id for t in self.tenants}
        items: list[SiteConfig | PlantConfig] = [*self.sites, *self.plants]
        for item in items:
            if item.tenant_id not in tenants:
                raise InvalidValue(f"{item!r} names unknown tenant {item.tenant_id!r}")
        return self
