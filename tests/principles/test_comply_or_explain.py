"""Comply or explain, enforced before the work starts ("je zegt vooraf duidelijk waarom je wilt
afwijken"): the portfolio refuses to approve or activate a deviating initiative (or to activate a
programme, or to adopt or tolerate an EBO) until an approved explanation covers every deviation;
whether an explanation came late is decided once, when the work starts; a principle's new revision
asks for its explanations to be confirmed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from services.principles.explanations.models import Explanation
from services.principles.follower.service import Follower
from tests.conftest import Suite
from tests.principles.helpers import (
    CLOUD_RULE,
    architect,
    initiative_body,
    local,
    make_chain,
    make_principle,
    patch,
)
from tests.support import Tokens

TODAY = dt.datetime.now(dt.UTC).date()
NEXT_YEAR = (TODAY + dt.timedelta(days=365)).isoformat()
DEVIATING = {"hosting": "public_cloud", "data_classification": "confidential"}


async def ask(suite: Suite, tokens: Tokens, principle: dict[str, Any], subject: dict[str, Any]) -> dict[str, Any]:
    async with suite.client("principles", architect(tokens, sub="arch-asks")) as client:
        asked = await client.post(
            "/v1/explanations",
            json={
                "principle": {"href": principle["href"]},
                "subject": {"href": subject["href"]},
                "reason": "Needed for the pilot; pseudonymised data only.",
                "review_by": NEXT_YEAR,
            },
        )
    assert asked.status_code == 201, asked.text
    result: dict[str, Any] = asked.json()
    return result


async def approve(suite: Suite, tokens: Tokens, explanation: dict[str, Any]) -> dict[str, Any]:
    async with suite.client("principles", architect(tokens, sub="arch-approves")) as client:
        approved = await client.post(f"{local(explanation['href'])}/approve", json={"note": "In advance."})
    assert approved.status_code == 200, approved.text
    result: dict[str, Any] = approved.json()
    return result


async def test_a_deviating_initiative_is_approved_only_once_its_deviation_is_explained(
    suite: Suite, tokens: Tokens
) -> None:
    chain = await make_chain(suite, tokens)
    manager = tokens("portfolio_manager", sub="pm-coe", clearance="secret")
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, status="proposed", **DEVIATING))
        assert created.status_code == 201, created.text
        initiative = created.json()
        url = f"/v1/initiatives/{initiative['id']}"

        refused = await portfolio.patch(url, json={"status": "approved"}, headers={"If-Match": '"1"'})
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["type"] == "/problems/conflict"
        [deviation] = problem["open_deviations"]
        assert deviation["principle"] == {"href": cloud["href"]} and deviation["code"] == cloud["code"]
        assert "POST /principles/v1/explanations" in deviation["resolve"]
        assert cloud["code"] in problem["detail"] and cloud["href"] in problem["detail"]
        assert (await portfolio.get(url)).json()["status"] == "proposed"

        # Asked is not enough: it waits for a second architect.
        explanation = await ask(suite, tokens, cloud, initiative)
        waiting = await portfolio.patch(url, json={"status": "approved"}, headers={"If-Match": '"1"'})
        assert waiting.status_code == 409
        assert explanation["href"] in waiting.json()["open_deviations"][0]["resolve"]

        await approve(suite, tokens, explanation)
        approved = await portfolio.patch(url, json={"status": "approved"}, headers={"If-Match": '"1"'})
        assert approved.status_code == 200, approved.text
        active = await portfolio.patch(url, json={"status": "active"}, headers={"If-Match": '"2"'})
        assert active.status_code == 200, active.text


async def test_the_initiative_is_judged_as_it_is_about_to_be(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    manager = tokens("portfolio_manager", sub="pm-coe-2", clearance="secret")
    async with suite.client("principles", architect(tokens)) as client:
        await make_principle(client, rule=CLOUD_RULE)
    async with suite.client("portfolio", manager) as portfolio:
        # Created as approved: judged as it would be, and it deviates.
        direct = await portfolio.post("/v1/initiatives", json=initiative_body(chain, status="approved", **DEVIATING))
        assert direct.status_code == 409, direct.text
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, status="proposed", **DEVIATING))
        url = f"/v1/initiatives/{created.json()['id']}"
        # Approved in the same change that brings it home to the own platform: nothing to explain.
        fixed = await portfolio.patch(
            url, json={"status": "approved", "hosting": "own_platform"}, headers={"If-Match": '"1"'}
        )
        assert fixed.status_code == 200, fixed.text
        # Changes that start nothing are not judged: moving it back to the cloud is allowed (and the
        # follower will record the deviation), but activating it then is not.
        back = await portfolio.patch(url, json={"hosting": "public_cloud"}, headers={"If-Match": '"2"'})
        assert back.status_code == 200
        blocked = await portfolio.patch(url, json={"status": "active"}, headers={"If-Match": '"3"'})
        assert blocked.status_code == 409
        # An illegal move is said as such first, whatever the principles say.
        illegal = await portfolio.patch(url, json={"status": "proposed"}, headers={"If-Match": '"3"'})
        assert illegal.status_code == 409 and illegal.json()["allowed"] == ["active", "stopped"]


async def test_nothing_changes_when_principles_cannot_be_asked(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", tokens("portfolio_manager", sub="pm-coe-3")) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, status="proposed"))
        url = f"/v1/initiatives/{created.json()['id']}"
        suite.transport.down.add("principles.test")
        try:
            down = await portfolio.patch(url, json={"status": "approved"}, headers={"If-Match": '"1"'})
        finally:
            suite.transport.down.discard("principles.test")
        assert down.status_code == 503, down.text
        assert (await portfolio.get(url)).json()["version"] == 1


async def test_programmes_and_ebos_are_held_to_the_same_rule(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE, applies_to=["ebo"])
        governance = await make_principle(client, applies_to=["programme"], category="finance_control")
    async with suite.client("portfolio", tokens("portfolio_manager", sub="pm-coe-4", clearance="secret")) as pf:
        programme = await pf.post(
            "/v1/programmes",
            json={
                "code": f"CE{TODAY.toordinal() % 10000}",
                "name": "Programma",
                "ambition": "Small steps.",
                "owner": {"subject": "u-prog", "name": "P. Rog", "unit": "Dienst IV"},
                "status": "proposed",
            },
        )
        assert programme.status_code == 201, programme.text
        ebo = await pf.post(
            "/v1/ebos",
            json={
                "name": "Eigen cloudtool",
                "unit": "Eenheid Rotterdam",
                "value_chain": {"href": chain["href"]},
                "hosting": "public_cloud",
                "data_classification": "confidential",
                "users": 5,
            },
        )
        assert ebo.status_code == 201, ebo.text
        ebo_url = f"/v1/ebos/{ebo.json()['id']}/decision"
        assert (await pf.post(ebo_url, json={"status": "under_review", "reason": "Review."})).status_code == 200
        tolerated = await pf.post(ebo_url, json={"status": "tolerated", "reason": "For now."})
        assert tolerated.status_code == 409, tolerated.text
        assert tolerated.json()["open_deviations"][0]["code"] == cloud["code"]
        # Phasing it out commits to nothing: allowed.
        assert (await pf.post(ebo_url, json={"status": "phased_out", "reason": "Merge."})).status_code == 200

    async with suite.client("principles", architect(tokens)) as client:
        recorded = await client.post(
            "/v1/assessments",
            json={
                "principle": {"href": governance["href"]},
                "subject": {"href": programme.json()["href"]},
                "outcome": "deviates",
                "note": "No stage gates yet.",
            },
        )
        assert recorded.status_code == 201, recorded.text
    async with suite.client("portfolio", tokens("portfolio_manager", sub="pm-coe-4")) as pf:
        url = f"/v1/programmes/{programme.json()['id']}"
        blocked = await pf.patch(url, json={"status": "active"}, headers={"If-Match": '"1"'})
        assert blocked.status_code == 409 and blocked.json()["open_deviations"][0]["code"] == governance["code"]


async def test_late_is_decided_once_when_the_work_starts(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    manager = tokens("portfolio_manager", sub="pm-late", clearance="secret")
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        budget = await make_principle(client, rule="subject.budget_eur <= 500000", category="finance_control")
    follower = Follower(suite.apps["principles"], owner="follower-late")
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post(
            "/v1/initiatives", json=initiative_body(chain, status="proposed", budget_eur=400_000, **DEVIATING)
        )
        initiative = created.json()
        in_advance = await approve(suite, tokens, await ask(suite, tokens, cloud, initiative))
        url = f"/v1/initiatives/{initiative['id']}"
        await patch(portfolio, url, {"status": "approved"})
        await patch(portfolio, url, {"status": "active"})
        await follower.scan_milestones("portfolio")
        # After the start the budget grows past the finance principle: explaining that now is late.
        await patch(portfolio, url, {"budget_eur": 900_000})
        afterwards = await approve(suite, tokens, await ask(suite, tokens, budget, initiative))
        # Moving the start later changes nothing: lateness was decided when the work started.
        await patch(portfolio, url, {"start": "2026-06-01"})
        await follower.scan_milestones("portfolio")
    async with suite.client("principles", architect(tokens)) as client:
        assert (await client.get(local(in_advance["href"]))).json()["late"] is False
        assert (await client.get(local(afterwards["href"]))).json()["late"] is True
        report = (await client.get("/v1/reports/compliance", params={"group_by": "principle"})).json()
        late = {i["explanation"]["href"] for i in report["late_explanations"]}
        assert afterwards["href"] in late and in_advance["href"] not in late


async def test_a_new_revision_asks_for_confirmation_and_counts_until_the_deadline(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", tokens("admin", clearance="secret")) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, status="proposed", **DEVIATING))
        initiative = created.json()
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
    explanation = await approve(suite, tokens, await ask(suite, tokens, cloud, initiative))
    assert explanation["needs_review"] is False and explanation["counts_until"] == NEXT_YEAR

    async with suite.client("principles", architect(tokens)) as client:
        revised = await patch(client, local(cloud["href"]), {"implications": "Also pseudonymised data stays home."})
        assert revised["revision"] == 2
        now = (await client.get(local(explanation["href"]))).json()
        deadline = (TODAY + dt.timedelta(days=90)).isoformat()
        assert now["needs_review"] is True and now["review_deadline"] == deadline
        assert now["valid"] is True and now["counts_until"] == deadline
        about = {"subject": initiative["href"]}
        listed = {
            flag: [
                e["href"]
                for e in (await client.get("/v1/explanations", params={**about, "needs_review": flag})).json()["items"]
            ]
            for flag in ("true", "false")
        }
        assert listed == {"true": [explanation["href"]], "false": []}
        events = (await client.get("/v1/changes", params={"subject": explanation["href"]})).json()["items"]
        assert events[-1]["changes"]["review_deadline"] == [None, deadline]
        # A wording change that is not normative asks nothing.
        await patch(client, local(cloud["href"]), {"title": "Cloud first (herzien)"})

    async with suite.client("principles", architect(tokens, sub="arch-asks")) as requester:
        own = await requester.post(f"{local(explanation['href'])}/confirm", json={"note": "Still holds."})
        assert own.status_code == 403  # four eyes
    async with suite.client("principles", architect(tokens, sub="arch-third")) as other:
        confirmed = await other.post(f"{local(explanation['href'])}/confirm", json={"note": "Still holds."})
        assert confirmed.status_code == 200, confirmed.text
        body = confirmed.json()
        assert body["needs_review"] is False and body["principle_revision"] == 2 and body["counts_until"] == NEXT_YEAR
        again = await other.post(f"{local(explanation['href'])}/confirm", json={"note": "Again."})
        assert again.status_code == 409

    # Not confirmed in time, it stops counting at its deadline.
    async with suite.apps["principles"].state.db.session(write=True) as session:
        await session.execute(
            update(Explanation)
            .where(Explanation.id == explanation["id"])
            .values(review_deadline=TODAY - dt.timedelta(days=1), needs_review_since=dt.datetime.now(dt.UTC))
        )
    async with suite.client("principles", architect(tokens)) as client:
        assert (await client.get(local(explanation["href"]))).json()["valid"] is False
        check = await client.post(
            "/v1/compliance-checks", json={"subject": {"href": initiative["href"]}, "facts": initiative}
        )
        assert check.status_code == 200, check.text
        assert [d["code"] for d in check.json()["open_deviations"]] == [cloud["code"]]


async def test_a_check_is_for_those_who_evaluate_and_shows_only_what_they_may_see(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", tokens("admin", clearance="secret")) as portfolio:
        secret = (
            await portfolio.post(
                "/v1/initiatives",
                json=initiative_body(chain, status="proposed", hosting="public_cloud", data_classification="secret"),
            )
        ).json()
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
    explanation = await approve(suite, tokens, await ask(suite, tokens, cloud, secret))
    body = {"subject": {"href": secret["href"]}, "facts": secret}
    async with suite.client("principles", tokens("reader")) as reader:
        assert (await reader.post("/v1/compliance-checks", json=body)).status_code == 403
    async with suite.client("principles", tokens("portfolio_manager", clearance="secret")) as cleared:
        seen = (await cleared.post("/v1/compliance-checks", json=body)).json()
        assert seen["complies_or_explained"] is True
        assert seen["principles"][0]["explanation"] == {"href": explanation["href"]}
    async with suite.client("principles", tokens("portfolio_manager", clearance="internal")) as uncleared:
        hidden = (await uncleared.post("/v1/compliance-checks", json=body)).json()
        # The explanation does not exist for them: they learn nothing about it, only the rule's verdict.
        assert hidden["complies_or_explained"] is False and hidden["principles"][0]["explanation"] is None
        assert explanation["href"] not in str(hidden)
    async with suite.client("principles", tokens("portfolio_manager")) as client:
        nothing = await client.post("/v1/compliance-checks", json={"facts": {}})
        assert nothing.status_code == 422
        new = await client.post("/v1/compliance-checks", json={"kind": "initiative", "facts": {**DEVIATING}})
        assert new.status_code == 200 and new.json()["complies_or_explained"] is False


async def test_the_money_is_judged_as_it_will_be_stored(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("principles", architect(tokens)) as client:
        budget = await make_principle(client, rule="subject.budget_eur <= 500000", category="finance_control")
    base = initiative_body(chain, status="approved", start="2026-01-01", end="2027-12-31")
    base.pop("budget_eur")
    async with suite.client("portfolio", tokens("portfolio_manager", sub="pm-money", clearance="secret")) as pf:
        too_much = [{"year": 2026, "budget_eur": 300_000}, {"year": 2027, "budget_eur": 300_000}]
        refused = await pf.post("/v1/initiatives", json={**base, "budget_per_year": too_much})
        assert refused.status_code == 409, refused.text
        assert refused.json()["open_deviations"][0]["code"] == budget["code"]
        enough = [{"year": 2026, "budget_eur": 200_000}, {"year": 2027, "budget_eur": 200_000}]
        created = await pf.post("/v1/initiatives", json={**base, "status": "proposed", "budget_per_year": too_much})
        assert created.status_code == 201, created.text
        url = f"/v1/initiatives/{created.json()['id']}"
        # Lowered in the change that approves it: judged on the new total, not the stored one.
        approved = await pf.patch(
            url, json={"status": "approved", "budget_per_year": enough}, headers={"If-Match": '"1"'}
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["budget_eur"] == 400_000
