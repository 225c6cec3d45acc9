"""initiatives name the applications they address

An initiative names the applications (of the valuechains service, by href) it renews, replaces or
retires: ``initiative_applications``, one row per application, indexed by application for the
foundation report's question "which initiatives address these applications?". Existing initiatives
name none.

Revision ID: 1c562334c0d4
Revises: 177be16dd858
Create Date: 2026-12-01 15:19:28.291646+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1c562334c0d4"
down_revision: str | None = "177be16dd858"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "initiative_applications",
        sa.Column("initiative_id", sa.String(length=36), nullable=False),
        sa.Column("application", sa.String(length=200), nullable=False),
        sa.Column("effect", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "effect IN ('renews', 'replaces', 'retires')", name=op.f("ck_initiative_applications_effect_known")
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"], ["initiatives.id"], name=op.f("fk_initiative_applications_initiative_id_initiatives")
        ),
        sa.PrimaryKeyConstraint("initiative_id", "application", name=op.f("pk_initiative_applications")),
    )
    with op.batch_alter_table("initiative_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiative_applications_application"), ["application"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("initiative_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_applications_application"))

    op.drop_table("initiative_applications")
