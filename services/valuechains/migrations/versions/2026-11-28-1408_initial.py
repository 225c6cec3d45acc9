"""initial: the chassis tables and chains

Revision ID: 9523582f592d
Revises:
Create Date: 2026-11-28 14:08:18.679540+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db
from services.chassis.migrations import create_chassis_tables, drop_chassis_tables

revision: str = "9523582f592d"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_chassis_tables()
    op.create_table(
        "chains",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=200), nullable=False),
        sa.Column("mission", sa.Text(), nullable=False),
        sa.Column("owner_subject", sa.String(length=200), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_unit", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chains")),
        sa.UniqueConstraint("code", name=op.f("uq_chains_code")),
    )
    op.create_index(op.f("ix_chains_owner_subject"), "chains", ["owner_subject"], unique=False)
    op.create_index(op.f("ix_chains_status"), "chains", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chains_status"), table_name="chains")
    op.drop_index(op.f("ix_chains_owner_subject"), table_name="chains")
    op.drop_table("chains")
    drop_chassis_tables()
