"""ranks unique among what a caller sees: no table-wide unique (round, rank), an index instead

Revision ID: 973d981e1ab0
Revises: eda7bf6d2640
Create Date: 2026-12-01 13:31:27.694372+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "973d981e1ab0"
down_revision: str | None = "eda7bf6d2640"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_round_items_round_id_rank"), type_="unique")
        batch_op.create_index("ix_round_items_round_id_rank", ["round_id", "rank"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.drop_index("ix_round_items_round_id_rank")
        batch_op.create_unique_constraint(batch_op.f("uq_round_items_round_id_rank"), ["round_id", "rank"])
