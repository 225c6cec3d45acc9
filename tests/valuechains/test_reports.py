"""Staffing and allocation reports against hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.valuechains.app import create_app
from services.valuechains.reports.service import shares_in_tenths
from services.valuechains.settings import ValuechainsSettings
from tests.conftest import Suite
from tests.support import Tokens, settings_for
from tests.valuechains.helpers import make_chain, make_team, split


async def staffing_fixture(admin: Any) -> dict[str, dict[str, Any]]:
    """A: 3 teams (one archived), B: 2 teams (hired and partner), C: none, E: exactly 30% external, D: archived
    chain."""
    chains = {name: await make_chain(admin) for name in "ABCDE"}
    a, b, d, e = chains["A"], chains["B"], chains["D"], chains["E"]
    await make_team(admin, a, fte_internal=4, fte_hired=1.5)
    await make_team(admin, a, fte_internal=3.5, fte_hired=0.5)
    gone = await make_team(admin, a, fte_internal=2, fte_hired=10)
    assert (await admin.delete(f"/v1/teams/{gone['id']}")).status_code == 200
    await make_team(admin, b, fte_internal=2.5, fte_hired=0.5, fte_partner=1)
    await make_team(admin, b, fte_internal=1, fte_hired=0.5)
    await make_team(admin, d, fte_internal=1, fte_hired=9)
    # D keeps its active team: archived only with force and a reason.
    kept = await admin.delete(f"/v1/chains/{d['id']}")
    assert kept.status_code == 409, kept.text
    forced = await admin.delete(f"/v1/chains/{d['id']}", params={"force": "true", "reason": "merged into B"})
    assert forced.status_code == 200, forced.text
    await make_team(admin, e, fte_internal=7, fte_hired=3)
    return chains


def rows_by_code(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in report["chains"]}


async def test_staffing_report_matches_hand_computed_numbers(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = await staffing_fixture(admin)
    async with suite.client("valuechains", tokens("reader")) as reader:
        response = await reader.get("/v1/reports/staffing", params=[("chain", c["href"]) for c in chains.values()])
        assert response.status_code == 200, response.text
        report = response.json()
    assert report["default_limit"] == 30.0
    rows = rows_by_code(report)
    code = {name: c["code"] for name, c in chains.items()}
    assert code["D"] not in rows  # archived chain left out, even when asked for
    # ... but its team does not drop out silently: it is shown beside the totals.
    assert report["on_archived_chains"] == {
        "chains": 1,
        "teams": 1,
        "fte_internal": 1.0,
        "fte_hired": 9.0,
        "fte_partner": 0.0,
        "fte_external": 9.0,
        "fte_total": 10.0,
    }
    assert [r["code"] for r in report["chains"]] == sorted(rows)
    assert rows[code["A"]] == {
        "chain": {"href": chains["A"]["href"]},
        "code": code["A"],
        "name": "Testketen",
        "teams": 2,  # the archived team does not count
        "fte_internal": 7.5,
        "fte_hired": 2.0,
        "fte_partner": 0.0,
        "fte_external": 2.0,
        "fte_total": 9.5,
        "external_share": 21.1,  # 2 / 9.5 = 21.05%
        "external_share_limit": 30.0,
        "limit_source": "default",
        "above_limit": False,
    }
    b = rows[code["B"]]
    assert (b["teams"], b["fte_internal"], b["fte_external"], b["fte_total"]) == (2, 3.5, 2.0, 5.5)
    assert (b["fte_hired"], b["fte_partner"]) == (1.0, 1.0)  # partners count as external too
    assert b["external_share"] == 36.4 and b["above_limit"] is True  # 2 / 5.5 = 36.36%
    c = rows[code["C"]]
    assert (c["teams"], c["fte_internal"], c["fte_external"], c["external_share"], c["above_limit"]) == (
        0,
        0.0,
        0.0,
        None,
        False,
    )
    e = rows[code["E"]]
    assert e["external_share"] == 30.0 and e["above_limit"] is False  # exactly at the limit: not above
    assert report["totals"] == {
        "chains": 4,
        "chains_above_limit": 1,
        "teams": 5,
        "fte_internal": 18.0,  # 7.5 + 3.5 + 0 + 7
        "fte_hired": 6.0,  # 2 + 1 + 0 + 3
        "fte_partner": 1.0,
        "fte_external": 7.0,  # 2 + 2 + 0 + 3
        "fte_total": 25.0,
        "external_share": 28.0,  # 7 / 25
    }
    # Teams and FTE are counts over every active team; teams carry no classification, so all are seen.
    assert report["coverage"] == {"basis": "all", "counted": 5, "left_out": 0, "not_visible": 0}


async def test_staffing_totals_add_up_over_everything(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = await staffing_fixture(admin)
        report = (await admin.get("/v1/reports/staffing")).json()
    rows = report["chains"]
    codes = {r["code"] for r in rows}
    assert chains["A"]["code"] in codes and chains["D"]["code"] not in codes
    totals = report["totals"]
    assert totals["chains"] == len(rows)
    assert totals["teams"] == sum(r["teams"] for r in rows)
    # Exact to the tenth: compare in tenths so that float addition cannot hide a difference.
    for field in ("fte_internal", "fte_hired", "fte_partner", "fte_external", "fte_total"):
        assert round(totals[field] * 10) == sum(round(r[field] * 10) for r in rows), field
    assert totals["chains_above_limit"] == sum(r["above_limit"] for r in rows)


async def test_staffing_default_limit_is_configurable(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = await staffing_fixture(admin)
    app = suite.apps["valuechains"]
    original = app.state.settings
    # 2 / 9.5 = 21.05...% is above 21.0 (compared exactly, not after rounding to 21.1).
    app.state.settings = original.model_copy(update={"external_share_limit": Decimal("21.0")})
    try:
        async with suite.client("valuechains", tokens("reader")) as reader:
            params = [("chain", chains[n]["id"]) for n in "ABCE"]
            report = (await reader.get("/v1/reports/staffing", params=params)).json()
    finally:
        app.state.settings = original
    rows = rows_by_code(report)
    assert report["default_limit"] == 21.0
    assert [rows[chains[n]["code"]]["above_limit"] for n in "ABCE"] == [True, True, False, True]
    assert {rows[chains[n]["code"]]["external_share_limit"] for n in "ABCE"} == {21.0}
    assert report["totals"]["chains_above_limit"] == 3


def test_default_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, var_dir: Path) -> None:
    monkeypatch.delenv("IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT", raising=False)
    monkeypatch.delenv("IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD", raising=False)
    assert ValuechainsSettings.for_service("valuechains").external_share_limit == Decimal(30)
    monkeypatch.setenv("IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT", "25.5")
    assert ValuechainsSettings.for_service("valuechains").external_share_limit == Decimal("25.5")
    app = create_app(settings_for(var_dir, "valuechains", "sqlite+aiosqlite://"))
    assert app.state.settings.external_share_limit == Decimal("25.5")
    for bad in ("130", "-1", "12.25"):
        monkeypatch.setenv("IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT", bad)
        with pytest.raises(ValidationError):
            ValuechainsSettings.for_service("valuechains")
    # The setting's former name is still read when the new one is not set.
    monkeypatch.delenv("IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT")
    monkeypatch.setenv("IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD", "33")
    assert ValuechainsSettings.for_service("valuechains").external_share_limit == Decimal(33)


async def test_allocation_report_matches_hand_computed_numbers(suite: Suite, tokens: Tokens) -> None:
    period = "2031"
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = {name: await make_chain(admin) for name in "ABCDEFG"}

        async def put(name: str, body: dict[str, Any], on: str = period) -> dict[str, Any]:
            response = await admin.put(f"/v1/chains/{chains[name]['id']}/allocations/{on}", json=body)
            assert response.status_code == 201, response.text
            allocation: dict[str, Any] = response.json()
            return allocation

        a = await put("A", split(60, 10, 30, budget_eur=1_000_000))
        b = await put("B", split(50, 20, 30, budget_eur=3_000_000))
        g = await put("G", split(33, 33, 34, budget_eur=2_000_000))
        # C: nothing; D: archived chain; E: archived allocation; F: only another period.
        await put("D", split(90, 5, 5, budget_eur=50_000_000))
        await admin.delete(f"/v1/chains/{chains['D']['id']}")
        e = await put("E", split(90, 5, 5, budget_eur=50_000_000))
        await admin.delete(f"/v1/allocations/{e['id']}")
        await put("F", split(90, 5, 5, budget_eur=50_000_000), on="2031-Q1")

    async with suite.client("valuechains", tokens("reader")) as reader:
        params = [("period", period), *[("chain", c["href"]) for c in chains.values()]]
        response = await reader.get("/v1/reports/allocations", params=params)
        assert response.status_code == 200, response.text
        report = response.json()
    code = {name: c["code"] for name, c in chains.items()}
    assert report["period"] == period
    rows = rows_by_code(report)
    assert set(rows) == {code["A"], code["B"], code["G"]}
    assert rows[code["B"]] == {
        "chain": {"href": chains["B"]["href"]},
        "code": code["B"],
        "name": "Testketen",
        "allocation": {"href": b["href"]},
        "budget_eur": 3_000_000,
        "maintenance": 50,
        "security": 20,
        "renewal": 30,
    }
    assert rows[code["A"]]["allocation"] == {"href": a["href"]}
    assert rows[code["G"]]["allocation"] == {"href": g["href"]}
    missing = {m["code"]: m for m in report["missing"]}
    assert set(missing) == {code["C"], code["E"], code["F"]}
    assert missing[code["C"]] == {"chain": {"href": chains["C"]["href"]}, "code": code["C"], "name": "Testketen"}
    # Weighted by budget over 6 M: maintenance (60*1 + 50*3 + 33*2) / 6 = 46.0,
    # security (10 + 60 + 66) / 6 = 22.67, renewal (30 + 90 + 68) / 6 = 31.33: to tenths adding up to 100.
    assert report["overall"] == {
        "chains": 3,
        "budget_eur": 6_000_000,
        "maintenance": 46.0,
        "security": 22.7,
        "renewal": 31.3,
    }
    # Money: over the allocations the reader may see (allocations carry no classification: all of them).
    assert report["coverage"] == {"basis": "visible", "counted": 3, "left_out": 0, "not_visible": 0}


async def test_allocation_report_with_no_budget_and_bad_input(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        await admin.put(f"/v1/chains/{chain['id']}/allocations/2032-H2", json=split(budget_eur=0))
        report = (await admin.get("/v1/reports/allocations", params={"period": "2032-H2", "chain": chain["id"]})).json()
        assert report["overall"] == {
            "chains": 1,
            "budget_eur": 0,
            "maintenance": None,
            "security": None,
            "renewal": None,
        }
        empty = (await admin.get("/v1/reports/allocations", params={"period": "2032", "chain": chain["id"]})).json()
        assert empty["chains"] == [] and [m["code"] for m in empty["missing"]] == [chain["code"]]
        assert empty["coverage"] == {"basis": "visible", "counted": 0, "left_out": 0, "not_visible": 0}
        assert empty["overall"]["chains"] == 0 and empty["overall"]["maintenance"] is None
        for params in ({}, {"period": "2032-Q5"}, {"period": "next year"}):
            response = await admin.get("/v1/reports/allocations", params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        colour = await admin.get("/v1/reports/allocations", params={"period": "2032", "colour": "x"})
        assert colour.status_code == 400, colour.text


def test_weighted_shares_add_up_to_100() -> None:
    assert shares_in_tenths([33 * 3, 33 * 3, 34 * 3], 3) == [33.0, 33.0, 34.0]
    # Budgets 1 and 2 with splits 100/0/0 and 0/50/50: a third each; the first remainder wins the tie.
    assert shares_in_tenths([100, 100, 100], 3) == [33.4, 33.3, 33.3]
    assert shares_in_tenths([0, 0, 0], 0) is None
