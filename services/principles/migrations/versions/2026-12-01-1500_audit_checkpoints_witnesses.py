"""signed checkpoints of the change feed, and the other services' checkpoints witnessed

Revision ID: 6f3b8d0c4e56
Revises: 3c9e5a7f1d23
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_audit_tables, drop_audit_tables

revision: str = "6f3b8d0c4e56"
down_revision: str | None = "3c9e5a7f1d23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
