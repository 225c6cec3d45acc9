"""duplicate dismissals, merged EBOs

Candidate duplicates dismissed with a reason (one standing dismissal per pair, by a partial unique
index), and the EBO an EBO was merged into.

Revision ID: 177be16dd858
Revises: 2b8d4f6e0c12
Create Date: 2026-12-01 15:14:59.255807+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "177be16dd858"
down_revision: str | None = "2b8d4f6e0c12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duplicate_dismissals",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("a", sa.String(length=200), nullable=False),
        sa.Column("b", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_dismissals")),
    )
    with op.batch_alter_table("duplicate_dismissals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duplicate_dismissals_a"), ["a"], unique=False)
        batch_op.create_index(batch_op.f("ix_duplicate_dismissals_b"), ["b"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_duplicate_dismissals_data_classification"), ["data_classification"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_duplicate_dismissals_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_duplicate_dismissals_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_duplicate_dismissals_pair",
            ["kind", "a", "b"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    with op.batch_alter_table("ebos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_ebos_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_ebos_merged_into_id_ebos"), "ebos", ["merged_into_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("ebos", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ebos_merged_into_id_ebos"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_ebos_merged_into_id"))
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("duplicate_dismissals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_duplicate_dismissals_pair",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_duplicate_dismissals_status"))
        batch_op.drop_index(batch_op.f("ix_duplicate_dismissals_kind"))
        batch_op.drop_index(batch_op.f("ix_duplicate_dismissals_data_classification"))
        batch_op.drop_index(batch_op.f("ix_duplicate_dismissals_b"))
        batch_op.drop_index(batch_op.f("ix_duplicate_dismissals_a"))

    op.drop_table("duplicate_dismissals")
