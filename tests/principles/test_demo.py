"""The demo data of the whole suite, loaded into empty databases: evaluating all initiatives gives a
compliance report with real deviations and explanations, and every demo rule really judges."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.chassis.db import Database
from services.principles.follower.service import Follower
from services.principles.seed import DEMO_PRINCIPLES, explanation_id, initiative
from tests.conftest import ServiceDatabase, Suite
from tests.principles.helpers import all_pages, architect, evaluate, local
from tests.support import (
    RoutingTransport,
    Tokens,
    running,
    service_module,
    settings_for,
)

RULED = {p["code"]: p for p in DEMO_PRINCIPLES if p.get("rule")}


@pytest.fixture
async def demo(
    demo_databases: dict[str, ServiceDatabase], var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Suite]:
    """Every service on a database of its own holding only its demo data, wired in-process."""
    monkeypatch.setenv("IV_PRINCIPLES_FOLLOW_ENABLED", "false")
    transport = RoutingTransport()
    suite = Suite(transport=transport, var_dir=var_dir)
    async with contextlib.AsyncExitStack() as stack:
        for service, sdb in demo_databases.items():
            settings = settings_for(var_dir, service, sdb.url)
            database = Database(sdb.url, pool_size=2)
            stack.push_async_callback(database.dispose)
            app = service_module(service).create_app(settings, transport=transport, database=database)
            await stack.enter_async_context(running(app))
            transport.add(f"{service}.test", app)
            suite.apps[service] = app
        yield suite


def outcomes(assessments: list[dict[str, Any]], code: str) -> dict[str, str]:
    href = f"/principles/v1/principles/{RULED[code]['id']}"
    return {a["subject"]["href"]: a["outcome"] for a in assessments if a["principle"]["href"] == href}


async def test_evaluating_the_demo_gives_real_deviations_and_explanations(demo: Suite, tokens: Tokens) -> None:
    async with demo.client("principles", architect(tokens, sub="demo-architect-3")) as client:
        evaluation = await evaluate(client, "/portfolio/v1/initiatives")
        assert evaluation["subjects"] >= 9
        assessments = await all_pages(client, local(evaluation["all_assessments"]))
        cloud = outcomes(assessments, "RI-02")
        assert cloud[initiative(7)] == "explained"  # approved in advance by a second architect
        assert cloud[initiative(8)] == "deviates"  # asked, not yet approved
        assert cloud[initiative(9)] == "deviates"  # hybrid, secret
        assert cloud[initiative(1)] == "complies"
        [explained] = [
            a
            for a in assessments
            if a["subject"]["href"] == initiative(7) and a["principle"]["href"].endswith(RULED["RI-02"]["id"])
        ]
        assert explained["explanation"]["href"].endswith(explanation_id(1))

        # Across services: renewal on a chain with open critical findings (OPS and NHM in the demo)
        # deviates, read through the initiative's value_chain reference; one is explained in advance.
        foundation = outcomes(assessments, "CS-01")
        assert foundation[initiative(1)] == "deviates"  # OPS
        assert foundation[initiative(4)] == "deviates"  # NHM
        assert foundation[initiative(3)] == "explained"  # OPS, explanation 5
        assert foundation[initiative(8)] == "complies"  # INT has no critical findings
        assert foundation[initiative(10)] == "complies"  # maintenance, not renewal

        for href in ("/valuechains/v1/teams", "/valuechains/v1/allocations"):
            judged = await evaluate(client, href)
            assessments += await all_pages(client, local(judged["all_assessments"]))

        # Every demo rule judges real subjects, and none of them fails to judge.
        for code, principle in RULED.items():
            mine = [a for a in assessments if a["principle"]["href"].endswith(principle["id"])]
            assert mine, f"{code} judged nothing"
            assert {a["outcome"] for a in mine} <= {"complies", "deviates", "explained"}, code
        assert {a["outcome"] for a in assessments} >= {"complies", "deviates", "explained"}

        report = (await client.get("/v1/reports/compliance", params={"group_by": "principle"})).json()
        assert report["totals"]["deviates"] > 0 and report["totals"]["explained"] > 0
        open_cloud = {d["subject"]["href"] for d in report["open_deviations"] if d["principle_code"] == "RI-02"}
        assert initiative(8) in open_cloud and initiative(7) not in open_cloud
        open_foundation = {d["subject"]["href"] for d in report["open_deviations"] if d["principle_code"] == "CS-01"}
        assert {initiative(1), initiative(4)} <= open_foundation
        assert initiative(3) not in open_foundation
        late = {i["explanation"]["href"].rsplit("/", 1)[1] for i in report["late_explanations"]}
        assert explanation_id(2) in late and explanation_id(1) not in late
        assert {i["explanation"]["href"].rsplit("/", 1)[1] for i in report["expired_explanations"]} == {
            explanation_id(4)
        }
        assert explanation_id(2) in {
            i["explanation"]["href"].rsplit("/", 1)[1] for i in report["expiring_explanations"]
        }
        missing = {m["initiative"]["href"]: m["missing"] for m in report["missing_reviews"]}
        assert initiative(7) not in missing
        assert missing[initiative(1)] == ["execution"]
        assert report["incomplete"] == []

    # The register is there for anyone cleared to read it.
    async with demo.client("principles", tokens("reader", clearance="confidential")) as client:
        register = (await client.get("/v1/explanations/register")).json()
        assert register["count"] == 5
        for row in register["items"]:  # the demo's history: asked before decided
            assert row["approved_at"] is None or row["requested_at"] < row["approved_at"]
    async with demo.client("principles", tokens("reader", clearance="internal")) as client:
        assert (await client.get("/v1/explanations/register")).json()["count"] == 0  # all about confidential work


OPS_CRITICAL_APPLICATION = "/v1/applications/019a0000-0003-7000-8000-000000000002"


async def test_closing_the_last_critical_finding_makes_the_chains_renewal_comply(demo: Suite, tokens: Tokens) -> None:
    follower = Follower(demo.apps["principles"], owner="demo-follower")
    await follower.run_once()  # catch up with the demo data being loaded
    async with demo.client("principles", architect(tokens, sub="demo-architect-3")) as client:
        await evaluate(client, initiative(1))
        before = await latest_outcome(client, "CS-01", initiative(1))
        assert before == "deviates"

        # The OPS chain's owner closes the findings of the one application that carries them all.
        async with demo.client("valuechains", tokens("chain_owner", sub="demo-owner-ops")) as valuechains:
            current = await valuechains.get(OPS_CRITICAL_APPLICATION)
            patched = await valuechains.patch(
                OPS_CRITICAL_APPLICATION,
                json={"findings": {"critical": 0}},
                headers={"If-Match": current.headers["etag"]},
            )
            assert patched.status_code == 200, patched.text
            chain = (await valuechains.get(patched.json()["chain"]["href"].removeprefix("/valuechains"))).json()
            assert chain["open_critical_findings"] == 0

        # Nobody evaluates by hand: the follower sees the application change in the feed, knows the
        # chain's figures derive from it, and re-evaluates the initiatives that read that chain.
        await follower.run_once()
        assert await latest_outcome(client, "CS-01", initiative(1)) == "complies"
        assert await latest_outcome(client, "CS-01", initiative(4)) == "deviates"  # NHM still has findings


async def latest_outcome(client: Any, code: str, subject: str) -> str:
    principle = f"/principles/v1/principles/{RULED[code]['id']}"
    page = (await client.get("/v1/assessments", params={"principle": principle, "subject": subject})).json()
    assert page["items"], f"no assessment of {subject} on {code}"
    return str(max(page["items"], key=lambda a: a["id"])["outcome"])  # ids are time-ordered
