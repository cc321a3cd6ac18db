"""read models: registry, telemetry, dispatch, commands, acks, positions

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:16:49.043462
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vpp.adapters.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "acks",
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("dispatch_id", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("p_w_requested", sa.Float(), nullable=False),
        sa.Column("p_w_applied", sa.Float(), nullable=True),
        sa.Column("clamped", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("ts", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_acks")),
    )
    with op.batch_alter_table("acks", schema=None) as batch_op:
        batch_op.create_index("ix_acks_dispatch_id", ["dispatch_id"], unique=False)

    op.create_table(
        "commands",
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("dispatch_id", sa.String(length=64), nullable=True),
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("p_w", sa.Float(), nullable=False),
        sa.Column("valid_from", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("valid_until", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("created_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index("ix_commands_der_id_seq", ["der_id", "seq"], unique=False)
        batch_op.create_index("ix_commands_dispatch_id", ["dispatch_id"], unique=False)

    op.create_table(
        "ders",
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("p_min_w", sa.Float(), nullable=False),
        sa.Column("p_max_w", sa.Float(), nullable=False),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("ramp_w_per_s", sa.Float(), nullable=True),
        sa.Column("eff_charge", sa.Float(), nullable=False),
        sa.Column("eff_discharge", sa.Float(), nullable=False),
        sa.Column("min_stable_w", sa.Float(), nullable=False),
        sa.Column("soc_min", sa.Float(), nullable=False),
        sa.Column("soc_max", sa.Float(), nullable=False),
        sa.Column("q_max_var", sa.Float(), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("health_reason", sa.String(length=500), nullable=False),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("der_id", name=op.f("pk_ders")),
    )
    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.create_index("ix_ders_gateway_id", ["gateway_id"], unique=False)

    op.create_table(
        "dispatch_intervals",
        sa.Column("dispatch_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("p_w_requested", sa.Float(), nullable=False),
        sa.Column("p_w_target", sa.Float(), nullable=True),
        sa.Column("p_w_planned", sa.Float(), nullable=True),
        sa.Column("energy_wh_target", sa.Float(), nullable=True),
        sa.Column("energy_wh_delivered", sa.Float(), nullable=False),
        sa.Column("p_w_measured_last", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("dispatch_id", "idx", name=op.f("pk_dispatch_intervals")),
    )
    op.create_table(
        "dispatches",
        sa.Column("dispatch_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("plant_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("start", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("end", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("baseline_w", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("shortfall_w", sa.Float(), nullable=False),
        sa.Column("created_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dispatch_id", name=op.f("pk_dispatches")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_dispatches_tenant_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.create_index("ix_dispatches_plant_id", ["plant_id"], unique=False)

    op.create_table(
        "gateways",
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("last_seen", vpp.adapters.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_gateways")),
    )
    op.create_table(
        "latest_state",
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("ts", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("p_w", sa.Float(), nullable=False),
        sa.Column("q_var", sa.Float(), nullable=True),
        sa.Column("soc", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("p_avail_w", sa.Float(), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=True),
        sa.Column("v_v", sa.Float(), nullable=True),
        sa.Column("hz", sa.Float(), nullable=True),
        sa.Column("quality", sa.String(length=16), nullable=False),
        sa.Column("received_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("der_id", name=op.f("pk_latest_state")),
    )
    op.create_table(
        "projection_positions",
        sa.Column("projection", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("projection", name=op.f("pk_projection_positions")),
    )
    op.create_table(
        "setpoints",
        sa.Column("dispatch_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("p_w", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("dispatch_id", "idx", "der_id", name=op.f("pk_setpoints")),
    )
    op.create_table(
        "telemetry",
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("ts", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("p_w", sa.Float(), nullable=False),
        sa.Column("q_var", sa.Float(), nullable=True),
        sa.Column("soc", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("p_avail_w", sa.Float(), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=True),
        sa.Column("v_v", sa.Float(), nullable=True),
        sa.Column("hz", sa.Float(), nullable=True),
        sa.Column("quality", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("der_id", "ts", name=op.f("pk_telemetry")),
    )
    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.create_index("ix_telemetry_ts", ["ts"], unique=False)

    op.create_table(
        "telemetry_1m",
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("p_w_avg", sa.Float(), nullable=False),
        sa.Column("p_w_min", sa.Float(), nullable=False),
        sa.Column("p_w_max", sa.Float(), nullable=False),
        sa.Column("q_var_avg", sa.Float(), nullable=True),
        sa.Column("soc_last", sa.Float(), nullable=True),
        sa.Column("n_bad", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("der_id", "bucket", name=op.f("pk_telemetry_1m")),
    )
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", vpp.adapters.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_api_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_tenant_id", ["tenant_id"], unique=False)

    op.create_table(
        "plants",
        sa.Column("plant_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_plants_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("plant_id", name=op.f("pk_plants")),
    )
    with op.batch_alter_table("plants", schema=None) as batch_op:
        batch_op.create_index("ix_plants_tenant_id", ["tenant_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_sites_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_sites")),
    )
    op.create_table(
        "plant_members",
        sa.Column("plant_id", sa.String(length=64), nullable=False),
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["plant_id"], ["plants.plant_id"], name=op.f("fk_plant_members_plant_id_plants")
        ),
        sa.PrimaryKeyConstraint("plant_id", "der_id", name=op.f("pk_plant_members")),
    )
    with op.batch_alter_table("plant_members", schema=None) as batch_op:
        batch_op.create_index("ix_plant_members_der_id", ["der_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("plant_members", schema=None) as batch_op:
        batch_op.drop_index("ix_plant_members_der_id")

    op.drop_table("plant_members")
    op.drop_table("sites")
    with op.batch_alter_table("plants", schema=None) as batch_op:
        batch_op.drop_index("ix_plants_tenant_id")

    op.drop_table("plants")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_tenant_id")

    op.drop_table("api_keys")
    op.drop_table("tenants")
    op.drop_table("telemetry_1m")
    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.drop_index("ix_telemetry_ts")

    op.drop_table("telemetry")
    op.drop_table("setpoints")
    op.drop_table("projection_positions")
    op.drop_table("latest_state")
    op.drop_table("gateways")
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_index("ix_dispatches_plant_id")

    op.drop_table("dispatches")
    op.drop_table("dispatch_intervals")
    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.drop_index("ix_ders_gateway_id")

    op.drop_table("ders")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_dispatch_id")
        batch_op.drop_index("ix_commands_der_id_seq")

    op.drop_table("commands")
    with op.batch_alter_table("acks", schema=None) as batch_op:
        batch_op.drop_index("ix_acks_dispatch_id")

    op.drop_table("acks")
