"""The valuechains revision that tells hired staff from partners and keeps every team version, on a
database with rows in it: a team's external FTE become hired FTE, its versions are folded from the
change feed into ``team_revisions`` (each valid from its event's time), and going down adds hired and
partner FTE back together.

Rows are written as the tables are at the revision the test stands on, not as the models are now."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from services.chassis.db import single_use_engine
from services.chassis.migrations import upgrade
from services.valuechains.app import MIGRATIONS
from tests.portfolio.test_migrations import downgrade, insert_as_stored, portfolio_database, rows_of

BEFORE = "1a7c3e5d9b01"  # the revision before the flexible shell and the staffing history
CHAIN_ID = "019a0000-0000-7000-8000-000000000001"
CHAIN = f"/valuechains/v1/chains/{CHAIN_ID}"
OTHER_ID = "019a0000-0000-7000-8000-000000000002"
TEAM = "/valuechains/v1/teams/{}".format
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.UTC)


def chain(id_: str, code: str) -> dict[str, Any]:
    return {
        "id": id_,
        "version": 1,
        "status": "active",
        "created_at": T0,
        "updated_at": T0,
        "code": code,
        "name": code,
        "domain": "d",
        "mission": "m",
        "owner_subject": "u1",
        "owner_name": "O",
        "owner_unit": "U",
    }


def team(
    id_: str, chain_id: str, internal: int, external: int, maturity: int, version: int, status: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "version": version,
        "status": status,
        "created_at": T0,
        "updated_at": T2,
        "chain_id": chain_id,
        "name": id_,
        "fte_internal_tenths": internal,
        "fte_external_tenths": external,
        "maturity": maturity,
    }


def event(seq: int, subject: str, at: dt.datetime, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": "teams.updated",
        "subject": subject,
        "actor": "u1",
        "at": at,
        "version": version,
        "changes": json.dumps(changes),
        "classification": None,
        "visible_to_unit": None,
        "prev_hash": "0" * 64,
        "hash": "0" * 64,
    }


async def test_external_fte_become_hired_and_the_feed_becomes_the_teams_history(tmp_path: Path) -> None:
    async with portfolio_database(tmp_path) as url:
        await upgrade(MIGRATIONS, url, BEFORE)
        engine = single_use_engine(url)
        try:
            async with engine.begin() as conn:
                await insert_as_stored(conn, "chains", [chain(CHAIN_ID, "A"), chain(OTHER_ID, "B")])
                await insert_as_stored(
                    conn,
                    "teams",
                    [
                        team("t1", OTHER_ID, 40, 15, 3, 3, "active"),  # created, changed, moved
                        team("t2", CHAIN_ID, 20, 5, 2, 2, "archived"),  # created, archived
                        team("t3", CHAIN_ID, 10, 0, 1, 1, "active"),  # no events at all
                    ],
                )
                created = {"name": "t1", "chain": {"href": CHAIN}, "fte_internal": 4.0, "fte_external": 2.5}
                await insert_as_stored(
                    conn,
                    "change_events",
                    [
                        event(1, TEAM("t1"), T0, 1, {k: [None, v] for k, v in {**created, "maturity": 2}.items()}),
                        event(2, "/valuechains/v1/chains/" + CHAIN_ID, T0, 1, {"name": [None, "A"]}),
                        event(
                            3,
                            TEAM("t2"),
                            T0,
                            1,
                            {
                                "name": [None, "t2"],
                                "chain": [None, {"href": CHAIN}],
                                "fte_internal": [None, 2.0],
                                "fte_external": [None, 0.5],
                                "maturity": [None, 2],
                                "status": [None, "active"],
                            },
                        ),
                        event(4, TEAM("t1"), T1, 2, {"fte_external": [2.5, 1.5], "maturity": [2, 3]}),
                        event(5, TEAM("t2"), T1, 2, {"status": ["active", "archived"]}),
                        event(
                            6,
                            TEAM("t1"),
                            T2,
                            3,
                            {"chain": [{"href": CHAIN}, {"href": "/valuechains/v1/chains/" + OTHER_ID}]},
                        ),
                    ],
                )
            await upgrade(MIGRATIONS, url)
            async with engine.connect() as conn:
                teams = await rows_of(
                    conn, "teams", "id", "fte_internal_tenths", "fte_hired_tenths", "fte_partner_tenths"
                )
                assert teams == [("t1", 40, 15, 0), ("t2", 20, 5, 0), ("t3", 10, 0, 0)]
                columns = (
                    "team_id",
                    "version",
                    "chain_id",
                    "fte_internal_tenths",
                    "fte_hired_tenths",
                    "fte_partner_tenths",
                    "maturity",
                    "status",
                )
                revisions = await rows_of(conn, "team_revisions", *columns)
                assert revisions == [
                    ("t1", 1, CHAIN_ID, 40, 25, 0, 2, "active"),
                    ("t1", 2, CHAIN_ID, 40, 15, 0, 3, "active"),
                    ("t1", 3, OTHER_ID, 40, 15, 0, 3, "active"),
                    ("t2", 1, CHAIN_ID, 20, 5, 0, 2, "active"),
                    ("t2", 2, CHAIN_ID, 20, 5, 0, 2, "archived"),
                    ("t3", 1, CHAIN_ID, 10, 0, 0, 1, "active"),  # from the row itself
                ]
                valid = await rows_of(conn, "team_revisions", "team_id", "version", "valid_from")
                # Reflected, the column is a plain date-time: naive (UTC) on SQLite, aware on PostgreSQL.
                normal = {(t, v): at.replace(tzinfo=at.tzinfo or dt.UTC) for t, v, at in valid}
                assert normal == {
                    ("t1", 1): T0,
                    ("t1", 2): T1,
                    ("t1", 3): T2,
                    ("t2", 1): T0,
                    ("t2", 2): T1,
                    ("t3", 1): T2,
                }

            await downgrade(url, BEFORE, MIGRATIONS)
            async with engine.connect() as conn:
                assert await rows_of(conn, "teams", "id", "fte_external_tenths") == [("t1", 15), ("t2", 5), ("t3", 0)]
        finally:
            await engine.dispose()
