"""The ratio report, checked against figures computed by hand."""

from __future__ import annotations

from typing import Any

import httpx2

from services.portfolio.reports.service import tenths
from tests.conftest import Suite
from tests.portfolio.helpers import created, initiative_body, make_chain, patched, pm, round_body
from tests.support import Tokens


def test_largest_remainder_adds_up() -> None:
    assert tenths([1, 1, 1]) == [334, 333, 333]
    assert tenths([300_000, 100_000, 200_000]) == [500, 167, 333]
    assert tenths([0, 0, 0]) == [0, 0, 0]
    assert tenths([7, 0, 0]) == [1000, 0, 0]
    for parts in ([1, 2, 3, 4, 5, 6, 7], [999_999, 1, 1], [13, 17, 19]):
        assert sum(tenths(parts)) == 1000


async def item(
    client: httpx2.AsyncClient,
    round_: dict[str, Any],
    initiative: dict[str, Any],
    rank: int,
    decision: str,
    **extra: Any,
) -> None:
    body = {"initiative": {"href": initiative["href"]}, "rank": rank, "decision": decision, **extra}
    await created(client, f"/v1/rounds/{round_['id']}/items", body)


async def test_ratio_report(suite: Suite, tokens: Tokens) -> None:
    x = await make_chain(suite, tokens, "X")
    y = await make_chain(suite, tokens, "Y")
    async with suite.client("portfolio", pm(tokens)) as client:

        async def initiative(chain: str, kind: str, funding: str, budget: int, **extra: Any) -> dict[str, Any]:
            body = initiative_body(
                chain, name=f"{kind} {funding} {budget}", kind=kind, funding=funding, budget_eur=budget, **extra
            )
            return await created(client, "/v1/initiatives", body)

        m1 = await initiative(x, "maintenance", "structural", 100_000)
        s1 = await initiative(x, "security", "structural", 100_000)
        r1 = await initiative(x, "renewal", "structural", 100_000)
        m2 = await initiative(y, "maintenance", "incidental", 200_000)
        r2 = await initiative(y, "renewal", "incidental", 100_000)
        r3 = await initiative(y, "renewal", "incidental", 500_000)
        m3 = await initiative(y, "maintenance", "structural", 400_000)
        hidden = await initiative(y, "renewal", "structural", 600_000, data_classification="secret")

        # Two closed rounds, created in one order and closed in the other: the trend follows closing.
        later = await created(client, "/v1/rounds", round_body(name="Later", target={"run": 65, "renewal": 35}))
        earlier = await created(client, "/v1/rounds", round_body(name="Earlier", target={"run": 70, "renewal": 30}))
        await item(client, earlier, m1, 1, "continue", budget_eur=300_000)
        await item(client, earlier, r1, 2, "start")
        await item(client, later, m1, 1, "continue", budget_eur=200_000)
        await item(client, later, r1, 2, "continue", budget_eur=200_000)
        await item(client, later, r3, 3, "defer")
        for round_ in (earlier, later):
            assert (await client.post(f"/v1/rounds/{round_['id']}/open")).status_code == 200
            assert (await client.post(f"/v1/rounds/{round_['id']}/close")).status_code == 200

        current = await created(client, "/v1/rounds", round_body(name="Current", period="2026-T3"))
        for rank, (initiative_, decision) in enumerate(
            [
                (m1, "continue"),
                (s1, "start"),
                (r1, "adjust"),
                (m2, "continue"),
                (r2, "start"),
                (r3, "stop"),
                (m3, "defer"),
                (hidden, "start"),
            ],
            1,
        ):
            await item(client, current, initiative_, rank, decision)
        await client.post(f"/v1/rounds/{current['id']}/open")

        cleared = await client.get("/v1/reports/ratio", params={"round": current["id"]})
        assert cleared.status_code == 200, cleared.text
        # With the secret 600,000 renewal: m 300k, s 100k, r 800k of 1.2M -> 25.0, 8.3, 66.7.
        assert cleared.json()["overall"]["total_budget_eur"] == 1_200_000
        assert cleared.json()["overall"]["shares"] == {"maintenance": 25.0, "security": 8.3, "renewal": 66.7}
        # Six live items, all seen by a manager cleared for secret.
        assert cleared.json()["coverage"] == {"basis": "visible", "counted": 6, "left_out": 0, "not_visible": 0}

    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        response = await reader.get("/v1/reports/ratio", params={"round": current["href"]})
        assert response.status_code == 200, response.text
        report = response.json()
    # Live items (stop and defer left out), secret one not visible:
    # X: m1 100k, s1 100k, r1 100k; Y: m2 200k, r2 100k. Total 600k: m 300k, s 100k, r 200k.
    assert report["round"] == {"href": current["href"]} and report["status"] == "open"
    assert report["overall"] == {
        "total_budget_eur": 600_000,
        "budget_eur": {"maintenance": 300_000, "security": 100_000, "renewal": 200_000},
        # 50, 16.67, 33.33: the spare tenth goes to the largest remainder (security).
        "shares": {"maintenance": 50.0, "security": 16.7, "renewal": 33.3},
        "ratio": {"run": 66.7, "renewal": 33.3},
    }
    assert report["target"] == {"run": 60, "renewal": 40}
    assert report["renewal_gap"] == -6.7
    # Of the six live items the reader may see five: the secret one is left out, and says so.
    assert report["coverage"] == {"basis": "visible", "counted": 5, "left_out": 1, "not_visible": 0}
    chains: list[dict[str, Any]] = [
        {
            "value_chain": {"href": x},
            "total_budget_eur": 300_000,
            "budget_eur": {"maintenance": 100_000, "security": 100_000, "renewal": 100_000},
            # Three equal thirds: the tie goes to the first kind.
            "shares": {"maintenance": 33.4, "security": 33.3, "renewal": 33.3},
            "ratio": {"run": 66.7, "renewal": 33.3},
        },
        {
            "value_chain": {"href": y},
            "total_budget_eur": 300_000,
            "budget_eur": {"maintenance": 200_000, "security": 0, "renewal": 100_000},
            "shares": {"maintenance": 66.7, "security": 0.0, "renewal": 33.3},
            "ratio": {"run": 66.7, "renewal": 33.3},
        },
    ]
    assert report["per_value_chain"] == sorted(chains, key=lambda c: str(c["value_chain"]["href"]))
    assert report["funding"] == {
        "maintenance": {"structural_eur": 100_000, "incidental_eur": 200_000, "structural": 33.3, "incidental": 66.7},
        "security": {"structural_eur": 100_000, "incidental_eur": 0, "structural": 100.0, "incidental": 0.0},
        "renewal": {"structural_eur": 100_000, "incidental_eur": 100_000, "structural": 50.0, "incidental": 50.0},
    }
    assert report["renewal_funded_only_incidentally"] == [
        {"initiative": {"href": r2["href"]}, "name": r2["name"], "value_chain": {"href": y}, "budget_eur": 100_000}
    ]
    mine = [p for p in report["trend"] if p["round"]["href"] in (earlier["href"], later["href"])]
    # Earlier: m1 300k, r1 100k -> 75:25. Later: m1 200k, r1 200k (r3 deferred) -> 50:50.
    assert [(p["name"], p["total_budget_eur"], p["ratio"], p["target"]) for p in mine] == [
        ("Earlier", 400_000, {"run": 75.0, "renewal": 25.0}, {"run": 70, "renewal": 30}),
        ("Later", 400_000, {"run": 50.0, "renewal": 50.0}, {"run": 65, "renewal": 35}),
    ]
    assert mine[0]["closed_at"] < mine[1]["closed_at"]
    assert [p["coverage"]["counted"] for p in mine] == [2, 2]  # r3 was deferred in Later
    assert all(p["coverage"]["left_out"] == 0 for p in mine)
    assert all(p["round"]["href"] != current["href"] for p in report["trend"])


async def test_ratio_of_an_empty_round_and_bad_input(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as client:
        empty = await created(client, "/v1/rounds", round_body())
        report = (await client.get("/v1/reports/ratio", params={"round": empty["id"]})).json()
        assert report["overall"]["total_budget_eur"] == 0
        assert report["overall"]["ratio"] == {"run": 0.0, "renewal": 0.0}
        assert report["per_value_chain"] == [] and report["renewal_funded_only_incidentally"] == []
        assert report["coverage"] == {"basis": "visible", "counted": 0, "left_out": 0, "not_visible": 0}
        neither = await client.get("/v1/reports/ratio")
        both = await client.get("/v1/reports/ratio", params={"round": empty["id"], "year": 2026})
        for answer in (neither, both):
            assert answer.status_code == 422
            assert [e["loc"] for e in answer.json()["errors"]] == [["query", "round"], ["query", "year"]]
        assert (await client.get("/v1/reports/ratio", params={"year": 1899})).status_code == 422
        missing = await client.get("/v1/reports/ratio", params={"round": "019a0001-0003-7000-8000-00000000ffff"})
        assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["query", "round"]


async def test_a_closed_round_keeps_its_figures_when_initiatives_change(suite: Suite, tokens: Tokens) -> None:
    x = await make_chain(suite, tokens, "X")
    y = await make_chain(suite, tokens, "Y")
    async with suite.client("portfolio", pm(tokens)) as client:
        renewal = await created(
            client,
            "/v1/initiatives",
            initiative_body(x, name="Vernieuwing", kind="renewal", funding="incidental", budget_eur=600_000),
        )
        upkeep = await created(
            client, "/v1/initiatives", initiative_body(x, name="Onderhoud", kind="maintenance", budget_eur=400_000)
        )
        closed = await created(client, "/v1/rounds", round_body(name="Gesloten"))
        draft = await created(client, "/v1/rounds", round_body(name="Concept"))
        for round_ in (closed, draft):
            await item(client, round_, renewal, 1, "start")
            await item(client, round_, upkeep, 2, "continue")
        assert (await client.post(f"/v1/rounds/{closed['id']}/open")).status_code == 200
        assert (await client.post(f"/v1/rounds/{closed['id']}/close")).status_code == 200

        async def report(round_: dict[str, Any], who: httpx2.AsyncClient = client) -> dict[str, Any]:
            response = await who.get("/v1/reports/ratio", params={"round": round_["id"]})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        def point(body: dict[str, Any]) -> dict[str, Any]:
            return next(p for p in body["trend"] if p["round"]["href"] == closed["href"])

        before = await report(closed)
        assert before["overall"]["ratio"] == {"run": 40.0, "renewal": 60.0}
        assert [c["value_chain"]["href"] for c in before["per_value_chain"]] == [x]
        assert [f["initiative"]["href"] for f in before["renewal_funded_only_incidentally"]] == [renewal["href"]]
        assert point(before)["ratio"] == {"run": 40.0, "renewal": 60.0}

        # The initiative becomes security, structurally funded, in another chain.
        await patched(
            client,
            f"/v1/initiatives/{renewal['id']}",
            {"kind": "security", "funding": "structural", "value_chain": {"href": y}},
            1,
        )
        after = await report(closed)
        assert {k: after[k] for k in ("overall", "per_value_chain", "funding", "renewal_funded_only_incidentally")} == {
            k: before[k] for k in ("overall", "per_value_chain", "funding", "renewal_funded_only_incidentally")
        }
        assert point(after) == point(before)
        in_x = await client.get(f"/v1/rounds/{closed['id']}/items", params={"value_chain": x})
        assert [i["rank"] for i in in_x.json()["items"]] == [1, 2]
        in_y = await client.get(f"/v1/rounds/{closed['id']}/items", params={"value_chain": y})
        assert in_y.json()["items"] == []

        # A round that is not closed follows its initiatives.
        live = await report(draft)
        assert live["overall"]["budget_eur"] == {"maintenance": 400_000, "security": 600_000, "renewal": 0}
        assert live["overall"]["ratio"] == {"run": 100.0, "renewal": 0.0}
        assert sorted(c["value_chain"]["href"] for c in live["per_value_chain"]) == sorted([x, y])
        assert live["renewal_funded_only_incidentally"] == []
        draft_in_y = await client.get(f"/v1/rounds/{draft['id']}/items", params={"value_chain": y})
        assert [i["rank"] for i in draft_in_y.json()["items"]] == [1]

        # Need to know still holds in a closed round: reclassified above a caller's clearance, the item
        # is left out of their figures (the trend too), though its kind was recorded when the round closed.
        await patched(client, f"/v1/initiatives/{upkeep['id']}", {"data_classification": "secret"}, 1)
        assert (await report(closed))["overall"] == before["overall"]
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        limited = await report(closed, reader)
        assert limited["overall"]["budget_eur"] == {"maintenance": 0, "security": 0, "renewal": 600_000}
        assert point(limited)["total_budget_eur"] == 600_000
        assert point(limited)["ratio"] == {"run": 0.0, "renewal": 100.0}
        assert limited["funding"]["maintenance"]["structural_eur"] == 0


def per_year(*pairs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"year": year, "budget_eur": amount} for year, amount in pairs]


async def test_ratio_of_a_year(suite: Suite, tokens: Tokens) -> None:
    """Every initiative's money in one year (2031: no other test has money then), by kind and chain."""
    x = await make_chain(suite, tokens, "X")
    y = await make_chain(suite, tokens, "Y")
    years = {"start": "2030-07-01", "end": "2032-06-30"}
    async with suite.client("portfolio", pm(tokens)) as client:

        async def initiative(chain: str, kind: str, funding: str, money: list[dict[str, int]], **extra: Any) -> Any:
            body = initiative_body(chain, name=f"{kind} {funding}", kind=kind, funding=funding, **years, **extra)
            return await created(client, "/v1/initiatives", {**body, "budget_eur": None, "budget_per_year": money})

        await initiative(x, "maintenance", "structural", per_year((2031, 300_000), (2032, 100_000)))
        await initiative(x, "security", "structural", per_year((2031, 100_000)))
        await initiative(x, "renewal", "structural", per_year((2030, 50_000), (2031, 200_000), (2032, 400_000)))
        r2 = await initiative(y, "renewal", "incidental", per_year((2031, 100_000)))
        await initiative(y, "maintenance", "incidental", per_year((2031, 200_000)))
        delivered = await initiative(x, "maintenance", "structural", per_year((2031, 50_000)))
        version = 1
        for status in ("approved", "active", "delivered"):
            version = (await patched(client, f"/v1/initiatives/{delivered['id']}", {"status": status}, version))[
                "version"
            ]
        stopped = await initiative(y, "renewal", "structural", per_year((2031, 999_000)))
        await patched(client, f"/v1/initiatives/{stopped['id']}", {"status": "stopped"}, 1)
        archived = await initiative(y, "renewal", "structural", per_year((2031, 77_000)))
        assert (await client.delete(f"/v1/initiatives/{archived['id']}")).status_code == 200
        await initiative(y, "renewal", "structural", per_year((2031, 600_000)), data_classification="secret")
        await initiative(y, "renewal", "structural", per_year((2030, 5_000), (2031, 0)))  # nothing in 2031

        # The open round's target is what the year is held against.
        for open_round in (await client.get("/v1/rounds", params={"status": "open"})).json()["items"]:
            assert (await client.post(f"/v1/rounds/{open_round['id']}/close")).status_code == 200
        current = await created(client, "/v1/rounds", round_body(target={"run": 55, "renewal": 45}))
        assert (await client.post(f"/v1/rounds/{current['id']}/open")).status_code == 200

        cleared = (await client.get("/v1/reports/ratio", params={"year": 2031})).json()
        # With the secret 600,000 renewal: m 550k, s 100k, r 900k of 1.55M.
        assert cleared["overall"]["budget_eur"] == {"maintenance": 550_000, "security": 100_000, "renewal": 900_000}
        assert cleared["coverage"] == {"basis": "visible", "counted": 7, "left_out": 0, "not_visible": 0}

    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        response = await reader.get("/v1/reports/ratio", params={"year": 2031})
        assert response.status_code == 200, response.text
        report = response.json()
    # Not stopped, archived or secret; the delivered one counts. X: m 300k + 50k, s 100k, r 200k;
    # Y: m 200k, r 100k. Overall m 550k, s 100k, r 300k of 950k: 57.89, 10.53, 31.58 percent; the two
    # spare tenths go to the largest remainders (maintenance .947, renewal .789).
    assert report["year"] == 2031
    assert report["counted_statuses"] == ["proposed", "approved", "active", "delivered"]
    assert report["overall"] == {
        "total_budget_eur": 950_000,
        "budget_eur": {"maintenance": 550_000, "security": 100_000, "renewal": 300_000},
        "shares": {"maintenance": 57.9, "security": 10.5, "renewal": 31.6},
        "ratio": {"run": 68.4, "renewal": 31.6},
    }
    assert report["round"] == {"href": current["href"]} and report["target"] == {"run": 55, "renewal": 45}
    assert report["renewal_gap"] == -13.4
    chains: list[dict[str, Any]] = [
        {
            "value_chain": {"href": x},
            "total_budget_eur": 650_000,
            "budget_eur": {"maintenance": 350_000, "security": 100_000, "renewal": 200_000},
            # 538.46, 153.85, 307.69 tenths: the two spare tenths to security (.85) and renewal (.69).
            "shares": {"maintenance": 53.8, "security": 15.4, "renewal": 30.8},
            "ratio": {"run": 69.2, "renewal": 30.8},
        },
        {
            "value_chain": {"href": y},
            "total_budget_eur": 300_000,
            "budget_eur": {"maintenance": 200_000, "security": 0, "renewal": 100_000},
            "shares": {"maintenance": 66.7, "security": 0.0, "renewal": 33.3},
            "ratio": {"run": 66.7, "renewal": 33.3},
        },
    ]
    assert report["per_value_chain"] == sorted(chains, key=lambda c: str(c["value_chain"]["href"]))
    assert report["funding"]["maintenance"] == {
        "structural_eur": 350_000,
        "incidental_eur": 200_000,
        "structural": 63.6,
        "incidental": 36.4,
    }
    assert report["renewal_funded_only_incidentally"] == [
        {"initiative": {"href": r2["href"]}, "name": r2["name"], "value_chain": {"href": y}, "budget_eur": 100_000}
    ]
    # Seven initiatives have money in 2031 and count; the reader may see six.
    assert report["coverage"] == {"basis": "visible", "counted": 6, "left_out": 1, "not_visible": 0}

    async with suite.client("portfolio", pm(tokens)) as client:
        assert (await client.post(f"/v1/rounds/{current['id']}/close")).status_code == 200
        without = (await client.get("/v1/reports/ratio", params={"year": 2031})).json()
        assert (without["round"], without["target"], without["renewal_gap"]) == (None, None, None)
        empty = (await client.get("/v1/reports/ratio", params={"year": 2199})).json()
        assert empty["overall"]["total_budget_eur"] == 0 and empty["per_value_chain"] == []
        assert empty["coverage"]["counted"] == 0
