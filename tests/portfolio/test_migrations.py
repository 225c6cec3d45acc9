"""The revision that keeps one round open and freezes closed rounds' items: it fills the items of
rounds closed before it, refuses a database with two open rounds, and goes down and up again."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from services.chassis.db import single_use_engine
from services.chassis.migrations import alembic_config, upgrade
from services.portfolio.app import MIGRATIONS
from services.portfolio.initiatives.models import Initiative
from services.portfolio.rounds.models import Round, RoundItem
from tests.support import create_postgres_database, database_base_url, drop_postgres_database, unique_name

BEFORE = "da8e3789bb57"  # the revision before one open round and the snapshots
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


async def downgrade(url: str, revision: str) -> None:
    engine = single_use_engine(url)
    try:
        async with engine.connect() as conn:

            def run(sync_conn: Connection) -> None:
                config = alembic_config(MIGRATIONS, url)
                config.attributes["connection"] = sync_conn
                command.downgrade(config, revision)

            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


def meta(id_: str, status: str) -> dict[str, Any]:
    return {"id": id_, "version": 1, "status": status, "created_at": NOW, "updated_at": NOW}


def initiative(n: int, kind: str, funding: str, chain: int) -> dict[str, Any]:
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
                await conn.execute(
                    insert(Initiative),
                    [initiative(1, "renewal", "incidental", 1), initiative(2, "maintenance", "structural", 2)],
                )
                await conn.execute(
                    insert(Round),
                    [round_("closed", "closed"), round_("open", "open"), round_("draft", "draft")],
                )
                await conn.execute(
                    insert(RoundItem),
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
