"""signed checkpoints of the change feed, and the other services' checkpoints witnessed

Revision ID: 4d1f6b8a2c34
Revises: fbb402dd51a1
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_audit_tables, drop_audit_tables

revision: str = "4d1f6b8a2c34"
down_revision: str | None = "fbb402dd51a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
