"""The demo data: loads into an empty database only, and tells the story the reports should show.

That it loads (and reads everything its files hold) is tests/chassis/test_operations.py's, for
every service; the story is read here from the demo template every test copies (``demo_databases``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.chassis import demo
from services.chassis.cli import seed_if_empty
from services.chassis.db import Database
from services.valuechains.app import create_app
from services.valuechains.models import Base
from services.valuechains.seed import DEMO_CHAINS, OPS_CRITICAL_APPLICATION, load
from tests.conftest import TEMPLATES, ServiceDatabase
from tests.support import (
    Tokens,
    client_for,
    running,
    settings_for,
)


@pytest.fixture
def empty_database(fresh_databases: dict[str, ServiceDatabase]) -> str:
    return fresh_databases["valuechains"].url


@pytest.fixture
def demo_database(demo_databases: dict[str, ServiceDatabase], monkeypatch: pytest.MonkeyPatch) -> str:
    """A database of this test's own with the demo data, loaded on ``TEMPLATES.moment``."""
    monkeypatch.setattr(demo, "utcnow", lambda: TEMPLATES.moment)
    return demo_databases["valuechains"].url


async def all_items(client: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_path: str | None = path
    query: dict[str, Any] | None = {"limit": 100, **params}
    while next_path:
        response = await client.get(next_path, params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        next_path = response.json()["next"]
        next_path = next_path.removeprefix("/valuechains") if next_path else None
        query = None
    return items


async def test_demo_data_loads_once_and_tells_the_staffing_story(
    demo_database: str, var_dir: Path, tokens: Tokens
) -> None:
    settings = settings_for(var_dir, "valuechains", demo_database)
    assert await seed_if_empty(settings, Base.metadata, load) is False  # it has data now

    database = Database(demo_database, pool_size=2)
    app = create_app(settings, database=database)
    try:
        async with running(app), client_for(app, tokens("reader")) as reader:
            chains = await all_items(reader, "/v1/chains")
            assert [(c["id"], c["code"]) for c in chains] == [(c["id"], c["code"]) for c in DEMO_CHAINS]
            assert [(c["id"][-2:], c["code"]) for c in chains] == [
                ("01", "OPS"),
                ("02", "INT"),
                ("03", "INS"),
                ("04", "NHM"),
                ("05", "BVO"),
            ]
            assert all(c["owner"]["name"].endswith("(demo)") for c in chains)

            teams = await all_items(reader, "/v1/teams")
            assert len(teams) == 150
            assert sorted(t["id"] for t in teams) == [f"019a0000-0001-7000-8000-{n:012d}" for n in range(1, 151)]
            assert {t["chain"]["href"] for t in teams} == {c["href"] for c in chains}

            staffing = (await reader.get("/v1/reports/staffing")).json()
            flagged = {r["code"] for r in staffing["chains"] if r["above_limit"]}
            assert flagged and flagged != {c["code"] for c in chains}  # some chains above their limit, not all
            assert staffing["totals"]["teams"] == 150
            assert all(10 <= r["external_share"] <= 50 for r in staffing["chains"])
            assert all(r["fte_hired"] > 0 and r["fte_partner"] > 0 for r in staffing["chains"])
            limits = {r["code"]: (r["external_share_limit"], r["limit_source"]) for r in staffing["chains"]}
            assert limits["NHM"] == (40.0, "chain") and limits["OPS"] == (30.0, "default")

            # The history tells a story: BVO's external share fell over the last 18 months, and partners
            # took over part of the shell from hired staff.
            history = (await reader.get("/v1/reports/staffing/history", params={"period": "quarter"})).json()
            bvo = [next(r for r in p["chains"] if r["code"] == "BVO") for p in history["periods"]]
            assert bvo[0]["external_share"] > bvo[-1]["external_share"]
            assert bvo[0]["fte_partner"] < bvo[-1]["fte_partner"]
            assert {p["totals"]["teams"] for p in history["periods"]} == {150}
            earlier = (await reader.get("/v1/reports/staffing/history", params={"to": history["from"]})).json()
            assert earlier["periods"][0]["totals"]["teams"] == 0  # before the story begins
            maturity = (await reader.get("/v1/reports/maturity", params={"period": "quarter"})).json()
            assert maturity["overall"]["current"]["teams"] == 150
            assert maturity["overall"]["change"]["teams_up"] > 0

            for period in ("2025", "2026"):
                report = (await reader.get("/v1/reports/allocations", params={"period": period})).json()
                assert report["missing"] == [] and len(report["chains"]) == 5, period
                assert report["overall"]["budget_eur"] > 0

            allocations = await all_items(reader, "/v1/allocations")
            assert sorted(a["id"] for a in allocations) == [f"019a0000-0002-7000-8000-{n:012d}" for n in range(1, 11)]
            assert all(a["rationale"] for a in allocations)
            ops_2026 = next(a for a in allocations if a["id"].endswith("06"))
            assert ops_2026["chain"]["href"] == chains[0]["href"] and ops_2026["period"] == "2026"
            revisions = (await reader.get(ops_2026["revisions_href"].removeprefix("/valuechains"))).json()["items"]
            assert len(revisions) >= 2
            assert {r["by"]["subject"] for r in revisions} == {"demo-owner-ops"}

            assert (await reader.get("/v1/changes/verify", headers=tokens("auditor"))).json()["ok"] is True
    finally:
        await database.dispose()


async def test_demo_applications_tell_the_foundation_story(demo_database: str, var_dir: Path, tokens: Tokens) -> None:
    settings = settings_for(var_dir, "valuechains", demo_database)
    database = Database(demo_database, pool_size=2)
    app = create_app(settings, database=database)
    try:
        async with running(app), client_for(app, tokens("admin")) as admin:
            applications = await all_items(admin, "/v1/applications")
            assert sorted(a["id"] for a in applications) == [f"019a0000-0003-7000-8000-{n:012d}" for n in range(1, 41)]
            chains = {c["code"]: c for c in await all_items(admin, "/v1/chains")}
            per_chain = {
                code: [a for a in applications if a["chain"]["href"] == c["href"]] for code, c in chains.items()
            }
            assert all(len(items) >= 6 for items in per_chain.values())
            classifications = [a["data_classification"] for a in applications]
            assert classifications.count("confidential") >= 5 and classifications.count("secret") >= 3

            # The principles demo rule relies on this: OPS and NHM have open critical findings, the rest none.
            critical = {code: c["open_critical_findings"] for code, c in chains.items()}
            assert critical["OPS"] > 0 and critical["NHM"] > 0
            assert critical["INT"] == critical["INS"] == critical["BVO"] == 0
            # Every one of OPS's critical findings is on one application, which a reader may see.
            with_critical = [a for a in per_chain["OPS"] if a["findings"]["critical"] > 0]
            assert [a["id"] for a in with_critical] == [OPS_CRITICAL_APPLICATION]
            assert with_critical[0]["findings"]["critical"] == critical["OPS"]
            assert with_critical[0]["data_classification"] in ("public", "internal")

            report = (await admin.get("/v1/reports/foundation")).json()
            overall = report["overall"]
            assert overall["applications"] == 40 and overall["chains"] == 5
            assert overall["applications_past_support"] >= 5 and overall["applications_support_ending"] >= 5
            assert overall["applications_without_recent_release"] >= 5
            assert overall["open_critical_findings"] == critical["OPS"] + critical["NHM"]
            flagged = report["flagged"]
            assert len(flagged) >= 2 and {f["code"] for f in flagged} == {"NHM"}
            assert report["flagged_not_shown"] == 0
            assert all(r["technical_debt_score"] > 0 for r in report["chains"])
            rows = {r["code"]: r for r in report["chains"]}
            for code, chain in chains.items():
                assert rows[code]["open_critical_findings"] == chain["open_critical_findings"]
                assert rows[code]["applications_past_support"] == chain["applications_past_support"]

            # The "done means" scenario: closing that one application's critical findings makes OPS clean.
            url = f"/v1/applications/{OPS_CRITICAL_APPLICATION}"
            ops_owner = tokens("chain_owner", sub="demo-owner-ops")
            async with client_for(app, ops_owner) as owner:
                etag = (await owner.get(url)).headers["etag"]
                closed = await owner.patch(url, json={"findings": {"critical": 0}}, headers={"If-Match": etag})
                assert closed.status_code == 200, closed.text
                assert (await owner.get(f"/v1/chains/{chains['OPS']['id']}")).json()["open_critical_findings"] == 0

        # A reader without clearance sees fewer applications, but the same figures.
        async with running(app), client_for(app, tokens("reader")) as reader:
            visible = await all_items(reader, "/v1/applications")
            assert len(visible) == classifications.count("public") + classifications.count("internal")
            nhm = (await reader.get(f"/v1/chains/{chains['NHM']['id']}")).json()
            assert nhm["open_critical_findings"] == critical["NHM"]
    finally:
        await database.dispose()


async def test_demo_data_never_loads_into_a_database_with_data(
    empty_database: str, var_dir: Path, tokens: Tokens
) -> None:
    settings = settings_for(var_dir, "valuechains", empty_database)
    database = Database(empty_database, pool_size=2)
    app = create_app(settings, database=database)
    try:
        async with running(app), client_for(app, tokens("admin")) as admin:
            body = {
                "code": "OWN",
                "name": "Our own chain",
                "domain": "Everything",
                "mission": "Ours.",
                "owner": {"subject": "u1", "name": "Someone", "unit": "Somewhere"},
            }
            assert (await admin.post("/v1/chains", json=body)).status_code == 201
            assert await seed_if_empty(settings, Base.metadata, load) is False
            chains = (await admin.get("/v1/chains")).json()["items"]
            assert [c["code"] for c in chains] == ["OWN"]
            assert (await admin.get("/v1/teams")).json()["items"] == []
            assert (await admin.get("/v1/applications")).json()["items"] == []
    finally:
        await database.dispose()
