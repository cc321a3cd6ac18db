"""API keys and tenants on SQL.  Implements :class:`vpp.application.ports.ApiKeyStore`.

Only the SHA-256 of a key's secret is stored; scopes are space-separated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from vpp.adapters.store import schema as s
from vpp.adapters.store.transactions import reading, with_retry, writing
from vpp.application.ports import AlreadyExists, ApiKeyRecord, StoreConflict
from vpp.domain.plant import Tenant
from vpp.runtime import utc_now


def _key_row(key: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "tenant_id": key.tenant_id,
        "key_hash": key.key_hash,
        "scopes": " ".join(sorted(key.scopes)),
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


class SqlApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_tenant(self, tenant: Tenant, first_key: ApiKeyRecord | None) -> None:
        def attempt() -> None:
            with self.engine.begin() as con:
                taken = con.execute(
                    select(s.tenants.c.tenant_id).where(s.tenants.c.tenant_id == tenant.tenant_id)
                ).first()
                if taken is not None:
                    raise AlreadyExists(tenant.tenant_id)
                con.execute(
                    insert(s.tenants),
                    [
                        {
                            "tenant_id": tenant.tenant_id,
                            "name": tenant.name,
                            "created_at": utc_now(),
                        }
                    ],
                )
                if first_key is not None:
                    con.execute(insert(s.api_keys), [_key_row(first_key)])

        try:
            with_retry(attempt)
        except StoreConflict as exc:  # a concurrent create of the same tenant
            raise AlreadyExists(tenant.tenant_id) from exc

    def add_api_key(self, key: ApiKeyRecord) -> None:
        writing(self.engine, lambda con: con.execute(insert(s.api_keys), [_key_row(key)]))

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        k = s.api_keys
        with reading(self.engine) as con:
            row = con.execute(select(k).where(k.c.key_id == key_id)).first()
        if row is None or row.key_id != key_id:
            return None
        return ApiKeyRecord(
            key_id=row.key_id,
            tenant_id=row.tenant_id,
            key_hash=row.key_hash,
            scopes=frozenset(row.scopes.split()),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    def revoke_api_key(self, key_id: str, tenant_id: str, at: datetime) -> bool:
        k = s.api_keys
        stmt = (
            update(k)
            .where(k.c.key_id == key_id, k.c.tenant_id == tenant_id, k.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )

        return writing(self.engine, lambda con: con.execute(stmt).rowcount == 1)

    def tenant(self, tenant_id: str) -> Tenant | None:
        t = s.tenants
        with reading(self.engine) as con:
            row = con.execute(select(t).where(t.c.tenant_id == tenant_id)).first()
        return None if row is None else Tenant(row.tenant_id, row.name)
