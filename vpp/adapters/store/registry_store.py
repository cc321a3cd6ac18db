"""Registry of the operator API on SQL: tenants, sites, gateways, DERs, plants.

Implements :class:`vpp.application.ports.RegistryStore`.  A tenant sees a DER when
the DER is on one of its sites or a member of one of its plants.  :class:`SqlDerGateways`
(:class:`vpp.application.ports.DerGateways`) answers the projector's one question of the
registry: behind which gateway a DER is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.engine import Connection

from vpp.adapters.store import schema as s
from vpp.adapters.store.rows import der_row, row_der, row_reading
from vpp.adapters.store.transactions import reading, writing
from vpp.adapters.store.upsert import insert_new, upsert
from vpp.application.ports import DerRecord, GatewayRecord, RegistryImport, SiteRecord
from vpp.domain.der import Der
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading
from vpp.runtime import utc_now

#: Bound the size of ``IN (...)`` lists sent in one statement.
CHUNK = 500


def id_chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(ids))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


class SqlRegistryStore:
    """Lookups by id return the row the database matches: on MySQL/TiDB (case-insensitive
    collations) that may differ from the asked id in letter case, and callers decide."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # writes ---------------------------------------------------------------------------
    def import_registry(self, data: RegistryImport) -> None:
        now = utc_now()

        def write(con: Connection) -> None:
            upsert(
                con,
                s.tenants,
                [
                    {"tenant_id": t.tenant_id, "name": t.name, "created_at": now}
                    for t in data.tenants
                ],
            )
            upsert(
                con,
                s.sites,
                [
                    {"site_id": x.site_id, "tenant_id": x.tenant_id, "name": x.name}
                    for x in data.sites
                ],
            )
            upsert(
                con,
                s.gateways,
                [
                    {"gateway_id": g.gateway_id, "site_id": g.site_id, "name": g.name}
                    for g in data.gateways
                ],
            )
            upsert(
                con,
                s.ders,
                [der_row(d.der, now, protocol=d.protocol, address=d.address) for d in data.ders],
            )
            for plant in data.plants:
                self._write_plant(con, plant, now)

        writing(self.engine, write)

    @staticmethod
    def _write_plant(con: Connection, plant: Plant, now: datetime) -> None:
        row = {
            "plant_id": plant.plant_id,
            "tenant_id": plant.tenant_id,
            "name": plant.name,
            "created_at": now,
        }
        upsert(con, s.plants, [row])
        pm = s.plant_members
        con.execute(delete(pm).where(pm.c.plant_id == plant.plant_id))
        insert_new(
            con, pm, [{"plant_id": plant.plant_id, "der_id": d} for d in sorted(plant.members)]
        )

    # reads ----------------------------------------------------------------------------
    def site(self, site_id: str) -> SiteRecord | None:
        with reading(self.engine) as con:
            row = con.execute(select(s.sites).where(s.sites.c.site_id == site_id)).first()
        if row is None:
            return None
        return SiteRecord(row.site_id, row.tenant_id, row.name)

    def gateway(self, gateway_id: str) -> GatewayRecord | None:
        g = s.gateways
        with reading(self.engine) as con:
            row = con.execute(select(g).where(g.c.gateway_id == gateway_id)).first()
        if row is None:
            return None
        return GatewayRecord(row.gateway_id, row.site_id, row.name)

    def _members(self, con: Connection, plant_ids: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {p: set() for p in plant_ids}
        pm = s.plant_members
        for chunk in id_chunks(plant_ids):
            for row in con.execute(select(pm).where(pm.c.plant_id.in_(chunk))):
                out.setdefault(row.plant_id, set()).add(row.der_id)
        return out

    def plant(self, plant_id: str) -> Plant | None:
        with reading(self.engine) as con:
            row = con.execute(select(s.plants).where(s.plants.c.plant_id == plant_id)).first()
            if row is None:
                return None
            members = self._members(con, [row.plant_id])[row.plant_id]
        return Plant(row.plant_id, row.tenant_id, frozenset(members), row.name)

    def plants(self, tenant_id: str, *, after: str | None, limit: int) -> list[Plant]:
        p = s.plants
        q = select(p).where(p.c.tenant_id == tenant_id)
        if after is not None:
            q = q.where(p.c.plant_id > after)
        with reading(self.engine) as con:
            rows = list(con.execute(q.order_by(p.c.plant_id).limit(limit)))
            members = self._members(con, [r.plant_id for r in rows])
        return [
            Plant(r.plant_id, r.tenant_id, frozenset(members[r.plant_id]), r.name) for r in rows
        ]

    def plants_with_member(self, tenant_id: str, der_id: str) -> list[str]:
        p, pm = s.plants, s.plant_members
        q = (
            select(p.c.plant_id)
            .join(pm, pm.c.plant_id == p.c.plant_id)
            .where(p.c.tenant_id == tenant_id, pm.c.der_id == der_id)
            .order_by(p.c.plant_id)
        )
        with reading(self.engine) as con:
            return list(con.execute(q).scalars())

    def der_records(self, der_ids: Iterable[str]) -> dict[str, DerRecord]:
        out: dict[str, DerRecord] = {}
        with reading(self.engine) as con:
            for chunk in id_chunks(der_ids):
                for row in con.execute(select(s.ders).where(s.ders.c.der_id.in_(chunk))):
                    out[row.der_id] = _record(row._mapping)
        return out

    @staticmethod
    def _visible(tenant_id: str) -> Any:
        p, pm, sites, d = s.plants, s.plant_members, s.sites, s.ders
        in_plants = (
            select(pm.c.der_id)
            .join(p, p.c.plant_id == pm.c.plant_id)
            .where(p.c.tenant_id == tenant_id)
        )
        on_sites = select(sites.c.site_id).where(sites.c.tenant_id == tenant_id)
        return or_(d.c.der_id.in_(in_plants), d.c.site_id.in_(on_sites))

    def visible_der_ids(self, tenant_id: str, *, after: str | None, limit: int) -> list[str]:
        d = s.ders
        q = select(d.c.der_id).where(self._visible(tenant_id))
        if after is not None:
            q = q.where(d.c.der_id > after)
        with reading(self.engine) as con:
            return list(con.execute(q.order_by(d.c.der_id).limit(limit)).scalars())

    def der_visible(self, tenant_id: str, der_id: str) -> bool:
        d = s.ders
        q = select(d.c.der_id).where(d.c.der_id == der_id, self._visible(tenant_id))
        with reading(self.engine) as con:
            return con.execute(q).first() is not None

    def der_tenants(self, der_id: str) -> set[str]:
        p, pm, sites, d = s.plants, s.plant_members, s.sites, s.ders
        by_plant = (
            select(p.c.tenant_id)
            .join(pm, pm.c.plant_id == p.c.plant_id)
            .where(pm.c.der_id == der_id)
        )
        by_site = (
            select(sites.c.tenant_id)
            .join(d, d.c.site_id == sites.c.site_id)
            .where(d.c.der_id == der_id)
        )
        with reading(self.engine) as con:
            return set(con.execute(by_plant).scalars()) | set(con.execute(by_site).scalars())

    def ders(self, der_ids: Iterable[str] | None = None) -> dict[str, Der]:
        """The registered DERs (all of them, or those of ``der_ids`` that exist)."""
        d = s.ders
        with reading(self.engine) as con:
            if der_ids is None:
                return {r.der_id: row_der(r._mapping) for r in con.execute(select(d))}
            out: dict[str, Der] = {}
            for chunk in id_chunks(der_ids):
                for r in con.execute(select(d).where(d.c.der_id.in_(chunk))):
                    out[r.der_id] = row_der(r._mapping)
        return out

    def latest_readings(self, der_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        """The newest reading of each DER (all of them, or of ``der_ids``)."""
        out: dict[str, Reading] = {}
        ls = s.latest_state
        with reading(self.engine) as con:
            if der_ids is None:
                return {r.der_id: row_reading(r._mapping) for r in con.execute(select(ls))}
            for chunk in id_chunks(der_ids):
                for row in con.execute(select(ls).where(ls.c.der_id.in_(chunk))):
                    out[row.der_id] = row_reading(row._mapping)
        return out


class SqlDerGateways:
    """der id → gateway id from the ``ders`` table (two columns, one indexed scan)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def der_gateways(self, der_ids: Iterable[str] | None = None) -> dict[str, str]:
        d = s.ders
        q = select(d.c.der_id, d.c.gateway_id)
        with reading(self.engine) as con:
            if der_ids is None:
                return {r.der_id: r.gateway_id for r in con.execute(q)}
            out: dict[str, str] = {}
            for chunk in id_chunks(der_ids):
                for r in con.execute(q.where(d.c.der_id.in_(chunk))):
                    out[r.der_id] = r.gateway_id
        return out


def _record(row: Any) -> DerRecord:
    return DerRecord(
        der=row_der(row),
        protocol=row["protocol"],
        address=row["address"],
        healthy=bool(row["healthy"]),
        health_reason=row["health_reason"] or "",
        health_ts=row["health_ts"],
    )
