"""assessments explanations reviews: principle revisions, assessments, evaluations, explanations,
simplicity reviews and the change-feed cursors

Revision ID: 59a71f71393a
Revises: 76f732cd3534
Create Date: 2026-11-28 14:31:23.282704+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "59a71f71393a"
down_revision: str | None = "76f732cd3534"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("manual_principles", sa.JSON(), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluations_target"), ["target"], unique=False)

    op.create_table(
        "feed_cursors",
        sa.Column("feed", sa.String(length=40), nullable=False),
        sa.Column("after_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_feed_cursors")),
    )
    op.create_table(
        "simplicity_reviews",
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("phase", sa.String(length=12), nullable=False),
        sa.Column("scores_needed_now", sa.Integer(), nullable=False),
        sa.Column("scores_generic_facilities", sa.Integer(), nullable=False),
        sa.Column("scores_new_technologies", sa.Integer(), nullable=False),
        sa.Column("scores_integrations", sa.Integer(), nullable=False),
        sa.Column("scores_one_page", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("data_classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simplicity_reviews")),
    )
    with op.batch_alter_table("simplicity_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_simplicity_reviews_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_simplicity_reviews_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_simplicity_reviews_subject"), ["subject"], unique=False)

    op.create_table(
        "explanations",
        sa.Column("principle_id", sa.String(length=36), nullable=False),
        sa.Column("principle_revision", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.String(length=200), nullable=True),
        sa.Column("rejected_at", services.chassis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("data_classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principle_id"], ["principles.id"], name=op.f("fk_explanations_principle_id_principles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explanations")),
    )
    with op.batch_alter_table("explanations", schema=None) as batch_op:
        batch_op.create_index("ix_explanations_principle_id_subject", ["principle_id", "subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_explanations_review_by"), ["review_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_explanations_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_explanations_subject"), ["subject"], unique=False)

    op.create_table(
        "principle_versions",
        sa.Column("principle_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("implications", sa.Text(), nullable=False),
        sa.Column("applies_to", sa.JSON(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("recorded_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["principle_id"], ["principles.id"], name=op.f("fk_principle_versions_principle_id_principles")
        ),
        sa.PrimaryKeyConstraint("principle_id", "revision", name=op.f("pk_principle_versions")),
    )
    op.create_table(
        "assessments",
        sa.Column("principle_id", sa.String(length=36), nullable=False),
        sa.Column("principle_revision", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("facts_sha256", sa.String(length=64), nullable=True),
        sa.Column("explanation_id", sa.String(length=36), nullable=True),
        sa.Column("evaluation_id", sa.String(length=36), nullable=True),
        sa.Column("assessed_by", sa.String(length=200), nullable=False),
        sa.Column("data_classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["evaluations.id"], name=op.f("fk_assessments_evaluation_id_evaluations")
        ),
        sa.ForeignKeyConstraint(
            ["explanation_id"], ["explanations.id"], name=op.f("fk_assessments_explanation_id_explanations")
        ),
        sa.ForeignKeyConstraint(
            ["principle_id"], ["principles.id"], name=op.f("fk_assessments_principle_id_principles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_evaluation_id"), ["evaluation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_outcome"), ["outcome"], unique=False)
        batch_op.create_index("ix_assessments_principle_id_subject", ["principle_id", "subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_subject"), ["subject"], unique=False)

    # Existing principles are at revision 1, and that revision is recorded.
    with op.batch_alter_table("principles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("1")))
    with op.batch_alter_table("principles", schema=None) as batch_op:
        batch_op.alter_column("revision", server_default=None)
    op.execute(
        "INSERT INTO principle_versions (principle_id, revision, code, category, title, statement, rationale, "
        "implications, applies_to, rule, recorded_at, recorded_by) "
        "SELECT id, 1, code, category, title, statement, rationale, implications, applies_to, rule, updated_at, "
        "'migration' FROM principles"
    )


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_subject"))
        batch_op.drop_index(batch_op.f("ix_assessments_status"))
        batch_op.drop_index("ix_assessments_principle_id_subject")
        batch_op.drop_index(batch_op.f("ix_assessments_outcome"))
        batch_op.drop_index(batch_op.f("ix_assessments_evaluation_id"))

    op.drop_table("assessments")
    op.drop_table("principle_versions")
    with op.batch_alter_table("explanations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_explanations_subject"))
        batch_op.drop_index(batch_op.f("ix_explanations_status"))
        batch_op.drop_index(batch_op.f("ix_explanations_review_by"))
        batch_op.drop_index("ix_explanations_principle_id_subject")

    op.drop_table("explanations")
    with op.batch_alter_table("simplicity_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_simplicity_reviews_subject"))
        batch_op.drop_index(batch_op.f("ix_simplicity_reviews_status"))
        batch_op.drop_index(batch_op.f("ix_simplicity_reviews_outcome"))

    op.drop_table("simplicity_reviews")
    op.drop_table("feed_cursors")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_target"))
        batch_op.drop_index(batch_op.f("ix_evaluations_status"))

    op.drop_table("evaluations")
    with op.batch_alter_table("principles", schema=None) as batch_op:
        batch_op.drop_column("revision")
