"""double precision powers and energies, case-sensitive ids on MySQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:19:27.147108
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


TABLES = (
    "tenants",
    "api_keys",
    "sites",
    "gateways",
    "ders",
    "plants",
    "plant_members",
    "latest_state",
    "telemetry",
    "telemetry_1m",
    "dispatches",
    "dispatch_intervals",
    "setpoints",
    "commands",
    "acks",
    "rollup_watermarks",
    "projection_positions",
)


FOREIGN_KEYS = (  # (name, table, column, referred table, referred column)
    ("fk_api_keys_tenant_id_tenants", "api_keys", "tenant_id", "tenants", "tenant_id"),
    ("fk_sites_tenant_id_tenants", "sites", "tenant_id", "tenants", "tenant_id"),
    ("fk_plants_tenant_id_tenants", "plants", "tenant_id", "tenants", "tenant_id"),
    ("fk_plant_members_plant_id_plants", "plant_members", "plant_id", "plants", "plant_id"),
)


def _binary_ids() -> None:
    """Ids compare case-sensitively on MySQL/MariaDB too (TiDB's default is already
    ``utf8mb4_bin``): ``plant-A`` and ``plant-a`` must never meet in a lookup or a key.
    The foreign keys are dropped around the conversion (MariaDB refuses to change a
    column a foreign key uses, whatever ``foreign_key_checks`` says)."""
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return
    for name, table, *_ in FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    for name, table, column, referred, referred_column in FOREIGN_KEYS:
        op.create_foreign_key(name, table, referred, [column], [referred_column])


def upgrade() -> None:
    _binary_ids()

    with op.batch_alter_table("acks", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w_requested", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_applied", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )

    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )

    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.alter_column(
            "p_min_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_max_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "energy_wh", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "ramp_w_per_s", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "eff_charge", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "eff_discharge", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "min_stable_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "soc_min", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "soc_max", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "q_max_var", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )

    with op.batch_alter_table("dispatch_intervals", schema=None) as batch_op:
        batch_op.alter_column(
            "duration_s", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_requested", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_target", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w_planned", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh_target",
            existing_type=mysql.FLOAT(),
            type_=sa.Double(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "energy_wh_delivered",
            existing_type=mysql.FLOAT(),
            type_=sa.Double(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "p_w_measured_last",
            existing_type=mysql.FLOAT(),
            type_=sa.Double(),
            existing_nullable=True,
        )

    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.alter_column(
            "baseline_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "shortfall_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )

    with op.batch_alter_table("latest_state", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "q_var", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "soc", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_avail_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "v_v", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "hz", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )

    with op.batch_alter_table("setpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )

    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "q_var", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "soc", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_avail_w", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "v_v", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "hz", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )

    with op.batch_alter_table("telemetry_1m", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w_avg", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_min", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_max", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=False
        )
        batch_op.alter_column(
            "q_var_avg", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )
        batch_op.alter_column(
            "soc_last", existing_type=mysql.FLOAT(), type_=sa.Double(), existing_nullable=True
        )


def downgrade() -> None:

    with op.batch_alter_table("telemetry_1m", schema=None) as batch_op:
        batch_op.alter_column(
            "soc_last", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "q_var_avg", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w_max", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_min", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_w_avg", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.alter_column(
            "hz", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "v_v", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_avail_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "soc", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "q_var", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("setpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("latest_state", schema=None) as batch_op:
        batch_op.alter_column(
            "hz", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "v_v", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_avail_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "soc", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "q_var", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.alter_column(
            "shortfall_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "baseline_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )

    with op.batch_alter_table("dispatch_intervals", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w_measured_last",
            existing_type=sa.Double(),
            type_=mysql.FLOAT(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "energy_wh_delivered",
            existing_type=sa.Double(),
            type_=mysql.FLOAT(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "energy_wh_target",
            existing_type=sa.Double(),
            type_=mysql.FLOAT(),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "p_w_planned", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w_target", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w_requested", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "duration_s", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.alter_column(
            "q_max_var", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "soc_max", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "soc_min", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "min_stable_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "eff_discharge", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "eff_charge", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "ramp_w_per_s", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "energy_wh", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_max_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
        batch_op.alter_column(
            "p_min_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )

    with op.batch_alter_table("acks", schema=None) as batch_op:
        batch_op.alter_column(
            "p_w_applied", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=True
        )
        batch_op.alter_column(
            "p_w_requested", existing_type=sa.Double(), type_=mysql.FLOAT(), existing_nullable=False
        )
