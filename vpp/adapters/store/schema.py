"""Tables of the read models (DESIGN.md, "Store").

TiDB rules: natural primary keys (no AUTO_INCREMENT ordering assumptions), no triggers,
procedures, FULLTEXT or SPATIAL, ``DATETIME(6)``, every string with a length.  Powers in
W, energies in Wh, state of charge 0..1, timestamps UTC.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from vpp.adapters.store.types import UtcDateTime
from vpp.domain.der import RATINGS_FIELDS
from vpp.domain.ids import ID_MAX_LENGTH

ID = ID_MAX_LENGTH


def Id() -> String:
    """An id column: case-sensitive on MySQL/TiDB too (``utf8mb4_bin``), so ``plant-A`` and
    ``plant-a`` are two ids everywhere, as they are on SQLite."""
    return String(ID).with_variant(mysql.VARCHAR(ID, collation="utf8mb4_bin"), "mysql", "mariadb")


# Powers and energies are ``Double`` (8 bytes): SQLAlchemy's ``Float`` is a 4-byte FLOAT on
# MySQL/TiDB, about 7 significant digits — not enough for Wh meter readings.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", Id(), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Id(), primary_key=True),
    Column("tenant_id", Id(), ForeignKey("tenants.tenant_id"), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("scopes", String(200), nullable=False),  # space-separated: read dispatch admin
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_api_keys_tenant_id", "tenant_id"),
)

sites = Table(
    "sites",
    metadata,
    Column("site_id", Id(), primary_key=True),
    Column("tenant_id", Id(), ForeignKey("tenants.tenant_id"), nullable=False),
    Column("name", String(200), nullable=False, default=""),
)

gateways = Table(
    "gateways",
    metadata,
    Column("gateway_id", Id(), primary_key=True),
    Column("site_id", Id(), nullable=True),
    Column("name", String(200), nullable=False, default=""),
    Column("last_seen", UtcDateTime(), nullable=True),
)

ders = Table(
    "ders",
    metadata,
    Column("der_id", Id(), primary_key=True),
    Column("gateway_id", Id(), nullable=False),
    Column("site_id", Id(), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("protocol", String(16), nullable=True),  # iec61850 | sunspec
    Column("address", String(300), nullable=True),  # host:port/unit or host:port/IED/LD
    Column("p_min_w", Double, nullable=False),
    Column("p_max_w", Double, nullable=False),
    Column("energy_wh", Double, nullable=True),
    Column("ramp_w_per_s", Double, nullable=True),
    Column("eff_charge", Double, nullable=False, default=1.0),
    Column("eff_discharge", Double, nullable=False, default=1.0),
    Column("min_stable_w", Double, nullable=False, default=0.0),
    Column("soc_min", Double, nullable=False, default=0.0),
    Column("soc_max", Double, nullable=False, default=1.0),
    Column("q_max_var", Double, nullable=False, default=0.0),
    Column("min_off_s", Double, nullable=False, default=0.0),
    Column("healthy", Boolean, nullable=False, default=True),
    Column("health_reason", String(500), nullable=False, default=""),
    # when the gateway said so (its clock); the newest statement wins (migration 0005)
    Column("health_ts", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_ders_gateway_id", "gateway_id"),
)

#: the ratings columns are the domain's ratings, field for field
assert tuple(c.name for c in ders.columns if c.name in RATINGS_FIELDS) == RATINGS_FIELDS

plants = Table(
    "plants",
    metadata,
    Column("plant_id", Id(), primary_key=True),
    Column("tenant_id", Id(), ForeignKey("tenants.tenant_id"), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_plants_tenant_id", "tenant_id"),
)

plant_members = Table(
    "plant_members",
    metadata,
    Column("plant_id", Id(), ForeignKey("plants.plant_id"), primary_key=True),
    Column("der_id", Id(), primary_key=True),
    Index("ix_plant_members_der_id", "der_id"),
)

_reading_columns: tuple[tuple[str, Any, bool], ...] = (
    ("p_w", Double, False),
    ("q_var", Double, True),
    ("soc", Double, True),
    ("energy_wh", Double, True),
    ("p_avail_w", Double, True),
    ("connected", Boolean, True),
    ("v_v", Double, True),
    ("hz", Double, True),
    ("temp_c", Double, True),  # heat pump: its thermal store, degC (migration 0005)
    ("deadline", UtcDateTime(), True),  # flexible load: energy_wh due by then (0005)
)
READING_FIELDS: tuple[str, ...] = tuple(name for name, _, _ in _reading_columns)


def _reading_cols() -> list[Column[object]]:
    return [Column(name, type_, nullable=nullable) for name, type_, nullable in _reading_columns]


latest_state = Table(
    "latest_state",
    metadata,
    Column("der_id", Id(), primary_key=True),
    Column("ts", UtcDateTime(), nullable=False),
    *_reading_cols(),
    Column("quality", String(16), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

telemetry = Table(
    "telemetry",
    metadata,
    Column("der_id", Id(), primary_key=True),
    Column("ts", UtcDateTime(), primary_key=True),
    *_reading_cols(),
    Column("quality", String(16), nullable=False),
    Index("ix_telemetry_ts", "ts"),
)


def _rollup_cols() -> list[Column[object]]:
    return [
        Column("n", Integer, nullable=False),
        Column("p_w_avg", Double, nullable=False),
        Column("p_w_min", Double, nullable=False),
        Column("p_w_max", Double, nullable=False),
        Column("q_var_avg", Double, nullable=True),
        Column("soc_last", Double, nullable=True),
        Column("n_bad", Integer, nullable=False),  # questionable or invalid readings
    ]


telemetry_1m = Table(
    "telemetry_1m",
    metadata,
    Column("der_id", Id(), primary_key=True),
    Column("bucket", UtcDateTime(), primary_key=True),  # start of the minute
    *_rollup_cols(),
    Index("ix_telemetry_1m_bucket", "bucket"),  # retention, the newest bucket (0007)
)

#: 15-minute roll-ups, from the 1-minute ones (migration 0007)
telemetry_15m = Table(
    "telemetry_15m",
    metadata,
    Column("der_id", Id(), primary_key=True),
    Column("bucket", UtcDateTime(), primary_key=True),  # start of the quarter hour
    *_rollup_cols(),
    Index("ix_telemetry_15m_bucket", "bucket"),
)

#: per level (raw, 1m, 15m): rows before ``kept_from`` have been deleted (retention)
telemetry_horizons = Table(
    "telemetry_horizons",
    metadata,
    Column("level", String(16), primary_key=True),
    Column("kept_from", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

dispatches = Table(
    "dispatches",
    metadata,
    Column("dispatch_id", Id(), primary_key=True),
    Column("tenant_id", Id(), nullable=False),
    Column("plant_id", Id(), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("baseline_w", Double, nullable=True),  # plant power when planned (relative mode)
    Column("detail", Text, nullable=True),
    Column("shortfall_w", Double, nullable=False, default=0.0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "idempotency_key"),
    Index("ix_dispatches_plant_id", "plant_id"),
)

dispatch_intervals = Table(
    "dispatch_intervals",
    metadata,
    Column("dispatch_id", Id(), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("duration_s", Double, nullable=False),
    Column("p_w_requested", Double, nullable=False),  # as requested (absolute or relative)
    Column("p_w_target", Double, nullable=True),  # absolute plant target, set when planned
    Column("p_w_planned", Double, nullable=True),  # what the plan can reach (<= envelope)
    Column("energy_wh_target", Double, nullable=True),
    Column("energy_wh_delivered", Double, nullable=False, default=0.0),
    Column("p_w_measured_last", Double, nullable=True),
    Column("energy_wh_shortfall", Double, nullable=False, default=0.0),
    # tracking figures as running sums (vpp.domain.tracking.TrackingTally)
    Column("track_samples", Integer, nullable=False, default=0),
    Column("track_sq_error_sum", Double, nullable=False, default=0.0),
    Column("track_worst_w", Double, nullable=False, default=0.0),
    Column("track_judged", Integer, nullable=False, default=0),
    Column("track_within", Integer, nullable=False, default=0),
    Column("track_judged_error_sum", Double, nullable=False, default=0.0),
    Column("track_first_in_band_s", Double, nullable=True),
)

#: the dispatcher's loop state of an open dispatch (vpp.application.dispatcher.state)
dispatch_loops = Table(
    "dispatch_loops",
    metadata,
    Column("dispatch_id", Id(), primary_key=True),
    Column("state", Text, nullable=False),  # JSON
    Column("updated_at", UtcDateTime(), nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("command_id", Id(), primary_key=True),
    Column("dispatch_id", Id(), nullable=True),
    Column("der_id", Id(), nullable=False),
    Column("gateway_id", Id(), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("p_w", Double, nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_commands_dispatch_id", "dispatch_id"),
    Index("ix_commands_der_id_seq", "der_id", "seq"),
)

acks = Table(
    "acks",
    metadata,
    Column("command_id", Id(), primary_key=True),
    Column("der_id", Id(), nullable=False),
    Column("gateway_id", Id(), nullable=False),
    Column("dispatch_id", Id(), nullable=True),
    Column("seq", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("p_w_requested", Double, nullable=False),
    Column("p_w_applied", Double, nullable=True),
    Column("clamped", Boolean, nullable=False, default=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("ts", UtcDateTime(), nullable=False),
    Index("ix_acks_dispatch_id", "dispatch_id"),
)

rollup_watermarks = Table(
    "rollup_watermarks",
    metadata,
    Column("name", Id(), primary_key=True),
    # telemetry at or after this instant may have changed since the last roll-up
    Column("dirty_from", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("projection", Id(), primary_key=True),
    Column("stream", Id(), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
