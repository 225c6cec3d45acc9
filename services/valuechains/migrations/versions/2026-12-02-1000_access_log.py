"""the access log of partner reads: a hash chain, its head and its signed checkpoints

Revision ID: 4d3a7c9e1b42
Revises: 4d2e6a8c0f31
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_access_log_tables, drop_access_log_tables

revision: str = "4d3a7c9e1b42"
down_revision: str | None = "4d2e6a8c0f31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_access_log_tables()


def downgrade() -> None:
    drop_access_log_tables()
