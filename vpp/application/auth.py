"""API keys: creation, authentication and scopes.

A key reads ``vpp_<key_id>_<secret>``: ``key_id`` (16 hex digits) finds the row, the
secret (``secrets.token_urlsafe(32)``, 256 random bits) is stored only as its SHA-256 and
compared in constant time.  A fast hash is adequate for high-entropy random secrets; a
slow password hash would only add latency to every request.

Scopes are independent: ``read`` (GET), ``dispatch`` (send and cancel dispatches),
``admin`` (keys, plants, DERs, registry import of its own tenant).  A key belongs to one
tenant and sees only that tenant's plants and DERs.

``platform`` is the platform operator's scope: it creates tenants and nothing else.  Its
keys belong to the reserved tenant ``_platform`` (which owns no plant) and are issued only
from the command line (``vpp api --issue-platform-key``), never through the API: a tenant
key cannot hold ``platform``, so no tenant's admin can create tenants or grant it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from vpp.application.ports import AlreadyExists, ApiKeyRecord, ApiKeyStore
from vpp.application.use_case_errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.plant import Tenant
from vpp.runtime import utc_now

READ = "read"
DISPATCH = "dispatch"
ADMIN = "admin"
PLATFORM = "platform"
TENANT_SCOPES: frozenset[str] = frozenset({READ, DISPATCH, ADMIN})
SCOPES: frozenset[str] = TENANT_SCOPES | {PLATFORM}
#: the tenant that holds the platform keys; it cannot be created through the API
PLATFORM_TENANT = "_platform"
KEY_PREFIX = "vpp_"
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key of one tenant with its scopes."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> Principal:
        if scope not in self.scopes:
            raise PermissionDenied(scope, self.key_id)
        return self


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key; ``raw_key`` is shown once and never stored."""

    key_id: str
    tenant_id: str
    scopes: frozenset[str]
    raw_key: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_key(raw: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else ``None``."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > MAX_KEY_LENGTH or not raw.isascii():
        return None
    key_id, sep, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(key_id) != 16:
        return None
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id, secret


def check_scopes(scopes: Iterable[str], allowed: frozenset[str] = TENANT_SCOPES) -> frozenset[str]:
    """``scopes`` as a set, if each is ``allowed`` (a tenant key's scopes by default)."""
    wanted = frozenset(scopes)
    if PLATFORM in wanted and PLATFORM not in allowed:
        raise InvalidValue("a tenant key cannot hold the platform scope")
    unknown = sorted(wanted - allowed)
    if unknown:
        raise InvalidValue(f"unknown scopes {unknown}; known: {sorted(allowed)}")
    if not wanted:
        raise InvalidValue("a key needs at least one scope")
    return wanted


class ApiKeys:
    """Create tenants and keys; turn a bearer token into a :class:`Principal`."""

    def __init__(self, store: ApiKeyStore, *, now: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._now = now

    def _new_key(
        self, tenant_id: str, scopes: Iterable[str], allowed: frozenset[str] = TENANT_SCOPES
    ) -> tuple[ApiKeyRecord, IssuedKey]:
        wanted = check_scopes(scopes, allowed)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = ApiKeyRecord(key_id, tenant_id, hash_secret(secret), wanted, self._now())
        return record, IssuedKey(key_id, tenant_id, wanted, f"{KEY_PREFIX}{key_id}_{secret}")

    def create_tenant(
        self, tenant_id: str, name: str = "", scopes: Iterable[str] = (READ, DISPATCH, ADMIN)
    ) -> IssuedKey:
        """Create a tenant with its first key (all scopes by default); Conflict if it exists."""
        tenant = Tenant(validate_id(tenant_id, "tenant_id"), name)
        if tenant.tenant_id.lower() == PLATFORM_TENANT:
            raise InvalidValue(f"tenant id {PLATFORM_TENANT!r} is reserved for platform keys")
        record, issued = self._new_key(tenant.tenant_id, scopes)
        try:
            self._store.add_tenant(tenant, record)
        except AlreadyExists as exc:
            raise Conflict(f"tenant {tenant_id!r} exists already") from exc
        return issued

    def create_key(self, tenant_id: str, scopes: Iterable[str]) -> IssuedKey:
        if tenant_id == PLATFORM_TENANT or self._store.tenant(tenant_id) is None:
            raise NotFound("tenant", tenant_id)
        record, issued = self._new_key(tenant_id, scopes)
        self._store.add_api_key(record)
        return issued

    def create_platform_key(self) -> IssuedKey:
        """A new key with the ``platform`` scope only (creates ``_platform`` at first use)."""
        record, issued = self._new_key(PLATFORM_TENANT, {PLATFORM}, frozenset({PLATFORM}))
        try:
            self._store.add_tenant(Tenant(PLATFORM_TENANT, "platform operator"), record)
        except AlreadyExists:
            self._store.add_api_key(record)
        return issued

    def revoke(self, principal: Principal, key_id: str) -> None:
        if not self._store.revoke_api_key(key_id, principal.tenant_id, self._now()):
            raise NotFound("API key", key_id)

    def authenticate(self, raw_key: str | None) -> Principal:
        """The caller behind ``raw_key``; :class:`NotAuthenticated` for anything else."""
        if not raw_key:
            raise NotAuthenticated(
                "an API key is required: Authorization: Bearer vpp_…", reason="missing-key"
            )
        parts = split_key(raw_key)
        if parts is None:
            raise NotAuthenticated(
                "malformed API key (expected vpp_<key_id>_<secret>)", reason="malformed-key"
            )
        key_id, secret = parts
        record = self._store.api_key(key_id)
        # compare even when the key is unknown, so timing does not tell which ids exist
        expected = record.key_hash if record is not None else hash_secret("")
        matches = hmac.compare_digest(expected, hash_secret(secret))
        if record is None or not matches or record.key_id != key_id:
            reason = "unknown-key" if record is None else "wrong-secret"
            raise NotAuthenticated("unknown or invalid API key", reason=reason, key_id=key_id)
        if record.revoked_at is not None:
            raise NotAuthenticated(
                "this API key has been revoked", reason="revoked-key", key_id=key_id
            )
        return Principal(record.tenant_id, record.key_id, record.scopes)
