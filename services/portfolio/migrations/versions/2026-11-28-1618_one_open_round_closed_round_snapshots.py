"""one open round, closed round snapshots

At most one round is open, kept by a partial unique index (two concurrent opens cannot both
commit). The items of a closed round keep the kind, funding and value chain their initiative had
when the round closed; the items of rounds closed before this revision are filled from their
initiatives now.

Revision ID: 01cc229e53bd
Revises: da8e3789bb57
Create Date: 2026-11-28 16:18:59.903296+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "01cc229e53bd"
down_revision: str | None = "da8e3789bb57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_OPEN = sa.text("status = 'open'")

FILL_CLOSED = """
UPDATE round_items SET
    kind = (SELECT initiatives.kind FROM initiatives WHERE initiatives.id = round_items.initiative_id),
    funding = (SELECT initiatives.funding FROM initiatives WHERE initiatives.id = round_items.initiative_id),
    value_chain = (SELECT initiatives.value_chain FROM initiatives WHERE initiatives.id = round_items.initiative_id)
WHERE round_id IN (SELECT rounds.id FROM rounds WHERE rounds.status = 'closed')
"""


def upgrade() -> None:
    open_rounds = op.get_bind().execute(sa.text("SELECT id FROM rounds WHERE status = 'open' ORDER BY id")).all()
    if len(open_rounds) > 1:
        ids = ", ".join(str(row[0]) for row in open_rounds)
        raise RuntimeError(
            f"{len(open_rounds)} rounds are open ({ids}); only one may be. Close all but the current one "
            "(POST /v1/rounds/{id}/close) before upgrading."
        )

    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("funding", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("value_chain", sa.String(length=200), nullable=True))

    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(
            "uq_rounds_one_open", ["status"], unique=True, sqlite_where=ONE_OPEN, postgresql_where=ONE_OPEN
        )

    op.execute(FILL_CLOSED)


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index("uq_rounds_one_open", sqlite_where=ONE_OPEN, postgresql_where=ONE_OPEN)

    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.drop_column("value_chain")
        batch_op.drop_column("funding")
        batch_op.drop_column("kind")
