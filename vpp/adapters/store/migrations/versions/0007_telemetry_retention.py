"""telemetry retention: 15-minute roll-ups, the 1-minute roll-ups indexed by bucket, the
horizons before which each level has been deleted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:20:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import vpp.adapters.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _rollup_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("p_w_avg", sa.Double(), nullable=False),
        sa.Column("p_w_min", sa.Double(), nullable=False),
        sa.Column("p_w_max", sa.Double(), nullable=False),
        sa.Column("q_var_avg", sa.Double(), nullable=True),
        sa.Column("soc_last", sa.Double(), nullable=True),
        sa.Column("n_bad", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "telemetry_15m",
        sa.Column("der_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        *_rollup_columns(),
        sa.PrimaryKeyConstraint("der_id", "bucket", name=op.f("pk_telemetry_15m")),
    )
    op.create_index("ix_telemetry_15m_bucket", "telemetry_15m", ["bucket"])
    op.create_index("ix_telemetry_1m_bucket", "telemetry_1m", ["bucket"])
    op.create_table(
        "telemetry_horizons",
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kept_from", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", vpp.adapters.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_telemetry_horizons")),
    )
    bind = op.get_bind()
    if bind.dialect.name in ("mysql", "mariadb"):  # ids compare case-sensitively
        op.execute("ALTER TABLE telemetry_15m CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    _backfill_15m_from_the_oldest_minute(bind)


def _backfill_15m_from_the_oldest_minute(bind: sa.engine.Connection) -> None:
    """The 15-minute roll-up's watermark at the oldest 1-minute bucket: the next roll-up
    builds the quarters of every minute kept so far."""
    when = vpp.adapters.store.types.UtcDateTime()
    minutes = sa.table("telemetry_1m", sa.column("bucket", when))
    marks = sa.table(
        "rollup_watermarks",
        sa.column("name", sa.String(64)),
        sa.column("dirty_from", when),
        sa.column("updated_at", when),
    )
    oldest = bind.execute(sa.select(sa.func.min(minutes.c.bucket))).scalar()
    if oldest is not None:
        row = {"name": "telemetry_15m", "dirty_from": oldest, "updated_at": datetime.now(UTC)}
        bind.execute(sa.insert(marks), [row])


def downgrade() -> None:
    op.drop_table("telemetry_horizons")
    op.drop_index("ix_telemetry_1m_bucket", table_name="telemetry_1m")
    op.drop_index("ix_telemetry_15m_bucket", table_name="telemetry_15m")
    op.drop_table("telemetry_15m")
