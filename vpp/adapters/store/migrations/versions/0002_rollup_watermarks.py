"""rollup watermarks: roll-ups leave the projection's hot path

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:01:05.154104
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vpp.adapters.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "rollup_watermarks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("dirty_from", vpp.adapters.store.types.UtcDateTime(), nullable=True),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_watermarks")),
    )


def downgrade() -> None:

    op.drop_table("rollup_watermarks")
