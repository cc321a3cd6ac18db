"""Dependencies of the routers, as ``Annotated`` aliases: services and the calling key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vpp.adapters.api.services import ApiServices
from vpp.application.auth import ADMIN, DISPATCH, PLATFORM, READ, Principal
from vpp.application.rate_limits import RateLimiter
from vpp.domain.ids import ID_ANCHORED

ID_PATTERN = ID_ANCHORED  # the domain's id grammar, anchored for path and query patterns

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key `vpp_<key_id>_<secret>` with scopes read, dispatch, admin "
    "(a tenant's key) or platform (the platform operator's key: creates tenants).",
)


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return services.keys.authenticate(credentials.credentials if credentials else None)


def _scoped(scope: str) -> Callable[[Principal], Principal]:
    def require(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return principal.require(scope)

    require.__name__ = f"require_{scope}"
    return require


def _limited(scope: str, group: str) -> Callable[[Request, Principal], Principal]:
    """The key's scope check behind its token bucket of ``group`` (``app.state.rate_limits``):
    a key over its limit is refused before anything else, even for a scope it lacks."""

    def require(
        request: Request, principal: Annotated[Principal, Depends(get_principal)]
    ) -> Principal:
        limiter: RateLimiter = request.app.state.rate_limits[group]
        limiter.check(principal.key_id)
        return principal.require(scope)

    require.__name__ = f"require_{scope}_within_{group}_limit"
    return require


ReadKey = Annotated[Principal, Depends(_scoped(READ))]
DispatchKey = Annotated[Principal, Depends(_limited(DISPATCH, "dispatch"))]
AdminKey = Annotated[Principal, Depends(_limited(ADMIN, "admin"))]
PlatformKey = Annotated[Principal, Depends(_limited(PLATFORM, "admin"))]

PlantIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="plant id")]
DerIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="DER id")]
DispatchIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="dispatch id")]
SiteIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="site id")]
GatewayIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="gateway id")]
KeyIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="API key id")]
