"""indexes that serve each list of initiatives in page order, and the change feed's type

Each filter of the initiatives list leads an index that ends in id (the page order); the unfiltered
page reads (id, data_classification, status) in order. The single-column indexes they replace made
the planner sort every match.

Revision ID: 5e3f7b9d1a42
Revises: 5e2a7c9b3d45
Create Date: 2026-12-01 15:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from services.chassis.migrations import create_change_type_index, drop_change_type_index

revision: str = "5e3f7b9d1a42"
down_revision: str | None = "5e2a7c9b3d45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLACED = ("value_chain", "kind", "funding", "data_classification", "status")
PAGE_INDEXES = {
    "ix_initiatives_page": ["id", "data_classification", "status"],
    "ix_initiatives_kind_funding_page": ["kind", "funding", "id"],
    "ix_initiatives_value_chain_page": ["value_chain", "id"],
    "ix_initiatives_status_page": ["status", "id"],
}


def upgrade() -> None:
    for column in REPLACED:
        op.drop_index(f"ix_initiatives_{column}", table_name="initiatives")
    for name, columns in PAGE_INDEXES.items():
        op.create_index(name, "initiatives", columns, unique=False)
    create_change_type_index()


def downgrade() -> None:
    drop_change_type_index()
    for name in PAGE_INDEXES:
        op.drop_index(name, table_name="initiatives")
    for column in REPLACED:
        op.create_index(f"ix_initiatives_{column}", "initiatives", [column], unique=False)
