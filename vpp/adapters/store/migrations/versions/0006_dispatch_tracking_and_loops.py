"""dispatch tracking figures per interval, stated shortfall per interval, the dispatcher's
loop state (restart-safe dispatcher), a DER's minimum off time (min_off_s)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 01:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import vpp.adapters.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TRACK_COLUMNS: tuple[tuple[str, Any, bool, str | None], ...] = (
    ("energy_wh_shortfall", sa.Double(), False, "0"),
    ("track_samples", sa.Integer(), False, "0"),
    ("track_sq_error_sum", sa.Double(), False, "0"),
    ("track_worst_w", sa.Double(), False, "0"),
    ("track_judged", sa.Integer(), False, "0"),
    ("track_within", sa.Integer(), False, "0"),
    ("track_judged_error_sum", sa.Double(), False, "0"),
    ("track_first_in_band_s", sa.Double(), True, None),
)


def upgrade() -> None:
    with op.batch_alter_table("dispatch_intervals", schema=None) as batch_op:
        for name, type_, nullable, default in TRACK_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))
    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_off_s", sa.Double(), nullable=False, server_default="0"))
    op.create_table(
        "dispatch_loops",
        sa.Column("dispatch_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dispatch_id", name=op.f("pk_dispatch_loops")),
    )
    bind = op.get_bind()
    if bind.dialect.name in ("mysql", "mariadb"):
        op.execute(
            "ALTER TABLE dispatch_loops CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )


def downgrade() -> None:
    op.drop_table("dispatch_loops")
    with op.batch_alter_table("ders", schema=None) as batch_op:
        batch_op.drop_column("min_off_s")
    with op.batch_alter_table("dispatch_intervals", schema=None) as batch_op:
        for name, *_ in reversed(TRACK_COLUMNS):
            batch_op.drop_column(name)
