"""The demo data loads into an empty database (as `make run` does) and keeps its promises."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.chassis.cli import seed_if_empty
from services.chassis.db import Database
from services.portfolio.app import create_app
from services.portfolio.models import Base
from services.portfolio.seed import load
from tests.conftest import ServiceDatabase
from tests.support import (
    RoutingTransport,
    Tokens,
    client_for,
    running,
    settings_for,
)

CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-0000000000{:02d}"
INITIATIVE = "019a0001-0001-7000-8000-0000000000{:02d}"


@pytest.fixture
def empty_database(fresh_databases: dict[str, ServiceDatabase]) -> str:
    return fresh_databases["portfolio"].url


async def test_demo_seed(empty_database: str, var_dir: Path, tokens: Tokens) -> None:
    settings = settings_for(var_dir, "portfolio", empty_database)
    assert await seed_if_empty(settings, Base.metadata, load) is True
    assert await seed_if_empty(settings, Base.metadata, load) is False  # has data now: left alone

    database = Database(empty_database, pool_size=2)
    app = create_app(settings, transport=RoutingTransport(), database=database)
    try:
        async with running(app), client_for(app, tokens("admin")) as client:
            programmes = (await client.get("/v1/programmes")).json()["items"]
            names = {p["code"]: p["name"] for p in programmes}
            assert names["VR"] == "Vernieuwend Registreren"
            assert names["MIB"] == "Modernisering Informatievoorziening Bedrijfsvoering"
            assert len(programmes) >= 4

            initiatives = []
            page: str | None = "/v1/initiatives?limit=100"
            while page:
                body = (await client.get(page.removeprefix("/portfolio"))).json()
                initiatives += body["items"]
                page = body["next"]
            assert 55 <= len(initiatives) <= 65
            by_id = {i["id"]: i for i in initiatives}

            def facts(n: int) -> tuple[str, str, str, str, str]:
                i = by_id[INITIATIVE.format(n)]
                return (i["status"], i["kind"], i["value_chain"]["href"], i["hosting"], i["data_classification"])

            assert facts(7) == ("active", "renewal", CHAIN.format(1), "public_cloud", "confidential")
            assert facts(8) == ("approved", "renewal", CHAIN.format(2), "public_cloud", "confidential")
            assert facts(9) == ("proposed", "renewal", CHAIN.format(3), "hybrid", "secret")
            contract = {INITIATIVE.format(n) for n in (7, 8, 9)}
            for i in initiatives:
                if i["id"] not in contract:  # sensitive data stays on own platforms
                    assert i["hosting"] == "own_platform" or i["data_classification"] == "public", i["name"]
                assert 100_000 <= i["budget_eur"] <= 5_000_000 and i["value_chain"]["href"] in {
                    CHAIN.format(n) for n in range(1, 6)
                }
            active_renewal = Counter(
                i["value_chain"]["href"] for i in initiatives if i["status"] == "active" and i["kind"] == "renewal"
            )
            assert active_renewal[CHAIN.format(1)] >= 2 and active_renewal[CHAIN.format(4)] >= 2
            assert 1 <= sum(not i["uses_generic_facilities"] for i in initiatives) <= 10
            assert {i["value_chain"]["href"] for i in initiatives} == {CHAIN.format(n) for n in range(1, 6)}

            ebos = (await client.get("/v1/ebos", params={"limit": 100})).json()["items"]
            assert 35 <= len(ebos) <= 45 and len({e["unit"] for e in ebos}) >= 5
            assert {e["status"] for e in ebos} >= {"registered", "under_review", "adopted", "tolerated", "phased_out"}
            assert all(e["decision"]["reason"] for e in ebos if e["status"] != "registered")
            pairs = (await client.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})).json()["items"]
            names_found = {frozenset((p["a_name"], p["b_name"])) for p in pairs}
            assert frozenset(("Verhoorplanner", "Verhoor Planner")) in names_found
            assert frozenset(("Kentekenscanner", "Kenteken-scan app")) in names_found
            assert len(pairs) >= 5 and all(p["a_unit"] != p["b_unit"] for p in pairs)

            rounds = (await client.get("/v1/rounds")).json()["items"]
            assert Counter(r["status"] for r in rounds) == {"closed": 3, "open": 1}
            current = next(r for r in rounds if r["status"] == "open")
            report = (await client.get("/v1/reports/ratio", params={"round": current["id"]})).json()
            runs = [p["ratio"]["run"] for p in report["trend"]] + [report["overall"]["ratio"]["run"]]
            assert 65 <= runs[0] <= 67  # about 66:34 ...
            assert runs == sorted(runs, reverse=True)  # ... moving toward the target
            assert report["target"]["run"] <= runs[-1] < runs[0]
            assert report["renewal_funded_only_incidentally"]

            previous = next(r for r in rounds if r["href"] == current["from_round"]["href"])
            diff = (await client.get(f"/v1/rounds/{current['id']}/diff", params={"against": previous["id"]})).json()
            assert diff["added"] and diff["decisions_changed"] and diff["budget_moves"]

            assert (await client.get("/v1/changes/verify")).json()["ok"] is True
    finally:
        await database.dispose()
