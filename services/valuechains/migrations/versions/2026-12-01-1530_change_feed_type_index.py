"""an index on the change feed's type, in seq order

Revision ID: 4d2e6a8c0f31
Revises: 4d1f6b8a2c34
Create Date: 2026-12-01 15:30:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_change_type_index, drop_change_type_index

revision: str = "4d2e6a8c0f31"
down_revision: str | None = "4d1f6b8a2c34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_change_type_index()


def downgrade() -> None:
    drop_change_type_index()
