"""budgets per year

An initiative's money is kept per calendar year (``initiative_budgets``); its budget is their sum,
so the lifetime ``initiatives.budget_eur`` goes. Every initiative's lifetime budget is carried over,
spread over its years in proportion to the days of each year it runs, in whole euros by largest
remainder: the same function the API spreads a budget with (``initiatives.budgets.spread``), so the
migration and the API agree. Downgrading puts the sums back.

Revision ID: eda7bf6d2640
Revises: 01cc229e53bd
Create Date: 2026-12-01 12:25:27.059872+00:00
"""

import contextlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from services.portfolio.initiatives.budgets import spread

revision: str = "eda7bf6d2640"
down_revision: str | None = "01cc229e53bd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as this revision finds and leaves them (not the models, which move on).
initiatives = sa.table(
    "initiatives",
    sa.column("id", sa.String),
    sa.column("budget_eur", sa.BigInteger),
    sa.column("start", sa.Date),
    sa.column("end", sa.Date),
)
initiative_budgets = sa.table(
    "initiative_budgets",
    sa.column("initiative_id", sa.String),
    sa.column("year", sa.Integer),
    sa.column("budget_eur", sa.BigInteger),
)

SUMS = """
UPDATE initiatives SET budget_eur = COALESCE(
    (SELECT SUM(initiative_budgets.budget_eur) FROM initiative_budgets
     WHERE initiative_budgets.initiative_id = initiatives.id), 0)
"""


@contextlib.contextmanager
def changing_initiatives() -> Iterator[BatchOperations]:
    """``batch_alter_table("initiatives")``. SQLite changes a table by rebuilding it (copy, drop,
    rename), and with foreign keys enforced it cannot drop a table that other rows point at: the round
    items, the only rows that do, wait aside in a temporary table meanwhile (in this transaction)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE round_items_aside AS SELECT * FROM round_items")
        op.execute("DELETE FROM round_items")
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        yield batch_op
    if sqlite:
        op.execute("INSERT INTO round_items SELECT * FROM round_items_aside")
        op.execute("DROP TABLE round_items_aside")


def upgrade() -> None:
    rows = op.get_bind().execute(
        sa.select(initiatives.c.id, initiatives.c.budget_eur, initiatives.c.start, initiatives.c.end).order_by(
            initiatives.c.id
        )
    )
    budgets = [
        {"initiative_id": id_, "year": year, "budget_eur": amount}
        for id_, total, start, end in rows.all()
        for year, amount in spread(int(total), start, end).items()
    ]
    with changing_initiatives() as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_initiatives_budget_not_negative"), type_="check")
        batch_op.drop_column("budget_eur")

    op.create_table(
        "initiative_budgets",
        sa.Column("initiative_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("budget_eur", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_initiative_budgets_budget_not_negative")),
        sa.ForeignKeyConstraint(
            ["initiative_id"], ["initiatives.id"], name=op.f("fk_initiative_budgets_initiative_id_initiatives")
        ),
        sa.PrimaryKeyConstraint("initiative_id", "year", name=op.f("pk_initiative_budgets")),
    )
    with op.batch_alter_table("initiative_budgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiative_budgets_year"), ["year"], unique=False)
    if budgets:
        op.bulk_insert(initiative_budgets, budgets)


def downgrade() -> None:
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_eur", sa.BigInteger(), nullable=True))
    op.execute(SUMS)

    with op.batch_alter_table("initiative_budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_budgets_year"))
    op.drop_table("initiative_budgets")

    with changing_initiatives() as batch_op:
        batch_op.alter_column("budget_eur", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_check_constraint(batch_op.f("ck_initiatives_budget_not_negative"), "budget_eur >= 0")
