"""drop setpoints: the table was never written (commands holds what was sent per DER)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("setpoints")


def downgrade() -> None:
    op.create_table(
        "setpoints",
        sa.Column("dispatch_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("p_w", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("dispatch_id", "idx", "der_id", name=op.f("pk_setpoints")),
    )
