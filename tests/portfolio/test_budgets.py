"""Money per year: an initiative's budget per calendar year on create, update and read, the spreading
of a lifetime budget over its years, the 422s, and the change feed. Figures computed by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx2

from services.portfolio.initiatives.budgets import days_per_year, spread
from tests.conftest import Suite
from tests.portfolio.helpers import created, events, initiative_body, make_chain, patched, pm
from tests.support import Tokens

JULY_TO_JUNE = {"start": "2026-07-01", "end": "2027-06-30"}  # 184 days in 2026, 181 in 2027


def per_year(*pairs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"year": year, "budget_eur": amount} for year, amount in pairs]


def body_with(chain: str, **fields: Any) -> dict[str, Any]:
    """An initiative's body; a field given as None is left out (``budget_eur=None``: per year only)."""
    return {k: v for k, v in initiative_body(chain, **JULY_TO_JUNE, **fields).items() if v is not None}


def test_spreading_follows_the_days_of_each_year() -> None:
    assert days_per_year(dt.date(2026, 7, 1), dt.date(2027, 6, 30)) == {2026: 184, 2027: 181}
    assert days_per_year(dt.date(2024, 2, 1), dt.date(2024, 2, 29)) == {2024: 29}  # both days count
    # 1,200,000 * 184 / 365 = 604,931.51 and 595,068.49: the euro left over to the larger remainder.
    assert spread(1_200_000, dt.date(2026, 7, 1), dt.date(2027, 6, 30)) == {2026: 604_932, 2027: 595_068}
    # A leap year has a day more: 366 / 1096 of 100 is 33.39, 365 / 1096 is 33.30 (twice).
    assert spread(100, dt.date(2024, 1, 1), dt.date(2026, 12, 31)) == {2024: 34, 2025: 33, 2026: 33}
    # Equal days, equal remainders: the spare euro goes to the earlier year.
    assert spread(1001, dt.date(2025, 12, 31), dt.date(2026, 1, 1)) == {2025: 501, 2026: 500}
    assert spread(0, dt.date(2026, 1, 1), dt.date(2027, 12, 31)) == {2026: 0, 2027: 0}
    assert spread(7, dt.date(2026, 5, 5), dt.date(2026, 5, 5)) == {2026: 7}
    for total in (1, 99, 1_000_003, 9_999_999_999):
        assert sum(spread(total, dt.date(2025, 3, 9), dt.date(2029, 10, 2)).values()) == total


async def test_create_and_read_with_a_budget_per_year(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        money = per_year((2027, 900_000), (2026, 300_000))  # any order in; by year out
        item = await created(client, "/v1/initiatives", body_with(chain, budget_eur=None, budget_per_year=money))
        assert item["budget_per_year"] == per_year((2026, 300_000), (2027, 900_000))
        assert item["budget_eur"] == 1_200_000  # the sum
        assert (await client.get(f"/v1/initiatives/{item['id']}")).json() == item
        listed = await client.get("/v1/initiatives", params={"id": item["id"]})
        assert listed.json()["items"] == [item]

        [event] = await events(client, item["href"])
        assert event["changes"]["budget_per_year"] == [None, item["budget_per_year"]]
        assert event["changes"]["budget_eur"] == [None, 1_200_000]

        # Both, when they agree, are fine; a year left out has no money.
        both = body_with(chain, budget_eur=250_000, budget_per_year=per_year((2027, 250_000)))
        only_2027 = await created(client, "/v1/initiatives", both)
        assert only_2027["budget_per_year"] == per_year((2027, 250_000)) and only_2027["budget_eur"] == 250_000


async def test_a_lifetime_budget_is_spread_over_the_years(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        item = await created(client, "/v1/initiatives", body_with(chain, budget_eur=1_200_000))
        assert item["budget_per_year"] == per_year((2026, 604_932), (2027, 595_068))
        assert item["budget_eur"] == 1_200_000
        one_year = await created(client, "/v1/initiatives", initiative_body(chain, budget_eur=750_000))
        assert one_year["budget_per_year"] == per_year((2026, 750_000))


async def rejected(response: httpx2.Response, *locs: list[Any]) -> str:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["loc"] for e in problem["errors"]] == list(locs), problem
    detail: str = problem["detail"]
    return detail


async def test_budgets_that_do_not_fit_are_422_naming_the_field(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        before = len((await client.get("/v1/initiatives", params={"limit": 100})).json()["items"])

        async def post(**fields: Any) -> httpx2.Response:
            return await client.post("/v1/initiatives", json=body_with(chain, **fields))

        twice = await post(budget_eur=None, budget_per_year=per_year((2026, 1), (2026, 2)))
        assert "2026 is given twice" in await rejected(twice, ["body", "budget_per_year", 1, "year"])
        outside = await post(budget_eur=None, budget_per_year=per_year((2026, 1), (2028, 2)))
        detail = await rejected(outside, ["body", "budget_per_year", 1, "year"])
        assert "2028 is outside the initiative's years (2026 to 2027" in detail
        contradiction = await post(budget_eur=5, budget_per_year=per_year((2026, 1), (2027, 2)))
        detail = await rejected(contradiction, ["body", "budget_eur"], ["body", "budget_per_year"])
        assert "budget_eur (5) is not the sum of budget_per_year (3)" in detail
        neither = await post(budget_eur=None)
        await rejected(neither, ["body", "budget_eur"], ["body", "budget_per_year"])
        negative = await post(budget_eur=None, budget_per_year=per_year((2026, -1)))
        assert negative.status_code == 422
        assert negative.json()["errors"][0]["loc"] == ["body", "budget_per_year", 0, "budget_eur"]

        assert len((await client.get("/v1/initiatives", params={"limit": 100})).json()["items"]) == before

        item = await created(client, "/v1/initiatives", body_with(chain, budget_eur=1_200_000))
        path = f"/v1/initiatives/{item['id']}"
        for field in ("budget_eur", "budget_per_year"):
            cleared = await client.patch(path, json={field: None}, headers={"If-Match": '"1"'})
            await rejected(cleared, ["body", field])
        late = await client.patch(path, json={"budget_per_year": per_year((2025, 10))}, headers={"If-Match": '"1"'})
        await rejected(late, ["body", "budget_per_year", 0, "year"])
        assert (await client.get(path)).json() == item  # nothing stored


async def test_update_the_money_per_year(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        item = await created(client, "/v1/initiatives", body_with(chain, budget_eur=1_200_000))
        path = f"/v1/initiatives/{item['id']}"

        moved = await patched(client, path, {"budget_per_year": per_year((2026, 200_000), (2027, 1_100_000))}, 1)
        assert moved["budget_per_year"] == per_year((2026, 200_000), (2027, 1_100_000))
        assert moved["budget_eur"] == 1_300_000 and moved["version"] == 2

        # The same total with the same dates changes nothing: the years stay as they are.
        same = await patched(client, path, {"budget_eur": 1_300_000, "name": "Hernoemd"}, 2)
        assert same["budget_per_year"] == moved["budget_per_year"]
        # A new total is spread anew: 1,000,000 * 184 / 365 = 504,109.59, * 181 / 365 = 495,890.41.
        spread_again = await patched(client, path, {"budget_eur": 1_000_000}, same["version"])
        assert spread_again["budget_per_year"] == per_year((2026, 504_110), (2027, 495_890))

        feed = await events(client, item["href"])
        assert [e["changes"].get("budget_per_year") for e in feed] == [
            [None, per_year((2026, 604_932), (2027, 595_068))],
            [per_year((2026, 604_932), (2027, 595_068)), per_year((2026, 200_000), (2027, 1_100_000))],
            None,  # only the name changed
            [per_year((2026, 200_000), (2027, 1_100_000)), per_year((2026, 504_110), (2027, 495_890))],
        ]
        assert feed[1]["changes"]["budget_eur"] == [1_200_000, 1_300_000]
        assert feed[2]["changes"] == {"name": ["Digitale aangifte", "Hernoemd"]}


async def test_new_dates_keep_the_money_in_the_initiative_s_years(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        money = per_year((2026, 0), (2027, 800_000))
        item = await created(client, "/v1/initiatives", body_with(chain, budget_eur=None, budget_per_year=money))
        path = f"/v1/initiatives/{item['id']}"

        # Ending in 2026 would leave the money of 2027 outside the initiative's years.
        early = await client.patch(path, json={"end": "2026-12-31"}, headers={"If-Match": '"1"'})
        detail = await rejected(early, ["body", "end"])
        assert "2027 (800000 euros)" in detail and "send budget_per_year" in detail
        # With the money per year to go with it, it is fine.
        ended = await patched(client, path, {"end": "2026-12-31", "budget_per_year": per_year((2026, 800_000))}, 1)
        assert ended["budget_per_year"] == per_year((2026, 800_000))

        # Starting a year later moves no money out: 2026 has none and falls away.
        later = await created(client, "/v1/initiatives", body_with(chain, budget_eur=None, budget_per_year=money))
        moved = await patched(client, f"/v1/initiatives/{later['id']}", {"start": "2027-01-01"}, 1)
        assert moved["budget_per_year"] == per_year((2027, 800_000))
        # Starting earlier keeps the money where it was: the new year has none.
        earlier = await patched(client, f"/v1/initiatives/{later['id']}", {"start": "2025-01-01"}, moved["version"])
        assert earlier["budget_per_year"] == per_year((2027, 800_000))
        # New dates with the total, even the same one: spread over the new years, three of 365 days:
        # 266,666.67 each, the two euros left over to the earlier years.
        spread_anew = await patched(
            client, f"/v1/initiatives/{later['id']}", {"end": "2027-12-31", "budget_eur": 800_000}, earlier["version"]
        )
        assert spread_anew["budget_per_year"] == per_year((2025, 266_667), (2026, 266_667), (2027, 266_666))
