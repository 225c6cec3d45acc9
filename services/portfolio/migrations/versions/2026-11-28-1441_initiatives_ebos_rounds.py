"""initiatives, EBOs, rounds and their items

Revision ID: 9ca3b69a1cf5
Revises: 2cd548534502
Create Date: 2026-11-28 14:41:34.694367+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "9ca3b69a1cf5"
down_revision: str | None = "2cd548534502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ebos",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("value_chain", sa.String(length=200), nullable=True),
        sa.Column("hosting", sa.String(length=20), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("decision_status", sa.String(length=20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decision_by", sa.String(length=200), nullable=True),
        sa.Column("decision_at", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("users >= 0", name=op.f("ck_ebos_users_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ebos")),
    )
    with op.batch_alter_table("ebos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ebos_data_classification"), ["data_classification"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebos_hosting"), ["hosting"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebos_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebos_unit"), ["unit"], unique=False)
        batch_op.create_index(batch_op.f("ix_ebos_value_chain"), ["value_chain"], unique=False)

    op.create_table(
        "rounds",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("target_run", sa.Integer(), nullable=False),
        sa.Column("target_renewal", sa.Integer(), nullable=False),
        sa.Column("from_round_id", sa.String(length=36), nullable=True),
        sa.Column("opened_at", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target_run + target_renewal = 100", name=op.f("ck_rounds_target_sums_to_100")),
        sa.ForeignKeyConstraint(["from_round_id"], ["rounds.id"], name=op.f("fk_rounds_from_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rounds_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rounds_from_round_id"), ["from_round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rounds_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_rounds_status"), ["status"], unique=False)

    op.create_table(
        "initiatives",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("programme_id", sa.String(length=36), nullable=True),
        sa.Column("value_chain", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("funding", sa.String(length=20), nullable=False),
        sa.Column("budget_eur", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("hosting", sa.String(length=20), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=False),
        sa.Column("uses_generic_facilities", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('"end" >= start', name=op.f("ck_initiatives_ends_after_start")),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_initiatives_budget_not_negative")),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_initiatives_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
    )
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiatives_data_classification"), ["data_classification"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_funding"), ["funding"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_hosting"), ["hosting"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_programme_id"), ["programme_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiatives_value_chain"), ["value_chain"], unique=False)

    op.create_table(
        "round_items",
        sa.Column("round_id", sa.String(length=36), nullable=False),
        sa.Column("initiative_id", sa.String(length=36), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("budget_eur", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_round_items_budget_not_negative")),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_round_items_rank_positive")),
        sa.ForeignKeyConstraint(
            ["initiative_id"], ["initiatives.id"], name=op.f("fk_round_items_initiative_id_initiatives")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_items_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_items")),
        sa.UniqueConstraint("round_id", "initiative_id", name=op.f("uq_round_items_round_id_initiative_id")),
        sa.UniqueConstraint("round_id", "rank", name=op.f("uq_round_items_round_id_rank")),
    )
    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_items_decision"), ["decision"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_items_initiative_id"), ["initiative_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_items_initiative_id"))
        batch_op.drop_index(batch_op.f("ix_round_items_decision"))

    op.drop_table("round_items")
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiatives_value_chain"))
        batch_op.drop_index(batch_op.f("ix_initiatives_status"))
        batch_op.drop_index(batch_op.f("ix_initiatives_programme_id"))
        batch_op.drop_index(batch_op.f("ix_initiatives_kind"))
        batch_op.drop_index(batch_op.f("ix_initiatives_hosting"))
        batch_op.drop_index(batch_op.f("ix_initiatives_funding"))
        batch_op.drop_index(batch_op.f("ix_initiatives_data_classification"))

    op.drop_table("initiatives")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rounds_status"))
        batch_op.drop_index(batch_op.f("ix_rounds_period"))
        batch_op.drop_index(batch_op.f("ix_rounds_from_round_id"))
        batch_op.drop_index(batch_op.f("ix_rounds_closed_at"))

    op.drop_table("rounds")
    with op.batch_alter_table("ebos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ebos_value_chain"))
        batch_op.drop_index(batch_op.f("ix_ebos_unit"))
        batch_op.drop_index(batch_op.f("ix_ebos_status"))
        batch_op.drop_index(batch_op.f("ix_ebos_hosting"))
        batch_op.drop_index(batch_op.f("ix_ebos_data_classification"))

    op.drop_table("ebos")
