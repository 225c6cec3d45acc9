"""instance heartbeats, and the instance that holds each Idempotency-Key in flight

Revision ID: 2b8d4f6e0c12
Revises: 973d981e1ab0
Create Date: 2026-12-01 14:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_instances, drop_instances

revision: str = "2b8d4f6e0c12"
down_revision: str | None = "973d981e1ab0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_instances()


def downgrade() -> None:
    drop_instances()
