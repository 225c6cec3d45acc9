"""applications: the IT products of each chain, with support dates and open security findings

Revision ID: 8166bd34dc0d
Revises: 63c833188112
Create Date: 2026-11-28 14:43:03.633759+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "8166bd34dc0d"
down_revision: str | None = "63c833188112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("supported_until", sa.Date(), nullable=False),
        sa.Column("last_release", sa.Date(), nullable=False),
        sa.Column("findings_critical", sa.Integer(), nullable=False),
        sa.Column("findings_high", sa.Integer(), nullable=False),
        sa.Column("findings_medium", sa.Integer(), nullable=False),
        sa.Column("findings_low", sa.Integer(), nullable=False),
        sa.Column("hosting", sa.String(length=20), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "findings_critical BETWEEN 0 AND 100000", name=op.f("ck_applications_findings_critical_range")
        ),
        sa.CheckConstraint("findings_high BETWEEN 0 AND 100000", name=op.f("ck_applications_findings_high_range")),
        sa.CheckConstraint("findings_low BETWEEN 0 AND 100000", name=op.f("ck_applications_findings_low_range")),
        sa.CheckConstraint("findings_medium BETWEEN 0 AND 100000", name=op.f("ck_applications_findings_medium_range")),
        sa.ForeignKeyConstraint(["chain_id"], ["chains.id"], name=op.f("fk_applications_chain_id_chains")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_category"), "applications", ["category"], unique=False)
    op.create_index(op.f("ix_applications_chain_id"), "applications", ["chain_id"], unique=False)
    op.create_index(op.f("ix_applications_data_classification"), "applications", ["data_classification"], unique=False)
    op.create_index(op.f("ix_applications_disposition"), "applications", ["disposition"], unique=False)
    op.create_index(op.f("ix_applications_hosting"), "applications", ["hosting"], unique=False)
    op.create_index(op.f("ix_applications_name"), "applications", ["name"], unique=False)
    op.create_index(op.f("ix_applications_status"), "applications", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_applications_status"), table_name="applications")
    op.drop_index(op.f("ix_applications_name"), table_name="applications")
    op.drop_index(op.f("ix_applications_hosting"), table_name="applications")
    op.drop_index(op.f("ix_applications_disposition"), table_name="applications")
    op.drop_index(op.f("ix_applications_data_classification"), table_name="applications")
    op.drop_index(op.f("ix_applications_chain_id"), table_name="applications")
    op.drop_index(op.f("ix_applications_category"), table_name="applications")

    op.drop_table("applications")
