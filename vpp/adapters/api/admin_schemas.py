"""Administration schemas: tenants, keys, sites, DERs (ratings in kW/kWh), plants."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from vpp.application.auth import TENANT_SCOPES, IssuedKey
from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport
from vpp.application.registry import MAX_CHANGES, MAX_PLANT_MEMBERS, TenantChanges
from vpp.domain.der import Der, DerKind, DerRatings
from vpp.domain.ids import ID_ANCHORED

Id = Annotated[str, Field(pattern=ID_ANCHORED)]
Scope = Literal["read", "dispatch", "admin"]
ALL_SCOPES: list[Scope] = ["read", "dispatch", "admin"]
Name = Annotated[str, Field(max_length=200)]
Kw = Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


assert set(ALL_SCOPES) == TENANT_SCOPES  # platform is never granted through the API


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(_Strict):
    tenant_id: Id
    name: Name = ""
    scopes: list[Scope] = Field(
        default_factory=lambda: list(ALL_SCOPES), min_length=1, max_length=3
    )


class KeyCreate(_Strict):
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class KeyIssued(BaseModel):
    key_id: str
    tenant_id: str
    scopes: list[str]
    api_key: str = Field(description="shown once: only its hash is stored")

    @classmethod
    def from_issued(cls, key: IssuedKey) -> KeyIssued:
        return cls(
            key_id=key.key_id,
            tenant_id=key.tenant_id,
            scopes=sorted(key.scopes),
            api_key=key.raw_key,
        )


class SiteUpsert(_Strict):
    name: Name = ""


class SitePublic(BaseModel):
    site_id: str
    tenant_id: str
    name: str


class GatewayUpsert(_Strict):
    site_id: Id = Field(description="one of your sites")
    name: Name = ""


class GatewayPublic(BaseModel):
    gateway_id: str
    site_id: str | None
    name: str


class RatingsIn(_Strict):
    """Nameplate limits in kW/kWh, generator sign (p_min_kw: largest consumption)."""

    p_min_kw: Kw
    p_max_kw: Kw
    energy_kwh: Annotated[float, Field(gt=0, le=1e8, allow_inf_nan=False)] | None = None
    ramp_kw_per_s: Annotated[float, Field(gt=0, le=1e7, allow_inf_nan=False)] | None = None
    eff_charge: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    eff_discharge: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    min_stable_kw: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)] = 0.0
    soc_min: Fraction = 0.0
    soc_max: Fraction = 1.0
    q_max_kvar: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)] = 0.0
    min_off_s: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)] = 0.0

    def to_domain(self) -> DerRatings:
        def w(v: float | None) -> float | None:
            return None if v is None else v * 1000.0

        return DerRatings(
            p_min_w=self.p_min_kw * 1000.0,
            p_max_w=self.p_max_kw * 1000.0,
            energy_wh=w(self.energy_kwh),
            ramp_w_per_s=w(self.ramp_kw_per_s),
            eff_charge=self.eff_charge,
            eff_discharge=self.eff_discharge,
            min_stable_w=self.min_stable_kw * 1000.0,
            soc_min=self.soc_min,
            soc_max=self.soc_max,
            q_max_var=self.q_max_kvar * 1000.0,
            min_off_s=self.min_off_s,
        )


class DerUpsert(_Strict):
    kind: DerKind
    gateway_id: Id
    site_id: Id = Field(description="one of your sites (PUT /v1/admin/sites/{site_id})")
    name: Name = ""
    protocol: Literal["sunspec", "iec61850"] | None = None
    address: Annotated[str, Field(max_length=300)] | None = None
    ratings: RatingsIn

    def to_domain(self, der_id: str) -> DerRecord:
        der = Der(
            der_id=der_id,
            kind=self.kind,
            ratings=self.ratings.to_domain(),
            gateway_id=self.gateway_id,
            site_id=self.site_id,
            name=self.name,
        )
        return DerRecord(der, self.protocol, self.address)


class PlantUpsert(_Strict):
    plant_id: Id
    name: Name = ""
    members: list[Id] = Field(min_length=1, max_length=MAX_PLANT_MEMBERS)


class SiteItem(SiteUpsert):
    site_id: Id


class GatewayItem(GatewayUpsert):
    gateway_id: Id


class DerItem(DerUpsert):
    der_id: Id


class RegistryChanges(_Strict):
    """Sites, gateways, DERs and plants of the caller's tenant, applied in one transaction
    (the shape of ``registry.yaml`` plus the gateways' devices, without tenant ids)."""

    sites: list[SiteItem] = Field(default_factory=list, max_length=MAX_CHANGES)
    gateways: list[GatewayItem] = Field(default_factory=list, max_length=MAX_CHANGES)
    ders: list[DerItem] = Field(default_factory=list, max_length=MAX_CHANGES)
    plants: list[PlantUpsert] = Field(default_factory=list, max_length=MAX_CHANGES)

    def to_domain(self) -> TenantChanges:
        return TenantChanges(
            sites=[(s.site_id, s.name) for s in self.sites],
            gateways=[GatewayRecord(g.gateway_id, g.site_id, g.name) for g in self.gateways],
            ders=[d.to_domain(d.der_id) for d in self.ders],
            plants=[(p.plant_id, p.name, frozenset(p.members)) for p in self.plants],
        )


class RegistryApplied(BaseModel):
    sites: list[str]
    gateways: list[str]
    ders: list[str]
    plants: list[str]

    @classmethod
    def from_import(cls, data: RegistryImport) -> RegistryApplied:
        return cls(
            sites=[s.site_id for s in data.sites],
            gateways=[g.gateway_id for g in data.gateways],
            ders=[d.der.der_id for d in data.ders],
            plants=[p.plant_id for p in data.plants],
        )
