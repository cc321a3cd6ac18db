"""Store ports of the operator API's use cases: API keys, registry, telemetry reads,
dispatches.  ``vpp.adapters.store`` implements them on SQLite and MySQL-protocol servers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from vpp.application.ports.records import (
    ApiKeyRecord,
    CommandCounts,
    DerRecord,
    DispatchRecord,
    GatewayRecord,
    IntervalRecord,
    PlantBucket,
    RegistryImport,
    RollupRow,
    SiteRecord,
)
from vpp.domain.plant import Plant, Tenant
from vpp.domain.telemetry import Reading


class ApiKeyStore(Protocol):
    def add_tenant(self, tenant: Tenant, first_key: ApiKeyRecord | None) -> None:
        """Create a tenant (and its first key) in one transaction; AlreadyExists if taken."""

    def add_api_key(self, key: ApiKeyRecord) -> None: ...

    def api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def revoke_api_key(self, key_id: str, tenant_id: str, at: datetime) -> bool:
        """Revoke a key of ``tenant_id``; False when there is no such key."""

    def tenant(self, tenant_id: str) -> Tenant | None: ...


class RegistryStore(Protocol):
    """Lookups by id may match a row whose id differs in letter case (MySQL/TiDB compare
    ids case-insensitively); callers compare the returned id with the one they asked for."""

    def import_registry(self, data: RegistryImport) -> None:
        """Upsert everything in ``data`` in one transaction (plants replace their members)."""

    def site(self, site_id: str) -> SiteRecord | None: ...

    def gateway(self, gateway_id: str) -> GatewayRecord | None: ...

    def plant(self, plant_id: str) -> Plant | None: ...

    def plants(self, tenant_id: str, *, after: str | None, limit: int) -> list[Plant]: ...

    def plants_with_member(self, tenant_id: str, der_id: str) -> list[str]: ...

    def der_records(self, der_ids: Iterable[str]) -> dict[str, DerRecord]: ...

    def visible_der_ids(self, tenant_id: str, *, after: str | None, limit: int) -> list[str]:
        """DERs a tenant sees: members of its plants, or on one of its sites; id order."""

    def der_visible(self, tenant_id: str, der_id: str) -> bool: ...

    def der_tenants(self, der_id: str) -> set[str]:
        """Tenants that see ``der_id`` (through their plants or sites)."""

    def latest_readings(self, der_ids: Iterable[str]) -> dict[str, Reading]: ...


class TelemetryReadStore(Protocol):
    def readings(self, der_id: str, start: datetime, end: datetime, limit: int) -> list[Reading]:
        """Raw readings in ``[start, end)``, oldest first, at most ``limit``."""

    def rollups(
        self, der_id: str, start: datetime, end: datetime, limit: int, level: str = "1m"
    ) -> list[RollupRow]:
        """Roll-ups of ``level`` (``1m``, ``15m``) with ``bucket`` in ``[start, end)``,
        at most ``limit``."""

    def plant_buckets(
        self,
        der_ids: Sequence[str],
        start: datetime,
        end: datetime,
        limit: int,
        level: str = "1m",
    ) -> list[PlantBucket]:
        """Per bucket of ``level``, the sum of the members' average power, at most
        ``limit`` buckets."""

    def kept_from(self) -> dict[str, datetime]:
        """Per level (``raw``, ``1m``, ``15m``), the instant before which retention has
        deleted its rows; levels never pruned are absent."""


class DispatchStore(Protocol):
    def insert(
        self, record: DispatchRecord, intervals: Sequence[IntervalRecord]
    ) -> list[tuple[DispatchRecord, int]]:
        """Insert a dispatch and its intervals unless an open dispatch overlapping it in
        time shares DERs with its plant — checked and inserted in one transaction that
        serialises with every other insert sharing those DERs (two concurrent requests
        can never both pass the check).  Returns the overlapping dispatches (nothing was
        inserted) or ``[]`` (inserted).

        Raises :class:`DuplicateIdempotencyKey` when the tenant's key is taken.
        """

    def by_idempotency_key(self, tenant_id: str, key: str) -> DispatchRecord | None: ...

    def get(self, dispatch_id: str) -> DispatchRecord | None: ...

    def intervals(self, dispatch_id: str) -> list[IntervalRecord]: ...

    def cancel(self, dispatch_id: str, at: datetime) -> bool:
        """Set 'cancelled' if the dispatch is not final; True when this call cancelled it."""

    def command_counts(self, dispatch_id: str) -> CommandCounts: ...

    def list_for_tenant(
        self, tenant_id: str, *, plant_id: str | None, limit: int
    ) -> list[DispatchRecord]:
        """Newest first."""

    def open_sharing_members(
        self, plant_id: str, start: datetime, end: datetime
    ) -> list[tuple[DispatchRecord, int]]:
        """Open dispatches (accepted, planned, active) overlapping ``[start, end)`` whose
        plants share DERs with ``plant_id``, each with how many DERs they share."""
