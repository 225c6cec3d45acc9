"""What the portfolio's diff and duplicates are computed over, said in `coverage` (services.chassis.figures):
everything in them names records or is their money, so they are over what the caller may see, and they
say how much was left out."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.portfolio.helpers import created, ebo_body, initiative_body, make_chain, pm, round_body
from tests.support import Tokens


def visible(counted: int, left_out: int) -> dict[str, Any]:
    return {"basis": "visible", "counted": counted, "left_out": left_out, "not_visible": 0}


async def test_a_diff_says_per_round_how_many_items_it_left_out(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as cleared:

        async def initiative(name: str, budget: int, classification: str = "internal") -> dict[str, Any]:
            body = initiative_body(chain, name=name, budget_eur=budget, data_classification=classification)
            return await created(cleared, "/v1/initiatives", body)

        shared = await initiative("Gedeeld", 1_000_000)
        gone = await initiative("Vervalt", 300_000)
        secret = await initiative("Geheim in beide", 5_000_000, "secret")
        secret_gone = await initiative("Geheim vervalt", 700_000, "confidential")
        secret_new = await initiative("Geheim nieuw", 900_000, "secret")
        fresh = await initiative("Nieuw", 200_000)
        before = await created(cleared, "/v1/rounds", round_body(name="Voor"))
        after = await created(cleared, "/v1/rounds", round_body(name="Na"))
        for round_, placed in (
            (before, (shared, gone, secret, secret_gone)),
            (after, (shared, secret, secret_new, fresh)),
        ):
            for rank, item in enumerate(placed, 1):
                body = {"initiative": {"href": item["href"]}, "rank": rank * 10, "decision": "continue"}
                await created(cleared, f"/v1/rounds/{round_['id']}/items", body)
        everything = (await cleared.get(f"/v1/rounds/{after['id']}/diff", params={"against": before["id"]})).json()
    async with suite.client("portfolio", tokens("portfolio_manager", sub="u-pm-2", clearance="internal")) as manager:
        shown = (await manager.get(f"/v1/rounds/{after['id']}/diff", params={"against": before["id"]})).json()

    assert everything["coverage"] == {"round": visible(4, 0), "against": visible(4, 0)}
    assert everything["summary"]["live_budget_after_eur"] == 1_000_000 + 5_000_000 + 900_000 + 200_000
    # Two items of each round are about initiatives this manager may not see: left out of every part,
    # the budgets included, and said so per round.
    assert shown["coverage"] == {"round": visible(2, 2), "against": visible(2, 2)}
    assert [a["initiative"]["href"] for a in shown["added"]] == [fresh["href"]]
    assert [r["initiative"]["href"] for r in shown["removed"]] == [gone["href"]]
    assert shown["summary"]["live_budget_before_eur"] == 1_000_000 + 300_000
    assert shown["summary"]["live_budget_after_eur"] == 1_000_000 + 200_000
    for hidden in (secret, secret_gone, secret_new):
        assert hidden["href"] not in str(shown)
    # A round against itself counts its items once.
    async with suite.client("portfolio", tokens("portfolio_manager", sub="u-pm-2", clearance="internal")) as manager:
        same = (await manager.get(f"/v1/rounds/{after['id']}/diff", params={"against": after["id"]})).json()
    assert same["coverage"] == {"round": visible(2, 2), "against": visible(2, 2)}


async def test_duplicates_say_how_many_records_were_compared_and_left_out(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    reader_token = tokens("reader", sub="u-dup-reader", clearance="internal", unit="Eenheid Zeeland")

    async def coverage(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        async with (
            suite.client("portfolio", tokens("admin")) as admin,
            suite.client("portfolio", reader_token) as reader,
        ):
            pages = [(await c.get("/v1/duplicates", params={"kind": kind, "limit": 1})).json() for c in (admin, reader)]
        for page in pages:
            assert page["coverage"]["basis"] == "visible" and page["coverage"]["not_visible"] == 0
        return pages[0]["coverage"], pages[1]["coverage"]

    for kind, bodies in (
        (
            "initiative",
            [initiative_body(chain, name="Open"), initiative_body(chain, name="Dicht", data_classification="secret")],
        ),
        ("ebo", [ebo_body(), ebo_body(name="Geheime planner", data_classification="secret")]),
    ):
        admin_before, reader_before = await coverage(kind)
        assert admin_before["left_out"] == 0
        assert admin_before["counted"] == reader_before["counted"] + reader_before["left_out"]
        async with suite.client("portfolio", pm(tokens)) as client:
            made = [await created(client, f"/v1/{kind}s", body) for body in bodies]
        admin_after, reader_after = await coverage(kind)
        # One more record the reader may see, one more they may not: compared, and left out.
        assert admin_after == visible(admin_before["counted"] + 2, 0), kind
        assert reader_after == visible(reader_before["counted"] + 1, reader_before["left_out"] + 1), kind
        # Archived records are not compared at all.
        async with suite.client("portfolio", pm(tokens)) as client:
            assert (await client.delete(f"/v1/{kind}s/{made[1]['id']}")).status_code == 200
        admin_archived, reader_archived = await coverage(kind)
        assert admin_archived == visible(admin_before["counted"] + 1, 0), kind
        assert reader_archived == visible(reader_before["counted"] + 1, reader_before["left_out"]), kind
