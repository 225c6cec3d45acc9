"""instance heartbeats, and the instance that holds each Idempotency-Key in flight

Revision ID: 3c9e5a7f1d23
Revises: ffd6b63c342b
Create Date: 2026-12-01 14:00:00+00:00
"""

from collections.abc import Sequence

from services.chassis.migrations import create_instances, drop_instances

revision: str = "3c9e5a7f1d23"
down_revision: str | None = "ffd6b63c342b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_instances()


def downgrade() -> None:
    drop_instances()
