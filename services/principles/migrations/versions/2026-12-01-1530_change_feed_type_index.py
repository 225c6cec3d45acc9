"""an index on the change feed's type, in seq order

Revision ID: 6f4a8c0e2b53
Revises: 6f3b8d0c4e56
Create Date: 2026-12-01 15:30:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_change_type_index, drop_change_type_index

revision: str = "6f4a8c0e2b53"
down_revision: str | None = "6f3b8d0c4e56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_change_type_index()


def downgrade() -> None:
    drop_change_type_index()
