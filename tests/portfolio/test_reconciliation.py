"""The reconciliation of a year's money with the chain owners' allocations, checked against figures
computed by hand. The year is 2033: no other test has money or allocations then."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.portfolio.settings import PortfolioSettings
from tests.conftest import Suite
from tests.portfolio.helpers import created, initiative_body, make_chain, pm
from tests.support import Tokens

YEAR = 2033


async def allocate(
    suite: Suite, tokens: Tokens, chain: str, period: str, split: tuple[int, int, int], budget: int
) -> Any:
    maintenance, security, renewal = split
    body = {
        "maintenance": maintenance,
        "security": security,
        "renewal": renewal,
        "budget_eur": budget,
        "rationale": "The owner's weighing.",
    }
    async with suite.client("valuechains", tokens("admin")) as admin:
        response = await admin.put(f"{chain.removeprefix('/valuechains')}/allocations/{period}", json=body)
        assert response.status_code == 201, response.text
        return response.json()


async def world(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    """Chain a: a year's allocation (and a quarter's, which the year's overrides) and money close to it;
    b: two halves and money far from them; c: an allocation and no money; d: money and no allocation."""
    a, b, c, d = [await make_chain(suite, tokens, name) for name in "abcd"]
    found: dict[str, Any] = {"a": a, "b": b, "c": c, "d": d}
    found["a_year"] = await allocate(suite, tokens, a, f"{YEAR}", (50, 10, 40), 10_000_000)
    await allocate(suite, tokens, a, f"{YEAR}-Q1", (90, 5, 5), 2_000_000)
    found["b_h1"] = await allocate(suite, tokens, b, f"{YEAR}-H1", (80, 10, 10), 3_000_000)
    found["b_h2"] = await allocate(suite, tokens, b, f"{YEAR}-H2", (60, 20, 20), 1_000_000)
    await allocate(suite, tokens, c, f"{YEAR}", (70, 20, 10), 6_000_000)
    await allocate(suite, tokens, d, f"{YEAR + 1}", (70, 20, 10), 6_000_000)  # another year: not this one's

    async with suite.client("portfolio", pm(tokens)) as client:

        async def money(chain: str, kind: str, amount: int, **extra: Any) -> None:
            body = initiative_body(
                chain, kind=kind, budget_eur=amount, start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", **extra
            )
            await created(client, "/v1/initiatives", body)

        for chain, amounts in ((a, (480_000, 100_000, 420_000)), (b, (200_000, 100_000, 200_000))):
            for kind, amount in zip(("maintenance", "security", "renewal"), amounts, strict=True):
                await money(chain, kind, amount)
        await money(d, "maintenance", 300_000)
        await money(a, "renewal", 1_000_000, data_classification="secret")
    return found


def line(report: dict[str, Any], chain: str) -> dict[str, Any]:
    [found] = [c for c in report["chains"] if c["value_chain"]["href"] == chain]
    return found


async def test_reconciliation_of_a_year(suite: Suite, tokens: Tokens) -> None:
    w = await world(suite, tokens)
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        response = await reader.get("/v1/reports/reconciliation", params={"year": YEAR})
        assert response.status_code == 200, response.text
        report = response.json()
    assert (report["year"], report["threshold_points"]) == (YEAR, 5.0)
    assert report["counted_statuses"] == ["proposed", "approved", "active", "delivered"]
    mine = {w[k] for k in "abcd"}
    assert {c["value_chain"]["href"] for c in report["chains"]} >= mine

    # a: the year's allocation (not the quarter's), 50/10/40 of 10M; money 480k/100k/420k of 1M (the
    # secret renewal left out): 48/10/42, two points apart at most, within the threshold of 5.
    assert line(report, w["a"]) == {
        "value_chain": {"href": w["a"]},
        "status": "compared",
        "allocation": {
            "allocations": [{"allocation": {"href": w["a_year"]["href"]}, "period": f"{YEAR}"}],
            "budget_eur": 10_000_000,
            "shares": {"maintenance": 50.0, "security": 10.0, "renewal": 40.0},
            "ratio": {"run": 60.0, "renewal": 40.0},
        },
        "portfolio": {
            "total_budget_eur": 1_000_000,
            "budget_eur": {"maintenance": 480_000, "security": 100_000, "renewal": 420_000},
            "shares": {"maintenance": 48.0, "security": 10.0, "renewal": 42.0},
            "ratio": {"run": 58.0, "renewal": 42.0},
        },
        "difference": {
            "points": {"maintenance": -2.0, "security": 0.0, "renewal": 2.0, "run": -2.0},
            "largest_points": 2.0,
            "budget_eur": -9_000_000,
        },
        "flagged": False,
    }
    # b: the halves combined by budget: (3M x 80 + 1M x 60) / 4M = 75, (30 + 20) / 4 = 12.5 twice. Money
    # 40/20/40: 35 points less maintenance, flagged.
    b = line(report, w["b"])
    assert b["allocation"] == {
        "allocations": [
            {"allocation": {"href": w["b_h1"]["href"]}, "period": f"{YEAR}-H1"},
            {"allocation": {"href": w["b_h2"]["href"]}, "period": f"{YEAR}-H2"},
        ],
        "budget_eur": 4_000_000,
        "shares": {"maintenance": 75.0, "security": 12.5, "renewal": 12.5},
        "ratio": {"run": 87.5, "renewal": 12.5},
    }
    assert b["difference"] == {
        "points": {"maintenance": -35.0, "security": 7.5, "renewal": 27.5, "run": -27.5},
        "largest_points": 35.0,
        "budget_eur": -3_500_000,
    }
    assert b["status"] == "compared" and b["flagged"] is True
    # c: an allocation and no money; d: money and no allocation (its allocation is for another year).
    c, d = line(report, w["c"]), line(report, w["d"])
    assert (c["status"], c["portfolio"], c["difference"], c["flagged"]) == ("no_portfolio_money", None, None, False)
    assert c["allocation"]["shares"] == {"maintenance": 70.0, "security": 20.0, "renewal": 10.0}
    assert (d["status"], d["allocation"], d["difference"], d["flagged"]) == ("no_allocation", None, None, False)
    assert d["portfolio"]["budget_eur"] == {"maintenance": 300_000, "security": 0, "renewal": 0}
    assert report["flagged_chains"] == sum(1 for line_ in report["chains"] if line_["flagged"])

    # Overall: every allocation of the year, 20M: maintenance (10 x 50 + 3 x 80 + 1 x 60 + 6 x 70) / 20 =
    # 61.0, security 13.5, renewal 25.5. All the money: m 980k, s 200k, r 620k of 1.8M: 54.44, 11.11,
    # 34.44, the spare tenth to maintenance (tied with renewal, first). 8.9 points more renewal.
    overall = report["overall"]
    assert overall["allocation"] == {
        "budget_eur": 20_000_000,
        "shares": {"maintenance": 61.0, "security": 13.5, "renewal": 25.5},
        "ratio": {"run": 74.5, "renewal": 25.5},
    }
    assert overall["portfolio"]["shares"] == {"maintenance": 54.5, "security": 11.1, "renewal": 34.4}
    assert overall["difference"] == {
        "points": {"maintenance": -6.5, "security": -2.4, "renewal": 8.9, "run": -8.9},
        "largest_points": 8.9,
        "budget_eur": -18_200_000,
    }
    assert overall["flagged"] is True
    # Eight initiatives have money in the year; the reader may see seven.
    assert report["coverage"] == {"basis": "visible", "counted": 7, "left_out": 1, "not_visible": 0}


async def test_a_cleared_caller_sees_the_money_the_reader_may_not(suite: Suite, tokens: Tokens) -> None:
    w = await world(suite, tokens)
    async with suite.client("portfolio", tokens("admin", clearance="secret")) as admin:
        report = (await admin.get("/v1/reports/reconciliation", params={"year": YEAR})).json()
    # a with the secret 1M renewal: 480k/100k/1.42M of 2M, 24/5/71: 31 points more renewal, flagged.
    a = line(report, w["a"])
    assert a["portfolio"]["shares"] == {"maintenance": 24.0, "security": 5.0, "renewal": 71.0}
    assert a["difference"]["points"] == {"maintenance": -26.0, "security": -5.0, "renewal": 31.0, "run": -31.0}
    assert a["flagged"] is True
    assert report["coverage"] == {"basis": "visible", "counted": 8, "left_out": 0, "not_visible": 0}


async def test_the_threshold_is_a_setting(suite: Suite, tokens: Tokens) -> None:
    w = await world(suite, tokens)
    app = suite.apps["portfolio"]
    settings = app.state.settings
    assert isinstance(settings, PortfolioSettings) and settings.reconciliation_threshold_points == Decimal(5)
    app.state.settings = settings.model_copy(update={"reconciliation_threshold_points": Decimal("35.0")})
    try:
        async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
            report = (await reader.get("/v1/reports/reconciliation", params={"year": YEAR})).json()
    finally:
        app.state.settings = settings
    assert report["threshold_points"] == 35.0
    assert line(report, w["b"])["flagged"] is False  # 35 points is not more than 35
    assert report["overall"]["flagged"] is False


async def test_without_valuechains_it_is_503_and_bad_years_422(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", tokens("reader")) as reader:
        assert (await reader.get("/v1/reports/reconciliation")).status_code == 422
        bad = await reader.get("/v1/reports/reconciliation", params={"year": "next"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "year"]
        suite.transport.down.add("valuechains.test")
        down = await reader.get("/v1/reports/reconciliation", params={"year": YEAR})
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert "valuechains" in down.json()["detail"]
