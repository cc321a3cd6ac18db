"""device state and health: heat-pump temperature and flexible-load deadline in readings,
and when the gateway last stated a DER's health

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vpp.adapters.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

READING_TABLES = ("latest_state", "telemetry")


def upgrade() -> None:
    for table in READING_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("temp_c", sa.Double(), nullable=True))
            batch.add_column(
                sa.Column("deadline", vpp.adapters.store.types.UtcDateTime(), nullable=True)
            )
    with op.batch_alter_table("ders") as batch:
        batch.add_column(
            sa.Column("health_ts", vpp.adapters.store.types.UtcDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("ders") as batch:
        batch.drop_column("health_ts")
    for table in READING_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deadline")
            batch.drop_column("temp_c")
