"""``/v1/admin``: tenants and keys, sites, DERs and plants.

An ``admin`` key acts on its own tenant only.  Creating tenants (each with a first key,
returned once) is the platform operator's power: it needs the ``platform`` scope, which
no tenant key holds.  Every route here shares the key's ``admin`` rate limit.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from vpp.adapters.api.admin_schemas import (
    DerUpsert,
    GatewayPublic,
    GatewayUpsert,
    KeyCreate,
    KeyIssued,
    PlantUpsert,
    RegistryApplied,
    RegistryChanges,
    SitePublic,
    SiteUpsert,
    TenantCreate,
)
from vpp.adapters.api.deps import (
    AdminKey,
    DerIdPath,
    GatewayIdPath,
    KeyIdPath,
    PlatformKey,
    ServicesDep,
    SiteIdPath,
)
from vpp.adapters.api.problems import problem_responses
from vpp.adapters.api.schemas import DerPublic, PlantPublic

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403, 429))


@router.post(
    "/tenants",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyIssued,
    responses=problem_responses(409, 422),
)
def create_tenant(body: TenantCreate, principal: PlatformKey, services: ServicesDep) -> KeyIssued:
    """Create a tenant and its first API key (the raw key is in this response only).
    Needs a platform key (``vpp api --issue-platform-key``)."""
    issued = services.keys.create_tenant(body.tenant_id, body.name, body.scopes)
    return KeyIssued.from_issued(issued)


@router.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyIssued,
    responses=problem_responses(422),
)
def create_key(body: KeyCreate, principal: AdminKey, services: ServicesDep) -> KeyIssued:
    """A new key of the caller's tenant with the given scopes."""
    return KeyIssued.from_issued(services.keys.create_key(principal.tenant_id, body.scopes))


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404, 422),
)
def revoke_key(key_id: KeyIdPath, principal: AdminKey, services: ServicesDep) -> Response:
    """Revoke a key of the caller's tenant; it stops working at once."""
    services.keys.revoke(principal, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/sites/{site_id}", response_model=SitePublic, responses=problem_responses(409, 422))
def put_site(
    site_id: SiteIdPath, body: SiteUpsert, principal: AdminKey, services: ServicesDep
) -> SitePublic:
    site = services.registry.put_site(principal, site_id, body.name)
    return SitePublic(site_id=site.site_id, tenant_id=site.tenant_id, name=site.name)


@router.put(
    "/gateways/{gateway_id}",
    response_model=GatewayPublic,
    responses=problem_responses(404, 409, 422),
)
def put_gateway(
    gateway_id: GatewayIdPath, body: GatewayUpsert, principal: AdminKey, services: ServicesDep
) -> GatewayPublic:
    """Register a gateway on one of the caller's sites (or move it between them)."""
    gw = services.registry.put_gateway(principal, gateway_id, body.site_id, body.name)
    return GatewayPublic(gateway_id=gw.gateway_id, site_id=gw.site_id, name=gw.name)


@router.put("/ders/{der_id}", response_model=DerPublic, responses=problem_responses(404, 409, 422))
def put_der(
    der_id: DerIdPath, body: DerUpsert, principal: AdminKey, services: ServicesDep
) -> DerPublic:
    """Register or update a DER on one of the caller's sites (ratings in kW/kWh)."""
    record = services.registry.put_der(principal, body.to_domain(der_id))
    return DerPublic.from_record(record)


@router.post(
    "/plants",
    status_code=status.HTTP_201_CREATED,
    response_model=PlantPublic,
    responses=problem_responses(409, 422),
)
def put_plant(body: PlantUpsert, principal: AdminKey, services: ServicesDep) -> PlantPublic:
    """Create a plant, or replace its name and members, from the caller's DERs."""
    plant = services.registry.put_plant(principal, body.plant_id, body.members, body.name)
    return PlantPublic.from_plant(plant)


@router.post(
    "/registry", response_model=RegistryApplied, responses=problem_responses(404, 409, 422)
)
def apply_registry(
    body: RegistryChanges, principal: AdminKey, services: ServicesDep
) -> RegistryApplied:
    """Create or update many sites, gateways, DERs and plants of the caller's tenant at
    once: all of them or, on any refusal, none."""
    applied = services.registry.apply(principal, body.to_domain())
    return RegistryApplied.from_import(applied)
