"""The foundation report names, for each application past support or with open critical findings,
the initiatives that renew, replace or retire it (asked of the portfolio, which keeps the link), and
flags those nobody addresses; with the portfolio down the addressing is unknown, not "unaddressed"."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import Suite
from tests.portfolio.helpers import created, initiative_body, pm
from tests.support import Tokens
from tests.valuechains.helpers import findings, make_application, make_chain

AS_OF = "2026-06-15"


async def world(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    """One chain: old (past support), leaky (critical findings), secret (past support, classified),
    fine (neither). Initiatives: one retires old, a secret one renews old, a stopped one replaces
    leaky, one retires fine."""
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as admin:
        chain = await make_chain(admin)
        apps = {
            "old": await make_application(admin, chain, name="Oud", supported_until="2026-01-31"),
            "leaky": await make_application(admin, chain, name="Lek", findings=findings(critical=3)),
            "secret": await make_application(
                admin, chain, name="Geheim", supported_until="2025-12-31", data_classification="secret"
            ),
            "fine": await make_application(admin, chain, name="Goed"),
        }

    def naming(key: str, effect: str) -> list[dict[str, Any]]:
        return [{"application": {"href": apps[key]["href"]}, "effect": effect}]

    async with suite.client("portfolio", pm(tokens)) as portfolio:
        href = chain["href"]
        retire = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(href, name="Uitfaseren Oud", applications=naming("old", "retires")),
        )
        hidden = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(
                href, name="Geheim vernieuwen", applications=naming("old", "renews"), data_classification="secret"
            ),
        )
        stopped = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(href, name="Gestopt", applications=naming("leaky", "replaces")),
        )
        answer = await portfolio.patch(
            f"/v1/initiatives/{stopped['id']}", json={"status": "stopped"}, headers={"If-Match": '"1"'}
        )
        assert answer.status_code == 200, answer.text
        await created(
            portfolio, "/v1/initiatives", initiative_body(href, name="Goed", applications=naming("fine", "retires"))
        )
    return {"chain": chain, "apps": apps, "retire": retire, "hidden": hidden}


async def foundation(client: httpx2.AsyncClient, chain: dict[str, Any]) -> dict[str, Any]:
    answer = await client.get("/v1/reports/foundation", params={"as_of": AS_OF, "chain": chain["id"]})
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in report["attention"]}


async def test_the_foundation_report_shows_who_addresses_each_application_that_needs_it(
    suite: Suite, tokens: Tokens
) -> None:
    w = await world(suite, tokens)
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as admin:
        report = await foundation(admin, w["chain"])
    shown = by_name(report)
    assert list(shown) == ["Geheim", "Lek", "Oud"]  # by chain and name; "Goed" needs nothing
    old = shown["Oud"]
    assert (old["application"], old["past_support"], old["open_critical_findings"], old["supported_until"]) == (
        {"href": w["apps"]["old"]["href"]},
        True,
        0,
        "2026-01-31",
    )
    assert old["addressed"] is True
    assert old["addressed_by"] == [
        {
            "initiative": {"href": w["hidden"]["href"]},
            "name": "Geheim vernieuwen",
            "effect": "renews",
            "status": "proposed",
        },
        {
            "initiative": {"href": w["retire"]["href"]},
            "name": "Uitfaseren Oud",
            "effect": "retires",
            "status": "proposed",
        },
    ]
    # The stopped initiative no longer addresses the leaky one: flagged.
    assert (shown["Lek"]["past_support"], shown["Lek"]["addressed_by"], shown["Lek"]["addressed"]) == (False, [], False)
    assert shown["Geheim"]["addressed"] is False
    assert report["unaddressed"] == 2 and report["incomplete"] == []


async def test_the_addressing_follows_need_to_know(suite: Suite, tokens: Tokens) -> None:
    w = await world(suite, tokens)
    async with suite.client("valuechains", tokens("reader", clearance="internal")) as reader:
        report = await foundation(reader, w["chain"])
    shown = by_name(report)
    # The secret application is not listed, and of the initiatives only those the reader may see.
    assert list(shown) == ["Lek", "Oud"]
    assert [i["name"] for i in shown["Oud"]["addressed_by"]] == ["Uitfaseren Oud"]
    assert report["unaddressed"] == 1
    assert report["coverage"]["details"]["left_out"] == 1  # the secret application


async def test_with_the_portfolio_down_the_addressing_is_unknown_not_unaddressed(suite: Suite, tokens: Tokens) -> None:
    w = await world(suite, tokens)
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as admin:
        whole = await foundation(admin, w["chain"])
        suite.transport.down.add("portfolio.test")
        try:
            report = await foundation(admin, w["chain"])
        finally:
            suite.transport.down.discard("portfolio.test")
    assert [a["name"] for a in report["attention"]] == ["Geheim", "Lek", "Oud"]
    assert all(a["addressed"] is None and a["addressed_by"] is None for a in report["attention"])
    assert report["unaddressed"] is None
    (reason,) = report["incomplete"]
    assert reason.startswith("addressing:") and "portfolio" in reason
    # Everything the valuechains service knows itself is the same.
    left = {k: v for k, v in report.items() if k not in ("attention", "unaddressed", "incomplete")}
    assert left == {k: v for k, v in whole.items() if k not in ("attention", "unaddressed", "incomplete")}


async def test_without_applications_that_need_it_the_portfolio_is_not_asked(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        await make_application(admin, chain, name="Goed")
        suite.transport.down.add("portfolio.test")
        try:
            report = await foundation(admin, chain)
        finally:
            suite.transport.down.discard("portfolio.test")
    assert (report["attention"], report["unaddressed"], report["incomplete"]) == ([], 0, [])
