"""Rounds of the rolling portfolio: items, open and close, frozen when closed, starting from the last one, diff."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from services.chassis.db import Database
from services.portfolio.rounds.models import Round
from tests.conftest import Suite
from tests.portfolio.helpers import created, events, initiative_body, local, make_chain, patched, pm, round_body
from tests.support import Tokens


async def initiatives(client: httpx2.AsyncClient, chain: str, *budgets: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        await created(
            client, "/v1/initiatives", initiative_body(chain, name=f"Initiatief {i}", budget_eur=b, **overrides)
        )
        for i, b in enumerate(budgets, 1)
    ]


async def add(
    client: httpx2.AsyncClient,
    round_: dict[str, Any],
    initiative: dict[str, Any],
    rank: int,
    decision: str = "start",
    note: str = "",
    **extra: Any,
) -> dict[str, Any]:
    body = {"initiative": {"href": initiative["href"]}, "rank": rank, "decision": decision, "note": note, **extra}
    return await created(client, f"/v1/rounds/{round_['id']}/items", body)


async def test_target_must_add_up_to_100(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as client:
        response = await client.post("/v1/rounds", json=round_body(target={"run": 60, "renewal": 30}))
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:2] == ["body", "target"]
        assert (await client.post("/v1/rounds", json=round_body(period="2026-X1"))).status_code == 422
        # ASCII digits only: full-width (U+FF10..) or Arabic-Indic (U+0660..) digits are no period.
        wide, arabic = "\uff12\uff10\uff12\uff16", "\u0662\u0660\u0662\u0666"
        for period in (wide, f"{wide}-T1", f"{arabic}-Q1", "2026-Q\uff11"):
            response = await client.post("/v1/rounds", json=round_body(period=period))
            assert response.status_code == 422, period
            assert response.json()["errors"][0]["loc"] == ["body", "period"]
        round_ = await created(client, "/v1/rounds", round_body())
        assert round_["status"] == "draft" and round_["items"] == [] and round_["target"] == {"run": 60, "renewal": 40}
        bad = await client.patch(
            f"/v1/rounds/{round_['id']}", json={"target": {"run": 70, "renewal": 20}}, headers={"If-Match": '"1"'}
        )
        assert bad.status_code == 422
        widened = await client.patch(
            f"/v1/rounds/{round_['id']}", json={"period": f"{wide}-H1"}, headers={"If-Match": '"1"'}
        )
        assert widened.status_code == 422 and widened.json()["errors"][0]["loc"] == ["body", "period"]
    async with suite.client("portfolio", tokens("reader")) as reader:
        assert (await reader.post("/v1/rounds", json=round_body())).status_code == 403


async def test_items_ranks_and_inline_representation(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        a, b = await initiatives(client, chain, 500_000, 300_000)
        round_ = await created(client, "/v1/rounds", round_body())
        response = await client.post(
            f"/v1/rounds/{round_['id']}/items",
            json={"initiative": {"href": a["href"]}, "rank": 1, "decision": "start", "note": "First."},
        )
        assert response.status_code == 201, response.text
        item = response.json()
        assert response.headers["location"] == item["href"] == f"{round_['href']}/items/{item['id']}"
        assert response.headers["etag"] == '"1"'
        assert item["initiative"] == {"href": a["href"]} and item["round"] == {"href": round_["href"]}
        assert item["budget_eur"] == 500_000  # the initiative's money in 2026 (its only year), recorded with the item

        taken = await client.post(
            f"/v1/rounds/{round_['id']}/items", json={"initiative": {"href": b["href"]}, "rank": 1, "decision": "start"}
        )
        assert taken.status_code == 409 and item["href"] in taken.json()["detail"]
        twice = await client.post(
            f"/v1/rounds/{round_['id']}/items", json={"initiative": {"href": a["href"]}, "rank": 2, "decision": "start"}
        )
        assert twice.status_code == 409
        missing = await client.post(
            f"/v1/rounds/{round_['id']}/items",
            json={
                "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-00000000ffff"},
                "rank": 2,
                "decision": "start",
            },
        )
        assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "initiative"]
        second = await add(client, round_, b, 2, "defer", budget_eur=250_000)
        assert second["budget_eur"] == 250_000

        got = await client.get(f"/v1/rounds/{round_['id']}")
        assert [(i["id"], i["rank"], i["initiative"]["href"]) for i in got.json()["items"]] == [
            (item["id"], 1, a["href"]),
            (second["id"], 2, b["href"]),
        ]
        listed = await client.get("/v1/rounds", params={"status": "draft", "limit": 100})
        mine = next(r for r in listed.json()["items"] if r["id"] == round_["id"])
        assert len(mine["items"]) == 2

        one = await client.get(local(item["href"]))
        assert one.status_code == 200 and one.headers["etag"] == '"1"' and one.json() == item
        assert (
            await client.get(f"/v1/rounds/{round_['id']}/items/019a0001-0004-7000-8000-00000000ffff")
        ).status_code == 404

        # Changing an item: If-Match required and checked.
        path = local(item["href"])
        assert (await client.patch(path, json={"rank": 5})).status_code == 428
        assert (await client.patch(path, json={"rank": 5}, headers={"If-Match": '"9"'})).status_code == 412
        assert (await client.patch(path, json={"rank": 2}, headers={"If-Match": '"1"'})).status_code == 409
        assert (await client.patch(path, json={"rank": None}, headers={"If-Match": '"1"'})).status_code == 422
        moved = await patched(client, path, {"rank": 5, "note": "Later: waits for the platform."}, 1)
        assert moved["rank"] == 5 and moved["version"] == 2

        # The initiative's budget changing later does not move the round's figure.
        await patched(client, f"/v1/initiatives/{a['id']}", {"budget_eur": 900_000}, 1)
        assert (await client.get(path)).json()["budget_eur"] == 500_000

        filtered = await client.get(f"/v1/rounds/{round_['id']}/items", params={"decision": "defer"})
        assert [i["id"] for i in filtered.json()["items"]] == [second["id"]]
        other_chain = await client.get(f"/v1/rounds/{round_['id']}/items", params={"value_chain": chain})
        assert len(other_chain.json()["items"]) == 2
        paged = await client.get(f"/v1/rounds/{round_['id']}/items", params={"limit": 1})
        assert [i["rank"] for i in paged.json()["items"]] == [2]
        rest = await client.get(local(paged.json()["next"]))
        assert [i["rank"] for i in rest.json()["items"]] == [5] and rest.json()["next"] is None

        # Items are on record in the change feed, and show up as pointing at their initiative.
        feed = await events(client, item["href"])
        assert [e["type"] for e in feed] == ["round_items.created", "round_items.updated"]
        assert feed[1]["changes"] == {"rank": [1, 5], "note": ["First.", "Later: waits for the platform."]}
        refs = await client.get("/v1/references", params={"target": a["href"]})
        assert {"href": item["href"], "field": "initiative", "target": a["href"]} in refs.json()["items"]


async def test_open_close_and_frozen(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        (a, b) = await initiatives(client, chain, 100_000, 200_000)
        round_ = await created(client, "/v1/rounds", round_body())
        item = await add(client, round_, a, 1)
        rid = round_["id"]

        early = await client.post(f"/v1/rounds/{rid}/close")
        assert early.status_code == 409 and early.json()["allowed"] == ["open"]
        opened = await client.post(f"/v1/rounds/{rid}/open", headers={"If-Match": '"1"'})
        assert opened.status_code == 200, opened.text
        assert opened.json()["status"] == "open" and opened.json()["opened_at"] is not None
        assert opened.headers["etag"] == '"2"'

        other = await created(client, "/v1/rounds", round_body(name="Tweede"))
        second_open = await client.post(f"/v1/rounds/{other['id']}/open")
        assert second_open.status_code == 409 and round_["href"] in second_open.json()["detail"]

        await add(client, round_, b, 2)  # an open round still changes
        stale = await client.post(f"/v1/rounds/{rid}/close", headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        closed = await client.post(f"/v1/rounds/{rid}/close")
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        version = closed.json()["version"]

        # Frozen: every change is 409, whatever else is wrong with the request.
        changes = [
            client.patch(f"/v1/rounds/{rid}", json={"name": "Anders"}, headers={"If-Match": f'"{version}"'}),
            client.patch(f"/v1/rounds/{rid}", json={"name": "Anders"}),
            client.post(
                f"/v1/rounds/{rid}/items", json={"initiative": {"href": b["href"]}, "rank": 9, "decision": "stop"}
            ),
            client.patch(local(item["href"]), json={"decision": "stop"}, headers={"If-Match": '"1"'}),
            client.patch(local(item["href"]), json={"decision": "stop"}),
            client.delete(f"/v1/rounds/{rid}"),
            client.post(f"/v1/rounds/{rid}/open"),
            client.post(f"/v1/rounds/{rid}/close"),
        ]
        for change in changes:
            response = await change
            assert response.status_code == 409, response.text
        after = await client.get(f"/v1/rounds/{rid}")
        assert after.json()["version"] == version and after.json()["name"] == "Ronde test"
        assert [i["version"] for i in after.json()["items"]] == [1, 1]

        # With the first round closed, the next can open.
        assert (await client.post(f"/v1/rounds/{other['id']}/open")).status_code == 200
        feed = await events(client, round_["href"])
        assert [e["changes"].get("status") for e in feed] == [[None, "draft"], ["draft", "open"], ["open", "closed"]]
    async with suite.client("portfolio", tokens("reader")) as reader:
        assert (await reader.post(f"/v1/rounds/{other['id']}/close")).status_code == 403


async def test_the_diff_counts_places_in_the_ranking_you_see(suite: Suite, tokens: Tokens) -> None:
    """Rank numbers with gaps (10, 20, 30) and an item the reader may not see between them: a move is
    counted in places of the visible ranking, never as a difference of rank numbers."""
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        a, b, c = await initiatives(client, chain, 100_000, 100_000, 100_000)
        (hidden,) = await initiatives(client, chain, 100_000, data_classification="secret")
        before = await created(client, "/v1/rounds", round_body(name="R1", period="2026-T1"))
        for initiative, rank in ((a, 10), (b, 20), (hidden, 25), (c, 30)):
            await add(client, before, initiative, rank, "continue")
        after = await created(
            client, "/v1/rounds", round_body(name="R2", period="2026-T2", from_round={"href": before["href"]})
        )
        items = {i["initiative"]["href"]: i for i in after["items"]}
        await patched(client, local(items[c["href"]]["href"]), {"rank": 15}, 1)
        await patched(client, local(items[a["href"]]["href"]), {"rank": 35}, 1)

    def moves(body: dict[str, Any]) -> dict[str, tuple[int, int, int, int, int, int]]:
        return {
            m["initiative"]["href"]: (
                m["before"],
                m["after"],
                m["position_before"],
                m["position_after"],
                m["places_up"],
                m["places_down"],
            )
            for m in body["rank_moves"]
        }

    path, params = f"/v1/rounds/{after['id']}/diff", {"against": before["id"]}
    async with suite.client("portfolio", pm(tokens)) as client:
        # R1: a, b, hidden, c; R2: c, b, hidden, a.
        seen = (await client.get(path, params=params)).json()
        assert moves(seen) == {c["href"]: (30, 15, 4, 1, 3, 0), a["href"]: (10, 35, 1, 4, 0, 3)}
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        # R1: a, b, c; R2: c, b, a: the hidden item takes no place.
        seen = (await reader.get(path, params=params)).json()
        assert moves(seen) == {c["href"]: (30, 15, 3, 1, 2, 0), a["href"]: (10, 35, 1, 3, 0, 2)}
        assert seen["summary"]["rank_moves"] == 2


async def test_start_from_previous_round_and_diff(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        a, b, c, d, e, f = await initiatives(client, chain, 1_000_000, 800_000, 600_000, 400_000, 300_000, 700_000)
        q2 = await created(client, "/v1/rounds", round_body(name="Q2", period="2026-Q2"))
        await add(client, q2, a, 10, "continue", "Core.")
        await add(client, q2, b, 20, "start", "New.")
        await add(client, q2, c, 30, "continue")
        await add(client, q2, d, 40, "stop", "Superseded.")
        await add(client, q2, e, 50, "defer", "No capacity.")

        q3 = await created(
            client, "/v1/rounds", round_body(name="Q3", period="2026-Q3", from_round={"href": q2["href"]})
        )
        assert q3["from_round"] == {"href": q2["href"]}
        # Copied as the starting point: everything but what Q2 stopped, as it was.
        assert [
            (i["initiative"]["href"], i["rank"], i["decision"], i["note"], i["budget_eur"]) for i in q3["items"]
        ] == [
            (a["href"], 10, "continue", "Core.", 1_000_000),
            (b["href"], 20, "start", "New.", 800_000),
            (c["href"], 30, "continue", "", 600_000),
            (e["href"], 50, "defer", "No capacity.", 300_000),
        ]
        assert all(i["id"] not in {x["id"] for x in q2["items"]} for i in q3["items"])
        by_initiative = {i["initiative"]["href"]: i for i in q3["items"]}

        # Move one up, stop one, adjust a budget, start a new one.
        await patched(client, local(by_initiative[c["href"]]["href"]), {"rank": 5, "note": "Board wants it first."}, 1)
        await patched(client, local(by_initiative[b["href"]]["href"]), {"decision": "stop", "note": "Pilot failed."}, 1)
        await patched(
            client,
            local(by_initiative[a["href"]]["href"]),
            {"decision": "adjust", "budget_eur": 1_250_000, "note": "Scope grew."},
            1,
        )
        await add(client, q3, f, 60, "start", "Urgent.")

        diff = await client.get(f"/v1/rounds/{q3['id']}/diff", params={"against": q2["id"]})
        assert diff.status_code == 200, diff.text
        body = diff.json()
        assert body["round"] == {"href": q3["href"]} and body["against"] == {"href": q2["href"]}
        assert body["added"] == [
            {
                "initiative": {"href": f["href"]},
                "name": "Initiatief 6",
                "rank": 60,
                "decision": "start",
                "budget_eur": 700_000,
                "note": "Urgent.",
            }
        ]
        assert body["removed"] == [
            {
                "initiative": {"href": d["href"]},
                "name": "Initiatief 4",
                "rank": 40,
                "decision": "stop",
                "budget_eur": 400_000,
                "note": "Superseded.",
            }
        ]
        assert body["decisions_changed"] == [
            {
                "initiative": {"href": a["href"]},
                "name": "Initiatief 1",
                "before": "continue",
                "after": "adjust",
                "note": "Scope grew.",
                "previous_note": "Core.",
            },
            {
                "initiative": {"href": b["href"]},
                "name": "Initiatief 2",
                "before": "start",
                "after": "stop",
                "note": "Pilot failed.",
                "previous_note": "New.",
            },
        ]
        assert body["rank_moves"] == [
            {
                "initiative": {"href": c["href"]},
                "name": "Initiatief 3",
                "before": 30,
                "after": 5,
                "position_before": 3,  # Q2: a, b, c, d, e
                "position_after": 1,  # Q3: c, a, b, e, f
                "places_up": 2,  # places, not 30 - 5
                "places_down": 0,
                "note": "Board wants it first.",
                "previous_note": "",
            }
        ]
        assert body["budget_moves"] == [
            {
                "initiative": {"href": a["href"]},
                "name": "Initiatief 1",
                "before_eur": 1_000_000,
                "after_eur": 1_250_000,
                "delta_eur": 250_000,
                "note": "Scope grew.",
                "previous_note": "Core.",
            }
        ]
        # Live = start, continue, adjust. Q2: a + b + c = 2,400,000. Q3: a' + c + f = 1,250,000 + 600,000 + 700,000.
        assert body["summary"] == {
            "added": 1,
            "removed": 1,
            "decisions_changed": 2,
            "rank_moves": 1,
            "budget_moves": 1,
            "live_budget_before_eur": 2_400_000,
            "live_budget_after_eur": 2_550_000,
            "live_budget_delta_eur": 150_000,
        }
        by_href = await client.get(f"/v1/rounds/{q3['id']}/diff", params={"against": q2["href"]})
        assert by_href.json() == body
        reverse = (await client.get(f"/v1/rounds/{q2['id']}/diff", params={"against": q3["id"]})).json()
        assert [x["initiative"]["href"] for x in reverse["added"]] == [d["href"]]
        assert reverse["summary"]["live_budget_delta_eur"] == -150_000

        assert (await client.get(f"/v1/rounds/{q3['id']}/diff", params={"against": "nope"})).status_code == 422
        assert (await client.get(f"/v1/rounds/{q3['id']}/diff", params={"against": a["href"]})).status_code == 422
        assert (await client.get(f"/v1/rounds/{q3['id']}/diff")).status_code == 422
        missing = "019a0001-0003-7000-8000-00000000ffff"
        assert (await client.get(f"/v1/rounds/{missing}/diff", params={"against": q2["id"]})).status_code == 404

        # Copying needs a round that exists.
        bad = await client.post("/v1/rounds", json=round_body(from_round={"href": f"/portfolio/v1/rounds/{missing}"}))
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "from_round"]


async def test_items_follow_need_to_know(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        (open_,) = await initiatives(client, chain, 100_000)
        (secret,) = await initiatives(client, chain, 200_000, data_classification="secret")
        q1 = await created(client, "/v1/rounds", round_body())
        visible = await add(client, q1, open_, 1)
        hidden = await add(client, q1, secret, 2, note="Sensitive.")
    async with suite.client("portfolio", tokens("portfolio_manager", clearance="internal")) as manager:
        got = (await manager.get(f"/v1/rounds/{q1['id']}")).json()
        assert [i["id"] for i in got["items"]] == [visible["id"]]
        assert (await manager.get(local(hidden["href"]))).status_code == 404
        assert await events(manager, hidden["href"]) == []
        # Copying keeps what the copier cannot see: the portfolio loses nothing.
        q2 = await created(manager, "/v1/rounds", round_body(from_round={"href": q1["href"]}))
        assert len(q2["items"]) == 1
    async with suite.client("portfolio", pm(tokens)) as client:
        assert len((await client.get(f"/v1/rounds/{q2['id']}")).json()["items"]) == 2


async def test_the_database_keeps_one_round_open(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as client:
        a = await created(client, "/v1/rounds", round_body(name="A"))
        b = await created(client, "/v1/rounds", round_body(name="B"))
        assert (await client.post(f"/v1/rounds/{a['id']}/open")).status_code == 200
    # Whatever the code checks, the database itself refuses a second open round.
    database: Database = suite.apps["portfolio"].state.db
    with pytest.raises(IntegrityError):
        async with database.session(write=True) as session:
            await session.execute(update(Round).where(Round.id == b["id"]).values(status="open"))
    async with suite.client("portfolio", pm(tokens)) as client:
        assert (await client.get(f"/v1/rounds/{b['id']}")).json()["status"] == "draft"
        # Archived and closed rounds do not count: only one *open* round is unique.
        assert (await client.delete(f"/v1/rounds/{a['id']}")).json()["status"] == "archived"
        assert (await client.post(f"/v1/rounds/{b['id']}/open")).status_code == 200


async def test_conflicts_name_only_items_the_caller_may_see(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as cleared:
        (secret,) = await initiatives(cleared, chain, 200_000, data_classification="secret")
        (plain, other) = await initiatives(cleared, chain, 100_000, 50_000)
        round_ = await created(cleared, "/v1/rounds", round_body())
        hidden = await add(cleared, round_, secret, 7, note="Sensitive.")
    items = f"/v1/rounds/{round_['id']}/items"
    async with suite.client("portfolio", tokens("portfolio_manager", sub="u-pm-2", clearance="internal")) as manager:
        assert (await manager.get(f"/v1/rounds/{round_['id']}")).json()["items"] == []
        # The hidden item holds rank 7, but it does not exist for them: it neither stops them nor shows.
        shared = await manager.post(items, json={"initiative": {"href": plain["href"]}, "rank": 7, "decision": "start"})
        assert shared.status_code == 201, shared.text
        assert hidden["id"] not in shared.text
        mine = shared.json()
        moved = await manager.patch(local(mine["href"]), json={"rank": 8}, headers={"If-Match": '"1"'})
        assert moved.status_code == 200
        back = await manager.patch(local(mine["href"]), json={"rank": 7}, headers={"If-Match": '"2"'})
        assert back.status_code == 200 and hidden["id"] not in back.text
        mine = back.json()

        # A holder the caller may see is named, as before (and only that one).
        twice = await manager.post(items, json={"initiative": {"href": other["href"]}, "rank": 7, "decision": "start"})
        assert twice.status_code == 409 and twice.json()["taken_by"] == mine["href"]
        again = await manager.post(items, json={"initiative": {"href": plain["href"]}, "rank": 9, "decision": "start"})
        assert again.status_code == 409 and again.json()["existing"] == mine["href"]
        # The hidden item does not exist for them, nor does a diff or a copy show it.
        copy = await created(manager, "/v1/rounds", round_body(from_round={"href": round_["href"]}))
        diff = await manager.get(f"/v1/rounds/{copy['id']}/diff", params={"against": round_["id"]})
        assert diff.status_code == 200 and secret["href"] not in diff.text and hidden["id"] not in diff.text
        assert secret["href"] not in (await manager.get(f"/v1/rounds/{copy['id']}")).text
    async with suite.client("portfolio", pm(tokens)) as cleared:
        named = await cleared.post(items, json={"initiative": {"href": other["href"]}, "rank": 7, "decision": "start"})
        assert named.status_code == 409 and named.json()["taken_by"] in (hidden["href"], mine["href"])
        # Who may see both sees them share the rank, in a stable order: the earlier first.
        ranked = (await cleared.get(f"/v1/rounds/{round_['id']}")).json()["items"]
        assert [(i["rank"], i["href"]) for i in ranked] == [(7, hidden["href"]), (7, mine["href"])]
        listed = (await cleared.get(f"{items}", params={"limit": 1})).json()
        second = (await cleared.get(local(listed["next"]))).json()["items"]
        assert [i["href"] for i in listed["items"] + second] == [hidden["href"], mine["href"]]


async def test_items_take_the_money_of_the_round_s_year(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        years = [{"year": 2026, "budget_eur": 300_000}, {"year": 2027, "budget_eur": 900_000}]
        body = initiative_body(chain, start="2026-07-01", end="2027-06-30", budget_per_year=years)
        multi = await created(client, "/v1/initiatives", {**body, "budget_eur": None})
        # 1,000,000 over 2026-07-01..2027-03-31: 184 and 90 days, 671,532.85 and 328,467.15.
        spread = await created(
            client,
            "/v1/initiatives",
            initiative_body(chain, start="2026-07-01", end="2027-03-31", budget_eur=1_000_000),
        )
        late = await created(client, "/v1/initiatives", initiative_body(chain, start="2027-01-01", end="2027-12-31"))

        r2026 = await created(client, "/v1/rounds", round_body(name="2026-T3", period="2026-T3"))
        r2027 = await created(client, "/v1/rounds", round_body(name="2027-H1", period="2027-H1"))
        budgets = {}
        for round_ in (r2026, r2027):
            for rank, initiative in enumerate((multi, spread, late), 1):
                item = await add(client, round_, initiative, rank)
                budgets[round_["period"], initiative["id"]] = item["budget_eur"]
        assert budgets == {
            ("2026-T3", multi["id"]): 300_000,  # not its whole 1,200,000
            ("2026-T3", spread["id"]): 671_533,
            ("2026-T3", late["id"]): 0,  # no money in 2026
            ("2027-H1", multi["id"]): 900_000,
            ("2027-H1", spread["id"]): 328_467,
            ("2027-H1", late["id"]): 1_000_000,
        }

        # A round of the same year starts from the budgets decided; one of another year from the money
        # in its own year.
        path = f"/v1/rounds/{r2026['id']}/items"
        first = (await client.get(path)).json()["items"][0]
        await patched(client, f"{path}/{first['id']}", {"budget_eur": 250_000, "decision": "adjust"}, 1)
        same_year = await created(
            client, "/v1/rounds", round_body(period="2026-Q4", from_round={"href": r2026["href"]})
        )
        next_year = await created(
            client, "/v1/rounds", round_body(period="2027-T1", from_round={"href": r2026["href"]})
        )
        assert [i["budget_eur"] for i in same_year["items"]] == [250_000, 671_533, 0]
        assert [i["budget_eur"] for i in next_year["items"]] == [900_000, 328_467, 1_000_000]
        assert [i["decision"] for i in next_year["items"]] == ["adjust", "start", "start"]

        # Later changes of the initiative's money do not move the items already there.
        await patched(
            client, f"/v1/initiatives/{multi['id']}", {"budget_per_year": [{"year": 2027, "budget_eur": 5}]}, 1
        )
        assert (await client.get(f"/v1/rounds/{r2027['id']}")).json()["items"][0]["budget_eur"] == 900_000
