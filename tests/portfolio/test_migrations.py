"""The portfolio's revisions on databases with rows in them: the one that keeps one round open and
freezes closed rounds' items (it fills the items of rounds closed before it, refuses a database with
two open rounds, and goes down and up again), and the one that keeps money per year (it spreads every
lifetime budget over the initiative's years as the API does, and puts the sums back going down).

Rows are written as the tables are at the revision the test stands on, not as the models are now."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.processes import create_postgres_database, drop_postgres_database
from services.chassis.db import single_use_engine
from services.chassis.migrations import alembic_config, upgrade
from services.portfolio.app import MIGRATIONS
from services.portfolio.initiatives.budgets import spread
from services.portfolio.rounds.models import Round, RoundItem
from tests.conftest import Suite
from tests.portfolio.helpers import created, initiative_body, make_chain, pm
from tests.support import Tokens, database_base_url, unique_name

BEFORE = "da8e3789bb57"  # the revision before one open round and the snapshots
BEFORE_BUDGETS = "01cc229e53bd"  # the revision before money per year
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-0000000000{:02d}"


@contextlib.asynccontextmanager
async def portfolio_database(tmp_path: Path) -> AsyncIterator[str]:
    """An empty portfolio database of this test's own (SQLite, or PostgreSQL when the suite runs there)."""
    base = database_base_url()
    if base is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'portfolio-migrations.db'}"
        return
    name = unique_name("iv_migrations_portfolio")
    url = await create_postgres_database(base, name)
    try:
        yield url
    finally:
        await drop_postgres_database(base, name)


async def downgrade(url: str, revision: str, migrations: Path = MIGRATIONS) -> None:
    engine = single_use_engine(url)
    try:
        async with engine.connect() as conn:

            def run(sync_conn: Connection) -> None:
                config = alembic_config(migrations, url)
                config.attributes["connection"] = sync_conn
                command.downgrade(config, revision)

            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


async def insert_as_stored(conn: AsyncConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """``rows`` into ``table`` as the database has it now (an earlier revision's shape)."""

    def run(sync_conn: Connection) -> None:
        sync_conn.execute(sa.Table(table, sa.MetaData(), autoload_with=sync_conn).insert(), rows)

    await conn.run_sync(run)


async def rows_of(conn: AsyncConnection, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """``columns`` of every row of ``table`` as the database has it now, in that order."""

    def run(sync_conn: Connection) -> list[tuple[Any, ...]]:
        stored = sa.Table(table, sa.MetaData(), autoload_with=sync_conn)
        picked = [stored.c[c] for c in columns]
        return [tuple(r) for r in sync_conn.execute(sa.select(*picked).order_by(*picked))]

    return await conn.run_sync(run)


def meta(id_: str, status: str) -> dict[str, Any]:
    return {"id": id_, "version": 1, "status": status, "created_at": NOW, "updated_at": NOW}


def initiative(n: int, kind: str, funding: str, chain: int, **overrides: Any) -> dict[str, Any]:
    """An initiative as the table held it before money per year (a lifetime ``budget_eur``)."""
    return {
        **meta(f"i{n}", "active"),
        "name": f"Initiatief {n}",
        "description": "",
        "programme_id": None,
        "value_chain": CHAIN.format(chain),
        "kind": kind,
        "funding": funding,
        "budget_eur": 100_000 * n,
        "start": dt.date(2026, 1, 1),
        "end": dt.date(2026, 12, 31),
        "hosting": "own_platform",
        "data_classification": "internal",
        "uses_generic_facilities": True,
        **overrides,
    }


def round_(id_: str, status: str) -> dict[str, Any]:
    closed = status == "closed"
    return {
        **meta(id_, status),
        "name": f"Ronde {id_}",
        "period": "2026-T1",
        "target_run": 60,
        "target_renewal": 40,
        "from_round_id": None,
        "opened_at": NOW if status != "draft" else None,
        "closed_at": NOW if closed else None,
    }


def item(id_: str, round_id: str, initiative_id: str, rank: int) -> dict[str, Any]:
    # Only the columns the table had before the revision.
    return {
        **meta(id_, "active"),
        "round_id": round_id,
        "initiative_id": initiative_id,
        "rank": rank,
        "decision": "continue",
        "note": "",
        "budget_eur": 1000,
    }


async def test_the_revision_fills_closed_rounds_and_goes_down_and_up(tmp_path: Path) -> None:
    async with portfolio_database(tmp_path) as url:
        await upgrade(MIGRATIONS, url, BEFORE)
        engine = single_use_engine(url)
        try:
            async with engine.begin() as conn:
                await insert_as_stored(
                    conn,
                    "initiatives",
                    [initiative(1, "renewal", "incidental", 1), initiative(2, "maintenance", "structural", 2)],
                )
                await insert_as_stored(
                    conn, "rounds", [round_("closed", "closed"), round_("open", "open"), round_("draft", "draft")]
                )
                await insert_as_stored(
                    conn,
                    "round_items",
                    [
                        item("c1", "closed", "i1", 1),
                        item("c2", "closed", "i2", 2),
                        item("o1", "open", "i1", 1),
                        item("d1", "draft", "i2", 1),
                    ],
                )

            await upgrade(MIGRATIONS, url)
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(RoundItem.id, RoundItem.kind, RoundItem.funding, RoundItem.value_chain).order_by(
                        RoundItem.id
                    )
                )
                assert [tuple(r) for r in rows] == [
                    ("c1", "renewal", "incidental", CHAIN.format(1)),
                    ("c2", "maintenance", "structural", CHAIN.format(2)),
                    ("d1", None, None, None),  # draft and open rounds follow their initiatives
                    ("o1", None, None, None),
                ]
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(update(Round).where(Round.id == "draft").values(status="open"))

            await downgrade(url, BEFORE)
            async with engine.connect() as conn:

                def shape(sync_conn: Connection) -> tuple[set[str], set[str]]:
                    inspector = inspect(sync_conn)
                    columns = {c["name"] for c in inspector.get_columns("round_items")}
                    indexes = {str(i["name"]) for i in inspector.get_indexes("rounds")}
                    return columns, indexes

                columns, indexes = await conn.run_sync(shape)
                assert not columns & {"kind", "funding", "value_chain"} and "budget_eur" in columns
                assert "uq_rounds_one_open" not in indexes
            # Without the index the old code could open two rounds; the revision then refuses to run.
            async with engine.begin() as conn:
                await conn.execute(update(Round).where(Round.id == "draft").values(status="open"))
            with pytest.raises(RuntimeError, match=r"2 rounds are open \(draft, open\)"):
                await upgrade(MIGRATIONS, url)
            async with engine.begin() as conn:
                await conn.execute(update(Round).where(Round.id == "draft").values(status="closed"))
            await upgrade(MIGRATIONS, url)
            async with engine.connect() as conn:
                kinds = await conn.execute(select(RoundItem.id, RoundItem.kind).order_by(RoundItem.id))
                assert [tuple(r) for r in kinds] == [
                    ("c1", "renewal"),
                    ("c2", "maintenance"),
                    ("d1", "maintenance"),
                    ("o1", None),
                ]
        finally:
            await engine.dispose()


async def test_the_budget_revision_spreads_lifetime_budgets_as_the_api_does(
    tmp_path: Path, suite: Suite, tokens: Tokens
) -> None:
    dates = {"start": dt.date(2026, 7, 1), "end": dt.date(2027, 6, 30)}
    async with portfolio_database(tmp_path) as url:
        await upgrade(MIGRATIONS, url, BEFORE_BUDGETS)
        engine = single_use_engine(url)
        try:
            async with engine.begin() as conn:
                await insert_as_stored(
                    conn,
                    "initiatives",
                    [
                        initiative(1, "renewal", "structural", 1, budget_eur=1_200_000, **dates),
                        initiative(
                            2, "maintenance", "structural", 2, start=dt.date(2024, 1, 1), end=dt.date(2026, 12, 31)
                        ),
                        initiative(3, "security", "structural", 2, budget_eur=500_000),
                    ],
                )
                await insert_as_stored(conn, "rounds", [round_("open", "open")])
                # A round item points at an initiative (SQLite rebuilds that table to drop a column).
                await insert_as_stored(
                    conn,
                    "round_items",
                    [{**item("o1", "open", "i1", 1), "kind": None, "funding": None, "value_chain": None}],
                )

            await upgrade(MIGRATIONS, url)
            async with engine.connect() as conn:
                budgets = await rows_of(conn, "initiative_budgets", "initiative_id", "year", "budget_eur")
                columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("initiatives")})
                items = await rows_of(conn, "round_items", "id", "initiative_id", "budget_eur")
            # By hand: 2026-07-01..2027-06-30 is 184 days in 2026 and 181 in 2027: 1,200,000 splits
            # 604,931.51 / 595,068.49, the euro left over to 2026 (the larger remainder). 2024..2026 is 366 +
            # 365 + 365 days: 200,000 (initiative 2's budget) splits 66,788.32 / 66,605.84 / 66,605.84, the two
            # euros left over to 2025 and 2026. One year takes all.
            assert budgets == [
                ("i1", 2026, 604_932),
                ("i1", 2027, 595_068),
                ("i2", 2024, 66_788),
                ("i2", 2025, 66_606),
                ("i2", 2026, 66_606),
                ("i3", 2026, 500_000),
            ]
            assert "budget_eur" not in columns
            assert items == [("o1", "i1", 1000)]  # the round item is there as it was

            # The API spreads a lifetime budget the same way.
            chain = await make_chain(suite, tokens)
            async with suite.client("portfolio", pm(tokens)) as client:
                body = initiative_body(chain, budget_eur=1_200_000, start="2026-07-01", end="2027-06-30")
                made = await created(client, "/v1/initiatives", body)
            migrated = [{"year": y, "budget_eur": a} for i, y, a in budgets if i == "i1"]
            assert made["budget_per_year"] == migrated
            assert spread(1_200_000, **dates) == {2026: 604_932, 2027: 595_068}

            await downgrade(url, BEFORE_BUDGETS)
            async with engine.connect() as conn:
                totals = await rows_of(conn, "initiatives", "id", "budget_eur")
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
                items = await rows_of(conn, "round_items", "id", "initiative_id", "budget_eur")
            assert totals == [("i1", 1_200_000), ("i2", 200_000), ("i3", 500_000)]
            assert "initiative_budgets" not in tables and items == [("o1", "i1", 1000)]
            await upgrade(MIGRATIONS, url)
        finally:
            await engine.dispose()
