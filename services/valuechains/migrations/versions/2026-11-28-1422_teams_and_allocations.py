"""teams and allocations: teams, allocations and their revisions

Revision ID: 63c833188112
Revises: 9523582f592d
Create Date: 2026-11-28 14:22:18.445884+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "63c833188112"
down_revision: str | None = "9523582f592d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("maintenance", sa.Integer(), nullable=False),
        sa.Column("security", sa.Integer(), nullable=False),
        sa.Column("renewal", sa.Integer(), nullable=False),
        sa.Column("budget_eur", sa.BigInteger(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_allocations_budget_non_negative")),
        sa.CheckConstraint("maintenance + security + renewal = 100", name=op.f("ck_allocations_split_sums_to_100")),
        sa.CheckConstraint("maintenance BETWEEN 0 AND 100", name=op.f("ck_allocations_maintenance_percentage")),
        sa.CheckConstraint("renewal BETWEEN 0 AND 100", name=op.f("ck_allocations_renewal_percentage")),
        sa.CheckConstraint("security BETWEEN 0 AND 100", name=op.f("ck_allocations_security_percentage")),
        sa.ForeignKeyConstraint(["chain_id"], ["chains.id"], name=op.f("fk_allocations_chain_id_chains")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint("chain_id", "period", name=op.f("uq_allocations_chain_id_period")),
    )
    op.create_index(op.f("ix_allocations_chain_id"), "allocations", ["chain_id"], unique=False)
    op.create_index(op.f("ix_allocations_period"), "allocations", ["period"], unique=False)
    op.create_index(op.f("ix_allocations_status"), "allocations", ["status"], unique=False)

    op.create_table(
        "teams",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fte_internal_tenths", sa.Integer(), nullable=False),
        sa.Column("fte_external_tenths", sa.Integer(), nullable=False),
        sa.Column("maturity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("fte_external_tenths >= 0", name=op.f("ck_teams_fte_external_non_negative")),
        sa.CheckConstraint("fte_internal_tenths >= 0", name=op.f("ck_teams_fte_internal_non_negative")),
        sa.CheckConstraint("maturity BETWEEN 1 AND 5", name=op.f("ck_teams_maturity_1_to_5")),
        sa.ForeignKeyConstraint(["chain_id"], ["chains.id"], name=op.f("fk_teams_chain_id_chains")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    op.create_index(op.f("ix_teams_chain_id"), "teams", ["chain_id"], unique=False)
    op.create_index(op.f("ix_teams_maturity"), "teams", ["maturity"], unique=False)
    op.create_index(op.f("ix_teams_name"), "teams", ["name"], unique=False)
    op.create_index(op.f("ix_teams_status"), "teams", ["status"], unique=False)

    op.create_table(
        "allocation_revisions",
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("maintenance", sa.Integer(), nullable=False),
        sa.Column("security", sa.Integer(), nullable=False),
        sa.Column("renewal", sa.Integer(), nullable=False),
        sa.Column("budget_eur", sa.BigInteger(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_allocation_revisions_budget_non_negative")),
        sa.CheckConstraint(
            "maintenance + security + renewal = 100", name=op.f("ck_allocation_revisions_split_sums_to_100")
        ),
        sa.CheckConstraint(
            "maintenance BETWEEN 0 AND 100", name=op.f("ck_allocation_revisions_maintenance_percentage")
        ),
        sa.CheckConstraint("renewal BETWEEN 0 AND 100", name=op.f("ck_allocation_revisions_renewal_percentage")),
        sa.CheckConstraint("security BETWEEN 0 AND 100", name=op.f("ck_allocation_revisions_security_percentage")),
        sa.ForeignKeyConstraint(
            ["allocation_id"], ["allocations.id"], name=op.f("fk_allocation_revisions_allocation_id_allocations")
        ),
        sa.PrimaryKeyConstraint("allocation_id", "revision", name=op.f("pk_allocation_revisions")),
    )


def downgrade() -> None:
    op.drop_table("allocation_revisions")
    op.drop_index(op.f("ix_teams_status"), table_name="teams")
    op.drop_index(op.f("ix_teams_name"), table_name="teams")
    op.drop_index(op.f("ix_teams_maturity"), table_name="teams")
    op.drop_index(op.f("ix_teams_chain_id"), table_name="teams")

    op.drop_table("teams")
    op.drop_index(op.f("ix_allocations_status"), table_name="allocations")
    op.drop_index(op.f("ix_allocations_period"), table_name="allocations")
    op.drop_index(op.f("ix_allocations_chain_id"), table_name="allocations")

    op.drop_table("allocations")
