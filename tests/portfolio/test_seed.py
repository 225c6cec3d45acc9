"""The demo data keeps its promises (that it loads into an empty database, as `make run` does, is
tests/chassis/test_operations.py's; this reads the demo template every test copies)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.chassis import demo
from services.chassis.cli import seed_if_empty
from services.chassis.db import Database
from services.portfolio.app import create_app
from services.portfolio.models import Base
from services.portfolio.seed import load
from tests.conftest import TEMPLATES, ServiceDatabase, Suite
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
def demo_database(demo_databases: dict[str, ServiceDatabase], monkeypatch: pytest.MonkeyPatch) -> str:
    """A database of this test's own with the demo data, loaded on ``TEMPLATES.moment``."""
    monkeypatch.setattr(demo, "utcnow", lambda: TEMPLATES.moment)
    return demo_databases["portfolio"].url


async def test_demo_seed(demo_database: str, var_dir: Path, tokens: Tokens) -> None:
    settings = settings_for(var_dir, "portfolio", demo_database)
    assert await seed_if_empty(settings, Base.metadata, load) is False  # has data now: left alone

    database = Database(demo_database, pool_size=2)
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
            # Proposed: it waits for its explanation before it can be approved (comply or explain).
            assert facts(8) == ("proposed", "renewal", CHAIN.format(2), "public_cloud", "confidential")
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

            assert (await client.get("/v1/changes/verify", headers=tokens("auditor"))).json()["ok"] is True
    finally:
        await database.dispose()


CODES = {CHAIN.format(n): code for n, code in enumerate(("OPS", "INT", "INS", "NHM", "BVO"), 1)}


async def test_the_demo_s_money_of_2026_against_the_owners_allocations(demo_suite: Suite, tokens: Tokens) -> None:
    """The story initiatives.toml tells: 2026's money, all of it, is within the threshold of the chain
    owners' allocations (valuechains demo/allocations.toml), but three chains are not."""
    async with demo_suite.client("portfolio", tokens("admin", clearance="secret")) as admin:
        year = (await admin.get("/v1/reports/ratio", params={"year": 2026})).json()
        reconciliation = (await admin.get("/v1/reports/reconciliation", params={"year": 2026})).json()
        rounds = (await admin.get("/v1/rounds")).json()["items"]
        current = next(r for r in rounds if r["status"] == "open")
        by_round = (await admin.get("/v1/reports/ratio", params={"round": current["id"]})).json()
    # The rounds' items hold the money of their year: 66.5 run in 2025-T3, then 65.5, 64.7 and 63.0.
    assert [p["ratio"]["run"] for p in by_round["trend"]] + [by_round["overall"]["ratio"]["run"]] == [
        66.5,
        65.5,
        64.7,
        63.0,
    ]
    # Every counted initiative's money in 2026 (the rounds leave some run money out).
    assert year["overall"]["total_budget_eur"] == 67_378_904
    assert year["overall"]["shares"] == {"maintenance": 55.3, "security": 13.3, "renewal": 31.4}
    assert (year["target"], year["renewal_gap"]) == ({"run": 60, "renewal": 40}, -8.6)
    assert year["coverage"]["left_out"] == 0

    # The owners: 180.7M, renewal 26.8 percent, budget-weighted; 4.6 points from the money: within 5.
    overall = reconciliation["overall"]
    assert overall["allocation"]["budget_eur"] == 180_700_000
    assert overall["allocation"]["shares"] == {"maintenance": 58.0, "security": 15.2, "renewal": 26.8}
    assert overall["difference"]["points"] == {"maintenance": -2.7, "security": -1.9, "renewal": 4.6, "run": -4.6}
    assert overall["flagged"] is False
    lines = {CODES[c["value_chain"]["href"]]: c for c in reconciliation["chains"]}
    assert {code: c["status"] for code, c in lines.items()} == dict.fromkeys(CODES.values(), "compared")
    assert {code for code, c in lines.items() if c["flagged"]} == {"OPS", "INS", "NHM"}
    assert reconciliation["flagged_chains"] == 3
    renewal = {code: c["difference"]["points"]["renewal"] for code, c in lines.items()}
    assert renewal == {"OPS": 10.5, "INT": -1.0, "INS": -18.3, "NHM": 16.4, "BVO": -2.3}
    assert lines["NHM"]["allocation"]["shares"] == {"maintenance": 65.0, "security": 17.0, "renewal": 18.0}
    assert lines["NHM"]["portfolio"]["shares"] == {"maintenance": 49.5, "security": 16.1, "renewal": 34.4}

    # Someone cleared only for internal sees less money, and is told how much was left out.
    async with demo_suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        limited = (await reader.get("/v1/reports/reconciliation", params={"year": 2026})).json()
    counted, left_out = limited["coverage"]["counted"], limited["coverage"]["left_out"]
    assert counted + left_out == reconciliation["coverage"]["counted"] and left_out > 0
    assert limited["overall"]["portfolio"]["total_budget_eur"] < overall["portfolio"]["total_budget_eur"]
