"""the access log of partner reads: a hash chain, its head and its signed checkpoints

Revision ID: 5e4a8c0e2b53
Revises: 5e3f7b9d1a42
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_access_log_tables, drop_access_log_tables

revision: str = "5e4a8c0e2b53"
down_revision: str | None = "5e3f7b9d1a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_access_log_tables()


def downgrade() -> None:
    drop_access_log_tables()
