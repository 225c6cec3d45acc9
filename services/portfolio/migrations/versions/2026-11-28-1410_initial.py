"""initial: the chassis tables and programmes

Revision ID: 2cd548534502
Revises:
Create Date: 2026-11-28 14:10:49.169281+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db
from services.chassis.migrations import create_chassis_tables, drop_chassis_tables

revision: str = "2cd548534502"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_chassis_tables()
    op.create_table(
        "programmes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ambition", sa.Text(), nullable=False),
        sa.Column("owner_subject", sa.String(length=200), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_unit", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("code", name=op.f("uq_programmes_code")),
    )
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmes_owner_subject"), ["owner_subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_programmes_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programmes_status"))
        batch_op.drop_index(batch_op.f("ix_programmes_owner_subject"))

    op.drop_table("programmes")
    drop_chassis_tables()
