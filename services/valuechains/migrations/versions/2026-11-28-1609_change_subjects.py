"""change subjects: who may see each subject of the change feed now

Revision ID: a44f821483e0
Revises: 8166bd34dc0d
Create Date: 2026-11-28 16:09:23.810565+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_change_subjects, drop_change_subjects

revision: str = "a44f821483e0"
down_revision: str | None = "8166bd34dc0d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_change_subjects()


def downgrade() -> None:
    drop_change_subjects()
