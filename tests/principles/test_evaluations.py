"""Evaluations: subjects read by reference, one assessment per applicable active rule, pinned to the
principle's revision, the facts' SHA-256 kept; errors are outcomes; need to know holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.principles.assessments.models import Assessment
from tests.conftest import Suite
from tests.principles.helpers import (
    all_pages,
    architect,
    digest,
    evaluate,
    local,
    make_chain,
    make_initiative,
    make_principle,
    make_programme,
    of_principle,
    patch,
)
from tests.support import Tokens


async def test_one_subject_is_judged_by_every_active_applicable_rule(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens, code="TKEEP1")
    other = await make_chain(suite, tokens, code="XKEEP1")
    async with suite.client("principles", architect(tokens, sub="arch-eval")) as client:
        starts_t = await make_principle(client, applies_to=["chain"], rule="subject.code.startsWith('T')")
        owned = await make_principle(client, applies_to=["chain"], rule="subject.owner.unit == 'Eenheid Rotterdam'")
        manual = await make_principle(client, applies_to=["chain"])
        draft = await make_principle(client, applies_to=["chain"], rule="false", status="draft")
        retired = await make_principle(client, applies_to=["chain"], rule="false")
        await patch(client, local(retired["href"]), {"status": "retired"})
        not_for_chains = await make_principle(client, applies_to=["initiative"], rule="false")

        response = await client.post("/v1/evaluations", json={"subject": {"href": chain["href"]}})
        assert response.status_code == 201, response.text
        evaluation = response.json()
        assert response.headers["location"] == evaluation["href"]
        assert response.headers["etag"] == '"1"'
        assert evaluation["scope"] == "resource" and evaluation["subject_kind"] == "chain"
        assert evaluation["trigger"] == "request" and evaluation["requested_by"] == "arch-eval"
        assert evaluation["subjects"] == 1
        assert {"href": manual["href"]} in evaluation["manual_principles"]

        mine = {a["principle"]["href"]: a for a in evaluation["assessments"]}
        assert mine[starts_t["href"]]["outcome"] == "complies"
        assert mine[owned["href"]]["outcome"] == "complies"
        for skipped in (manual, draft, retired, not_for_chains):
            assert skipped["href"] not in mine
        for assessment in mine.values():
            assert assessment["subject"] == {"href": chain["href"]}
            assert assessment["source"] == "rule" and assessment["assessed_by"] == "arch-eval"
            assert assessment["evaluation"] == {"href": evaluation["href"]}
            assert assessment["principle_revision"] == 1
        # The facts are not kept, only the SHA-256 of the chain as its owner served it.
        async with suite.client("valuechains", tokens("reader")) as vc:
            served = (await vc.get(f"/v1/chains/{chain['id']}")).json()
        assert mine[starts_t["href"]]["facts_sha256"] == digest(served)

        judged_other = await evaluate(client, other["href"])
        assert of_principle(judged_other["assessments"], starts_t)[0]["outcome"] == "deviates"
        assert judged_other["summary"]["deviates"] >= 1

        again = await client.get(local(evaluation["href"]))
        assert again.status_code == 200 and again.json() == evaluation
        listed = await client.get("/v1/evaluations", params={"id": evaluation["id"]})
        assert listed.json()["items"][0]["assessments"] is None
        assert listed.json()["items"][0]["summary"] == evaluation["summary"]


async def test_a_collection_is_paged_through_its_owner(suite: Suite, tokens: Tokens) -> None:
    owner = {"subject": "u-owner-coll", "name": "Owner (test)", "unit": "Dienst IV"}
    made = [await make_programme(suite, tokens, name=f"Programma {i}", owner=owner) for i in range(105)]
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["programme"], rule="subject.name != 'Programma 3'")
        requests_before = len(suite.transport.requests)
        evaluation = await evaluate(client, "/portfolio/v1/programmes?owner_subject=u-owner-coll")
        pages = [r for r in suite.transport.requests[requests_before:] if r.url.path == "/v1/programmes"]
        assert len(pages) == 2  # 100 + 5, following the owner's `next`
        assert all("owner_subject=u-owner-coll" in str(r.url) for r in pages)
        assert evaluation["scope"] == "collection" and evaluation["subjects"] == 105

        # For a collection, the answer shows what did not comply; all_assessments lists everything.
        shown = of_principle(evaluation["assessments"], principle)
        assert [(a["subject"]["href"], a["outcome"]) for a in shown] == [(made[3]["href"], "deviates")]
        assert evaluation["all_assessments"] == f"/principles/v1/assessments?evaluation={evaluation['id']}"
        everything = of_principle(await all_pages(client, local(evaluation["all_assessments"])), principle)
        assert sorted(a["subject"]["href"] for a in everything) == sorted(p["href"] for p in made)
        assert evaluation["summary"]["total"] >= 105 and evaluation["summary"]["deviates"] >= 1


async def test_a_rule_that_errors_on_a_subject_gives_the_outcome_error(suite: Suite, tokens: Tokens) -> None:
    fine = await make_programme(suite, tokens, name="Vernieuwend Registreren")
    tiny = await make_programme(suite, tokens, name="abc")  # the rule divides by zero on this one
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(
            client, applies_to=["programme"], rule="subject.ambition.size() / (subject.name.size() - 3) >= 0"
        )
        judged_fine = await evaluate(client, fine["href"])
        assert of_principle(judged_fine["assessments"], principle)[0]["outcome"] == "complies"
        response = await client.post("/v1/evaluations", json={"subject": {"href": tiny["href"]}})
        assert response.status_code == 201
        [error] = of_principle(response.json()["assessments"], principle)
        assert error["outcome"] == "error" and "division by zero" in error["note"]
        assert response.json()["summary"]["error"] >= 1


async def test_assessments_stay_pinned_to_the_revision_they_judged(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["chain"], rule="subject.code.size() > 3")
        first = of_principle((await evaluate(client, chain["href"]))["assessments"], principle)[0]
        assert first["principle_revision"] == 1

        revised = await patch(client, local(principle["href"]), {"statement": "Codes are long and clear."})
        assert revised["revision"] == 2
        second = of_principle((await evaluate(client, chain["href"]))["assessments"], principle)[0]
        assert second["principle_revision"] == 2

        old = (await client.get(local(first["href"]))).json()
        assert old["principle_revision"] == 1 and old == first
        then = (await client.get(f"{local(principle['href'])}/versions/{old['principle_revision']}")).json()
        assert then["statement"] == principle["statement"] != revised["statement"]

        latest = await client.get("/v1/assessments", params={"principle": principle["href"], "latest": "true"})
        assert [a["id"] for a in latest.json()["items"]] == [second["id"]]
        every = await client.get("/v1/assessments", params={"principle": principle["id"]})
        assert [a["id"] for a in every.json()["items"]] == [first["id"], second["id"]]


async def test_filters_on_assessments(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens, code="TFILTER1")
    async with suite.client("principles", architect(tokens)) as client:
        yes = await make_principle(client, applies_to=["chain"], rule="true")
        no = await make_principle(client, applies_to=["chain"], rule="false")
        await evaluate(client, chain["href"])
        params: dict[str, Any] = {"subject": chain["href"], "outcome": "deviates", "source": "rule"}
        found = (await client.get("/v1/assessments", params=params)).json()["items"]
        assert no["href"] in {a["principle"]["href"] for a in found}
        assert yes["href"] not in {a["principle"]["href"] for a in found}
        kind = await client.get("/v1/assessments", params={"subject_kind": "programme", "subject": chain["href"]})
        assert kind.json()["items"] == []
        bad = await client.get("/v1/assessments", params={"outcome": "maybe"})
        assert bad.status_code == 422


async def test_who_may_evaluate_and_what_is_not_a_subject(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    for role in ("reader", "contributor"):
        async with suite.client("principles", tokens(role)) as client:
            denied = await client.post("/v1/evaluations", json={"subject": {"href": chain["href"]}})
            assert denied.status_code == 403
    for role in ("portfolio_manager", "chain_owner", "admin"):
        async with suite.client("principles", tokens(role)) as client:
            await evaluate(client, chain["href"])
    async with suite.client("principles", architect(tokens)) as client:
        for href, fragment in [
            ("/valuechains/v1/chains/019a9999-0000-7000-8000-000000000000", "no such resource"),
            ("/principles/v1/principles", "do not judge"),
            ("https://example.org/x", "not an href"),
            (f"{chain['href']}?status=active", "no query string"),
        ]:
            response = await client.post("/v1/evaluations", json={"subject": {"href": href}})
            assert response.status_code == 422, href
            assert fragment in response.json()["errors"][0]["msg"]
            assert response.json()["errors"][0]["loc"] == ["body", "subject", "href"]
        unknown_filter = await client.post(
            "/v1/evaluations", json={"subject": {"href": "/portfolio/v1/programmes?status=sleeping"}}
        )
        assert unknown_filter.status_code == 422


async def test_nothing_is_recorded_when_the_owner_is_unreachable(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("principles", architect(tokens)) as client:
        await make_principle(client, applies_to=["chain"], rule="true")
        db = suite.apps["principles"].state.db
        async with db.session(write=False) as session:
            before = await session.scalar(select(func.count()).select_from(Assessment))
        suite.transport.down.add("valuechains.test")
        try:
            response = await client.post("/v1/evaluations", json={"subject": {"href": chain["href"]}})
        finally:
            suite.transport.down.discard("valuechains.test")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        async with db.session(write=False) as session:
            assert await session.scalar(select(func.count()).select_from(Assessment)) == before


async def test_need_to_know_holds_for_assessments_and_evaluations(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    secret = await make_initiative(suite, tokens, chain, data_classification="secret", hosting="public_cloud")
    async with suite.client("principles", architect(tokens, clearance="secret")) as client:
        principle = await make_principle(client, rule="subject.hosting == 'own_platform'")
        evaluation = await evaluate(client, secret["href"])
        [assessment] = of_principle(evaluation["assessments"], principle)
        assert assessment["data_classification"] == "secret"

    # Someone without the clearance cannot see the initiative, nor anything said about it.
    async with suite.client("principles", architect(tokens, sub="arch-low", clearance="confidential")) as client:
        assert (await client.get(local(assessment["href"]))).status_code == 404
        assert (await client.get(local(evaluation["href"]))).status_code == 404
        listed = await client.get("/v1/assessments", params={"subject": secret["href"]})
        assert listed.json()["items"] == []
        batch = await client.get("/v1/assessments", params={"id": assessment["id"]})
        assert batch.json()["items"] == []
        feed = (await client.get("/v1/changes", params={"subject": assessment["href"]})).json()["items"]
        assert feed == []
        denied = await client.post("/v1/evaluations", json={"subject": {"href": secret["href"]}})
        assert denied.status_code == 422  # it does not exist for them
        report = (await client.get("/v1/reports/compliance", params={"group_by": "subject"})).json()
        assert secret["href"] not in {g["key"] for g in report["groups"]}
    async with suite.client("principles", tokens("reader", clearance="secret")) as client:
        assert (await client.get(local(assessment["href"]))).status_code == 200
