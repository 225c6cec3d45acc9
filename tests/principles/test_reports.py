"""The compliance report against hand-computed figures."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import update

from services.chassis.dates import add_months
from services.principles.explanations.models import Explanation
from services.principles.follower.service import Follower
from tests.conftest import Suite
from tests.principles.helpers import (
    CLOUD_RULE,
    all_pages,
    architect,
    evaluate,
    local,
    make_chain,
    make_initiative,
    make_principle,
    patch,
)
from tests.support import Tokens

OUTCOMES = ("complies", "deviates", "explained", "not_applicable", "error", "total")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def counts(group: dict[str, Any] | None) -> dict[str, int]:
    return {o: (group or {}).get(o, 0) for o in OUTCOMES}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {o: after[o] - before[o] for o in OUTCOMES if after[o] != before[o]}


async def report(client: Any, group_by: str) -> dict[str, Any]:
    response = await client.get("/v1/reports/compliance", params={"group_by": group_by})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def explain(
    asker: Any, approver: Any, principle: dict[str, Any], subject: dict[str, Any], review_by: dt.date
) -> dict[str, Any]:
    body = {
        "principle": {"href": principle["href"]},
        "subject": {"href": subject["href"]},
        "reason": "Explained in advance (test).",
        "review_by": review_by.isoformat(),
    }
    asked = await asker.post("/v1/explanations", json=body)
    assert asked.status_code == 201, asked.text
    approved = await approver.post(f"{local(asked.json()['href'])}/approve", json={})
    assert approved.status_code == 200, approved.text
    result: dict[str, Any] = approved.json()
    return result


async def retire_all_active(suite: Suite, tokens: Tokens) -> None:
    """Retire every active principle, in this test's transaction only (it is rolled back)."""
    async with suite.client("principles", tokens("admin")) as admin:
        active = await all_pages(admin, "/v1/principles", {"status": "active"})
        for principle in active:
            await patch(admin, local(principle["href"]), {"status": "retired"})


async def test_compliance_report_matches_hand_computed_figures(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    a = await make_initiative(
        suite, tokens, chain, hosting="public_cloud", data_classification="confidential",
        budget_eur=2_000_000, start="2026-01-01", end="2026-12-31", status="active",
    )  # fmt: skip
    b = await make_initiative(suite, tokens, chain, budget_eur=1_000_000, status="active")
    e = await make_initiative(
        suite, tokens, chain, hosting="public_cloud", data_classification="secret",
        budget_eur=1_000_000, start="2027-01-01", end="2027-06-30", status="proposed",
    )  # fmt: skip
    first = architect(tokens, sub="arch-report-1")
    second = architect(tokens, sub="arch-report-2")
    async with suite.client("principles", first) as one, suite.client("principles", second) as two:
        await retire_all_active(suite, tokens)  # committed rows of other tests must not judge these subjects
        before = {g: await report(one, g) for g in ("category", "principle")}

        p1 = await make_principle(one, rule=CLOUD_RULE, category="renewal_innovation")
        p2 = await make_principle(one, rule="subject.budget_eur <= 1500000", category="finance_control")
        p3 = await make_principle(one, category="craftsmanship_organisation")  # no rule: assessed by hand
        for subject in (a, b, e, a):  # a twice: only the latest assessment per principle and subject counts
            await evaluate(one, subject["href"])

        x1 = await explain(one, two, p1, a, today() + dt.timedelta(days=300))  # valid; a was active already
        x2 = await explain(one, two, p2, a, today() + dt.timedelta(days=300))  # about to expire below
        x3 = await explain(two, one, p1, e, today() + dt.timedelta(days=30))  # valid, expiring; e starts later
        async with suite.apps["principles"].state.db.session(write=True) as session:
            await session.execute(
                update(Explanation).where(Explanation.id == x2["id"]).values(review_by=today() - dt.timedelta(days=1))
            )

        manual = [(a, "deviates"), (b, "not_applicable"), (b, "complies")]  # b's latest: complies
        for subject, outcome in manual:
            body = {
                "principle": {"href": p3["href"]},
                "subject": {"href": subject["href"]},
                "outcome": outcome,
                "note": "Judged by hand (test).",
            }
            assert (await one.post("/v1/assessments", json=body)).status_code == 201

        for subject, phase, on in [
            (a, "start", today()),
            (a, "execution", today() - dt.timedelta(days=30)),
            (b, "execution", add_months(today(), -7)),
        ]:
            review = {
                "subject": {"href": subject["href"]},
                "phase": phase,
                "scores": {
                    "needed_now": 4,
                    "generic_facilities": 4,
                    "new_technologies": 4,
                    "integrations": 4,
                    "one_page": 4,
                },
                "reviewed_on": on.isoformat(),
            }
            assert (await one.post("/v1/simplicity-reviews", json=review)).status_code == 201

        # The follower learns from the portfolio's feed when each subject became active: a was created
        # active before any explanation was approved (late), e is only proposed (undecided).
        await Follower(suite.apps["principles"], owner="report-milestones").scan_milestones("portfolio")

        by_principle = await report(one, "principle")
        groups = {g["key"]: g for g in by_principle["groups"]}
        #                 a           b         e
        # p1 (cloud)      explained   complies  explained
        # p2 (budget)     deviates*   complies  complies     * explained until x2's review_by passed
        # p3 (by hand)    deviates    complies  -
        assert counts(groups[p1["href"]]) == {**counts(None), "complies": 1, "explained": 2, "total": 3}
        assert counts(groups[p2["href"]]) == {**counts(None), "complies": 2, "deviates": 1, "total": 3}
        assert counts(groups[p3["href"]]) == {**counts(None), "complies": 1, "deviates": 1, "total": 2}
        assert groups[p1["href"]]["label"] == f"{p1['code']} {p1['title']}"
        assert delta(counts(by_principle["totals"]), counts(before["principle"]["totals"])) == {
            "complies": 4,
            "deviates": 2,
            "explained": 2,
            "total": 8,
        }

        by_category = await report(one, "category")
        old = {g["key"]: counts(g) for g in before["category"]["groups"]}
        new = {g["key"]: counts(g) for g in by_category["groups"]}
        assert delta(new["renewal_innovation"], old.get("renewal_innovation", counts(None))) == {
            "complies": 1,
            "explained": 2,
            "total": 3,
        }
        assert delta(new["finance_control"], old.get("finance_control", counts(None))) == {
            "complies": 2,
            "deviates": 1,
            "total": 3,
        }
        assert delta(new["craftsmanship_organisation"], old.get("craftsmanship_organisation", counts(None))) == {
            "complies": 1,
            "deviates": 1,
            "total": 2,
        }
        assert by_category["totals"] == by_principle["totals"]

        mine = {p1["href"], p2["href"], p3["href"]}
        open_deviations = {
            (d["principle"]["href"], d["subject"]["href"])
            for d in by_principle["open_deviations"]
            if d["principle"]["href"] in mine
        }
        assert open_deviations == {(p2["href"], a["href"]), (p3["href"], a["href"])}

        def ids(items: list[dict[str, Any]]) -> set[str]:
            return {i["explanation"]["href"] for i in items} & {x1["href"], x2["href"], x3["href"]}

        assert ids(by_principle["expired_explanations"]) == {x2["href"]}
        assert ids(by_principle["expiring_explanations"]) == {x3["href"]}
        assert ids(by_principle["late_explanations"]) == {x1["href"], x2["href"]}
        late = next(i for i in by_principle["late_explanations"] if i["explanation"]["href"] == x1["href"])
        assert late["subject_active_since"] <= x1["approved_at"] and late["principle_code"] == p1["code"]
        x3_now = (await one.get(local(x3["href"]))).json()
        assert x3_now["late"] is None  # e never became active: not decided

        missing = {m["initiative"]["href"]: m for m in by_principle["missing_reviews"]}
        assert a["href"] not in missing  # a start review, and an execution review 30 days ago
        assert e["href"] not in missing  # not active
        assert missing[b["href"]]["missing"] == ["start", "execution"]
        assert missing[b["href"]]["last_execution_review"] == add_months(today(), -7).isoformat()
        assert by_principle["incomplete"] == []

        by_subject = await report(one, "subject")
        subject_groups = {g["key"]: g for g in by_subject["groups"]}
        latest_for_a = (
            await one.get("/v1/assessments", params={"subject": a["href"], "latest": "true", "limit": 100})
        ).json()["items"]
        assert subject_groups[a["href"]]["total"] == len(latest_for_a)
        mine_for_a = Counter(x["outcome"] for x in latest_for_a if x["principle"]["href"] in mine)
        # Recorded outcomes: p1 explained, p2 explained (x2 valid when it was approved), p3 deviates.
        assert mine_for_a == Counter({"explained": 2, "deviates": 1})

        # A caller who may not see the portfolio still gets the rest, and is told what is missing.
        suite.transport.down.add("portfolio.test")
        try:
            partial = await report(one, "principle")
        finally:
            suite.transport.down.discard("portfolio.test")
        assert partial["groups"] == by_principle["groups"]
        # Lateness was decided and kept here: it needs nothing from the portfolio.
        assert partial["missing_reviews"] == [] and partial["late_explanations"] == by_principle["late_explanations"]
        assert len(partial["incomplete"]) == 1 and partial["incomplete"][0].startswith("missing_reviews")


async def test_report_rejects_unknown_grouping(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", tokens("reader")) as client:
        assert (await client.get("/v1/reports/compliance", params={"group_by": "colour"})).status_code == 422


def test_six_months_back_keeps_to_real_dates() -> None:
    assert add_months(dt.date(2026, 8, 31), -6) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 3, 15), -6) == dt.date(2025, 9, 15)


async def test_compliance_by_chain_counts_every_assessment_in_its_subjects_chain_whoever_asks(
    suite: Suite, tokens: Tokens
) -> None:
    north, south = await make_chain(suite, tokens), await make_chain(suite, tokens)
    n1 = await make_initiative(suite, tokens, north, budget_eur=2_000_000)
    n2 = await make_initiative(suite, tokens, north, budget_eur=1_000_000)
    hidden = await make_initiative(suite, tokens, south, budget_eur=2_000_000, data_classification="secret")
    async with suite.client("principles", architect(tokens, sub="arch-heat")) as cleared:
        principle = await make_principle(cleared, rule="subject.budget_eur <= 1500000")
        for subject in (n1, n2, hidden):
            await evaluate(cleared, subject["href"])
        seen = (await cleared.get("/v1/reports/compliance/chains")).json()
    async with suite.client("principles", tokens("reader")) as reader:
        answer = await reader.get("/v1/reports/compliance/chains")
        unseen = answer.json()
        csv = await reader.get("/v1/reports/compliance/chains", headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert csv.status_code == 200 and north["href"] in csv.text

    def row(report: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = next(r for r in report["principles"] if r["principle"]["href"] == principle["href"])
        return found

    expected = {
        north["href"]: counts({"complies": 1, "deviates": 1, "total": 2}),
        south["href"]: counts({"deviates": 1, "total": 1}),
    }
    # The same counts whoever asks: the secret initiative's assessment counts in its chain for the reader too.
    for report in (seen, unseen):
        assert {c["chain"]["href"]: counts(c) for c in row(report)["chains"]} == expected
        assert counts(row(report)["not_placed"]) == counts({})
        assert counts(row(report)["totals"]) == counts({"complies": 1, "deviates": 2, "total": 3})
    assert unseen["coverage"]["basis"] == "all"
    assert unseen["coverage"]["not_visible"] >= seen["coverage"]["not_visible"] + 1
