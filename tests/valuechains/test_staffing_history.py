"""Staffing over time, agile maturity over time and each chain's own external-share limit, against
hand-computed numbers.

The teams are written "in the past": the moment a write is made (``utcnow`` of the collections) is
set to days in 2025, so each team's revisions are valid from then, exactly as if their owners had
made those changes on those days. The reports themselves run now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from services.chassis.resources import collection as collection_module
from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import make_chain, make_team, owner_token

Travel = Callable[[str], Any]


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """``with travel("2025-01-15"):`` writes made inside happen on that day (09:00 UTC)."""

    @contextmanager
    def at(day: str) -> Iterator[None]:
        moment = dt.datetime.fromisoformat(day).replace(hour=9, tzinfo=dt.UTC)
        with monkeypatch.context() as patch:
            patch.setattr(collection_module, "utcnow", lambda: moment)
            yield

    return at


async def patch_team(client: httpx2.AsyncClient, team: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    current = (await client.get(f"/v1/teams/{team['id']}")).json()
    answer = await client.patch(f"/v1/teams/{team['id']}", json=body, headers={"If-Match": f'"{current["version"]}"'})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def staffing_world(admin: httpx2.AsyncClient, travel: Travel) -> dict[str, dict[str, Any]]:
    """A and B; a1 and a2 in A from 15 January 2025, a1 turning hired staff into partners on 20 February,
    b1 in B from 10 March, a2 moving to B on 5 April, a1 archived on 12 May. B's own limit is 50%."""
    a, b = await make_chain(admin), await make_chain(admin, external_share_limit=50)
    with travel("2025-01-15"):
        a1 = await make_team(admin, a, name="a1", fte_internal=4, fte_hired=2, maturity=2)
        a2 = await make_team(admin, a, name="a2", fte_internal=3, fte_hired=1, fte_partner=1, maturity=2)
    with travel("2025-02-20"):
        await patch_team(admin, a1, {"fte_hired": 0.5, "fte_partner": 1.5})
    with travel("2025-03-10"):
        await make_team(admin, b, name="b1", fte_internal=5, fte_hired=5, maturity=3)
    with travel("2025-04-05"):
        await patch_team(admin, a2, {"chain": {"href": b["href"]}})
    with travel("2025-05-12"):
        assert (await admin.delete(f"/v1/teams/{a1['id']}")).status_code == 200
    return {"A": a, "B": b}


def staffing(teams: int, internal: float, hired: float, partner: float, share: float | None) -> dict[str, Any]:
    return {
        "teams": teams,
        "fte_internal": internal,
        "fte_hired": hired,
        "fte_partner": partner,
        "fte_external": hired + partner,
        "fte_total": internal + hired + partner,
        "external_share": share,
    }


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in ("teams", "fte_internal", "fte_hired", "fte_partner", "fte_external", "fte_total", "external_share")
    }


async def test_staffing_history_per_month_follows_every_revision(suite: Suite, tokens: Tokens, travel: Travel) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = await staffing_world(admin, travel)
    a, b = chains["A"]["code"], chains["B"]["code"]
    params: list[tuple[str, Any]] = [("from", "2024-12-10"), ("to", "2025-05-31"), ("period", "month")]
    params += [("chain", c["href"]) for c in chains.values()]
    async with suite.client("valuechains", tokens("reader")) as reader:
        answer = await reader.get("/v1/reports/staffing/history", params=params)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["period"], report["from"], report["to"], report["default_limit"]) == (
        "month",
        "2024-12-01",
        "2025-05-31",
        30.0,
    )
    periods = report["periods"]
    assert [p["period"] for p in periods] == ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert [(p["start"], p["end"], p["as_of"]) for p in periods[1:3]] == [
        ("2025-01-01", "2025-01-31", "2025-02-01T00:00:00Z"),
        ("2025-02-01", "2025-02-28", "2025-03-01T00:00:00Z"),
    ]
    rows = [{row["code"]: row for row in p["chains"]} for p in periods]
    assert all(list(r) == sorted([a, b]) for r in rows)  # every chain in every period, by code
    expected = {
        # December: nobody yet.
        (0, a): staffing(0, 0, 0, 0, None),
        (0, b): staffing(0, 0, 0, 0, None),
        # January: a1 (4 / 2 hired) and a2 (3 / 1 hired / 1 partner): 4 of 11 external.
        (1, a): staffing(2, 7.0, 3.0, 1.0, 36.4),
        (1, b): staffing(0, 0, 0, 0, None),
        # February: a1 turned 1.5 hired into partners; the external share stays.
        (2, a): staffing(2, 7.0, 1.5, 2.5, 36.4),
        # March: b1 joins B, half external.
        (3, b): staffing(1, 5.0, 5.0, 0.0, 50.0),
        # April: a2 moved to B.
        (4, a): staffing(1, 4.0, 0.5, 1.5, 33.3),
        (4, b): staffing(2, 8.0, 6.0, 1.0, 46.7),
        # May: a1 archived.
        (5, a): staffing(0, 0, 0, 0, None),
        (5, b): staffing(2, 8.0, 6.0, 1.0, 46.7),
    }
    for (index, code), wanted in expected.items():
        assert figures(rows[index][code]) == wanted, (periods[index]["period"], code)
    # A is held to the default 30, B to its own 50: at the limit is not above it.
    assert [(rows[i][a]["above_limit"], rows[i][b]["above_limit"]) for i in range(6)] == [
        (False, False),
        (True, False),
        (True, False),
        (True, False),
        (True, False),
        (False, False),
    ]
    assert {(r[b]["external_share_limit"], r[b]["limit_source"]) for r in rows} == {(50.0, "chain")}
    assert {(r[a]["external_share_limit"], r[a]["limit_source"]) for r in rows} == {(30.0, "default")}
    april = periods[4]
    assert april["totals"] == {"chains": 2, "chains_above_limit": 1, **staffing(3, 12.0, 6.5, 2.5, 42.9)}
    # Counts over every team active then (teams carry no classification: the reader sees them all).
    assert [p["coverage"]["counted"] for p in periods] == [0, 2, 2, 3, 3, 2]
    assert {p["coverage"]["basis"] for p in periods} == {"all"}
    assert report["coverage"] == {"basis": "all", "counted": 3, "left_out": 0, "not_visible": 0}


async def test_staffing_history_per_quarter_takes_each_quarters_end(
    suite: Suite, tokens: Tokens, travel: Travel
) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = await staffing_world(admin, travel)
        params: list[tuple[str, Any]] = [("from", "2025-02-14"), ("to", "2025-06-30"), ("period", "quarter")]
        params += [("chain", c["id"]) for c in chains.values()]
        report = (await admin.get("/v1/reports/staffing/history", params=params)).json()
    a, b = chains["A"]["code"], chains["B"]["code"]
    q1, q2 = report["periods"]
    assert (q1["period"], q1["start"], q1["end"], q1["as_of"]) == (
        "2025-Q1",
        "2025-01-01",
        "2025-03-31",
        "2025-04-01T00:00:00Z",
    )
    assert (q2["period"], q2["as_of"]) == ("2025-Q2", "2025-07-01T00:00:00Z")
    first = {row["code"]: figures(row) for row in q1["chains"]}
    second = {row["code"]: figures(row) for row in q2["chains"]}
    assert first == {a: staffing(2, 7.0, 1.5, 2.5, 36.4), b: staffing(1, 5.0, 5.0, 0.0, 50.0)}
    assert second == {a: staffing(0, 0, 0, 0, None), b: staffing(2, 8.0, 6.0, 1.0, 46.7)}


async def test_staffing_history_defaults_to_the_last_year_up_to_now(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        await make_team(admin, chain, fte_internal=6, fte_hired=1, fte_partner=1)
        report = (await admin.get("/v1/reports/staffing/history", params={"chain": chain["id"]})).json()
        quarters = (
            await admin.get("/v1/reports/staffing/history", params={"chain": chain["id"], "period": "quarter"})
        ).json()
    assert report["period"] == "month" and len(report["periods"]) == 12
    assert len(quarters["periods"]) == 4
    now = report["periods"][-1]
    today = dt.datetime.now(dt.UTC).date()
    assert now["start"] == today.replace(day=1).isoformat()
    # The month under way is measured now: the team written a moment ago is in it, not in the month before.
    assert figures(now["chains"][0]) == staffing(1, 6.0, 1.0, 1.0, 25.0)
    assert report["periods"][-2]["chains"][0]["teams"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-06-01", "to": "2025-05-01"}, "from"),
        ({"to": "2199-01-01"}, "to"),
        ({"period": "week"}, "period"),
        ({"from": "1970-01-01", "to": "2025-01-01"}, "from"),  # more than 120 months
        ({"from": "2025-13-01"}, "from"),
    ],
)
async def test_staffing_history_refuses_bad_queries(
    suite: Suite, tokens: Tokens, params: dict[str, str], field: str
) -> None:
    async with suite.client("valuechains", tokens("reader")) as reader:
        answer = await reader.get("/v1/reports/staffing/history", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in answer.text


async def test_staffing_history_refuses_a_parameter_it_does_not_take(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("reader")) as reader:
        answer = await reader.get("/v1/reports/staffing/history", params={"since": "2025-01-01"})
    assert answer.status_code == 400 and answer.json()["parameter"] == "since", answer.text


async def maturity_world(admin: httpx2.AsyncClient, travel: Travel) -> dict[str, Any]:
    """One chain: t1 (1), t2 (2), t3 (3) from 15 January 2025; t1 to 2 on 5 March; on 10 April t2 to 4, t3
    down to 2 and t4 (5) added."""
    chain = await make_chain(admin)
    with travel("2025-01-15"):
        t1, t2, t3 = [await make_team(admin, chain, name=f"t{m}", maturity=m) for m in (1, 2, 3)]
    with travel("2025-03-05"):
        await patch_team(admin, t1, {"maturity": 2})
    with travel("2025-04-10"):
        await patch_team(admin, t2, {"maturity": 4})
        await patch_team(admin, t3, {"maturity": 2})
        await make_team(admin, chain, name="t4", maturity=5)
    return chain


def levels(*counts: int) -> list[dict[str, int]]:
    return [{"maturity": level, "teams": n} for level, n in zip(range(1, 6), counts, strict=True)]


async def test_maturity_report_shows_the_levels_and_the_change_since_the_previous_period(
    suite: Suite, tokens: Tokens, travel: Travel
) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await maturity_world(admin, travel)
    async with suite.client("valuechains", tokens("reader")) as reader:
        answer = await reader.get(
            "/v1/reports/maturity", params={"as_of": "2025-04-20", "period": "month", "chain": chain["href"]}
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()
        quarter = (
            await reader.get(
                "/v1/reports/maturity", params={"as_of": "2025-03-20", "period": "quarter", "chain": chain["id"]}
            )
        ).json()
    assert (report["period"], report["as_of"], report["previous_period"], report["previous_as_of"]) == (
        "month",
        "2025-04-21T00:00:00Z",
        "2025-03",
        "2025-04-01T00:00:00Z",
    )
    (row,) = report["chains"]
    assert row["chain"] == {"href": chain["href"]}
    expected = {
        "current": {"teams": 4, "levels": levels(0, 2, 0, 1, 1), "average": 3.3},  # 13 / 4 = 3.25, half up
        "previous": {"teams": 3, "levels": levels(0, 2, 1, 0, 0), "average": 2.3},  # 7 / 3
        "change": {
            "teams": 1,
            "levels": levels(0, 0, -1, 1, 1),
            "average": 1.0,
            "teams_up": 1,  # t2
            "teams_down": 1,  # t3; t4 is new, t1 did not move in April
        },
    }
    assert {k: row[k] for k in expected} == expected
    assert report["overall"] == expected  # one chain: the overall figures are its own
    assert report["coverage"] == {"basis": "all", "counted": 4, "left_out": 0, "not_visible": 0}
    # The quarter before Q1 2025 ended on 1 January: nobody yet, and everyone is new.
    (q,) = quarter["chains"]
    assert (quarter["previous_period"], quarter["previous_as_of"]) == ("2024-Q4", "2025-01-01T00:00:00Z")
    assert q["previous"] == {"teams": 0, "levels": levels(0, 0, 0, 0, 0), "average": None}
    assert q["current"] == {"teams": 3, "levels": levels(0, 2, 1, 0, 0), "average": 2.3}
    assert q["change"]["average"] is None and q["change"]["teams_up"] == 0 and q["change"]["teams"] == 3


async def test_maturity_report_covers_every_chain_and_adds_up(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chains = [await make_chain(admin) for _ in range(2)]
        for chain, maturities in zip(chains, ((1, 4), (5,)), strict=True):
            for m in maturities:
                await make_team(admin, chain, maturity=m)
        report = (await admin.get("/v1/reports/maturity", params=[("chain", c["id"]) for c in chains])).json()
        everything = (await admin.get("/v1/reports/maturity")).json()
    assert report["period"] == "quarter"
    rows = {row["chain"]["href"]: row for row in report["chains"]}
    assert [rows[c["href"]]["current"]["levels"] for c in chains] == [levels(1, 0, 0, 1, 0), levels(0, 0, 0, 0, 1)]
    assert report["overall"]["current"] == {"teams": 3, "levels": levels(1, 0, 0, 1, 1), "average": 3.3}
    assert report["overall"]["change"]["teams"] == 3  # all written now, after the previous quarter ended
    totals = everything["overall"]["current"]
    assert totals["teams"] == sum(r["current"]["teams"] for r in everything["chains"])
    assert everything["coverage"]["counted"] >= totals["teams"]


async def test_maturity_report_refuses_bad_queries(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("reader")) as reader:
        for params, field in (({"period": "year"}, "period"), ({"as_of": "yesterday"}, "as_of")):
            answer = await reader.get("/v1/reports/maturity", params=params)
            assert answer.status_code == 422, answer.text
            assert field in answer.text
        unknown = await reader.get("/v1/reports/maturity", params={"x": "1"})
        assert unknown.status_code == 400 and unknown.json()["parameter"] == "x", unknown.text


async def test_only_an_admin_sets_a_chains_external_share_limit(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        assert chain["external_share_limit"] is None
        await make_team(admin, chain, fte_internal=6, fte_hired=3, fte_partner=1)  # 40% external
    url = f"/v1/chains/{chain['id']}"
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        refused = await owner.patch(url, json={"external_share_limit": 45}, headers={"If-Match": '"1"'})
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["detail"]
        # The owner still changes what is theirs, and sending the limit it has is no change.
        ok = await owner.patch(
            url, json={"mission": "Sharper.", "external_share_limit": None}, headers={"If-Match": '"1"'}
        )
        assert ok.status_code == 200, ok.text
    async with suite.client("valuechains", tokens("admin")) as admin:
        for bad in (100.5, -1, 12.25, "much"):
            answer = await admin.patch(url, json={"external_share_limit": bad}, headers={"If-Match": '"2"'})
            assert answer.status_code == 422, answer.text
        before = (await admin.get("/v1/reports/staffing", params={"chain": chain["id"]})).json()["chains"][0]
        assert (before["above_limit"], before["limit_source"]) == (True, "default")
        set_ = await admin.patch(url, json={"external_share_limit": 40.0}, headers={"If-Match": '"2"'})
        assert set_.status_code == 200 and set_.json()["external_share_limit"] == 40.0
        after = (await admin.get("/v1/reports/staffing", params={"chain": chain["id"]})).json()["chains"][0]
        assert (after["external_share"], after["external_share_limit"], after["limit_source"]) == (40.0, 40.0, "chain")
        assert after["above_limit"] is False  # at its own limit
        events = (await admin.get("/v1/changes", params={"subject": chain["href"]})).json()["items"]
        assert events[-1]["changes"] == {"external_share_limit": [None, 40.0]}
        cleared = await admin.patch(url, json={"external_share_limit": None}, headers={"If-Match": '"3"'})
        assert cleared.status_code == 200 and cleared.json()["external_share_limit"] is None
        again = (await admin.get("/v1/reports/staffing", params={"chain": chain["id"]})).json()["chains"][0]
        assert (again["above_limit"], again["limit_source"]) == (True, "default")


async def test_reports_over_teams_answer_for_a_chain_filter_that_matches_nothing(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("reader")) as reader:
        params = {"chain": "/valuechains/v1/chains/nobody", "from": "2025-01-01", "to": "2025-03-31"}
        history = await reader.get("/v1/reports/staffing/history", params=params)
        maturity = await reader.get("/v1/reports/maturity", params={"chain": "nobody"})
    assert history.status_code == 200, history.text
    assert [p["chains"] for p in history.json()["periods"]] == [[], [], []]
    assert {p["totals"]["chains"] for p in history.json()["periods"]} == {0}
    assert history.json()["coverage"]["counted"] == 0
    assert maturity.status_code == 200, maturity.text
    assert maturity.json()["chains"] == [] and maturity.json()["overall"]["current"]["teams"] == 0
