"""change subjects: who may see each subject of the change feed now

Revision ID: db5cd8be3293
Revises: 59a71f71393a
Create Date: 2026-11-28 16:09:32.306961+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_change_subjects, drop_change_subjects

revision: str = "db5cd8be3293"
down_revision: str | None = "59a71f71393a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_change_subjects()


def downgrade() -> None:
    drop_change_subjects()
