"""initial: the chassis tables and principles

Revision ID: 76f732cd3534
Revises:
Create Date: 2026-11-28 14:10:51.759001+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db
from services.chassis.migrations import create_chassis_tables, drop_chassis_tables

revision: str = "76f732cd3534"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_chassis_tables()
    op.create_table(
        "principles",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("implications", sa.Text(), nullable=False),
        sa.Column("applies_to", sa.JSON(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principles")),
        sa.UniqueConstraint("code", name=op.f("uq_principles_code")),
    )
    with op.batch_alter_table("principles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_principles_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_principles_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("principles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_principles_status"))
        batch_op.drop_index(batch_op.f("ix_principles_category"))

    op.drop_table("principles")
    drop_chassis_tables()
