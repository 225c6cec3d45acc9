"""change subjects: who may see each subject of the change feed now

Revision ID: da8e3789bb57
Revises: 9ca3b69a1cf5
Create Date: 2026-11-28 16:09:27.772808+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_change_subjects, drop_change_subjects

revision: str = "da8e3789bb57"
down_revision: str | None = "9ca3b69a1cf5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_change_subjects()


def downgrade() -> None:
    drop_change_subjects()
