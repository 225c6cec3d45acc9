"""The resource contract on initiatives, EBOs and rounds: ETag/If-Match, idempotent POST, archive,
batch get, change feed; and no lost updates on round items under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Suite
from tests.portfolio.helpers import created, ebo_body, events, initiative_body, make_chain, pm, round_body
from tests.support import Tokens

Body = Callable[[Suite, Tokens], Awaitable[dict[str, Any]]]


async def initiative(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    return initiative_body(await make_chain(suite, tokens))


async def ebo(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    return ebo_body()


async def round_(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    return round_body()


CASES: list[tuple[str, Body, dict[str, Any]]] = [
    ("initiatives", initiative, {"name": "Renamed"}),
    ("ebos", ebo, {"users": 99}),
    ("rounds", round_, {"name": "Renamed"}),
]


@pytest.mark.parametrize(("collection", "body_for", "change"), CASES, ids=[c[0] for c in CASES])
async def test_resource_contract(
    suite: Suite, tokens: Tokens, collection: str, body_for: Body, change: dict[str, Any]
) -> None:
    body = await body_for(suite, tokens)
    base = f"/v1/{collection}"
    async with suite.client("portfolio", pm(tokens)) as client:
        # Idempotent create: a retry replays the first answer and creates nothing.
        key = {"Idempotency-Key": f"contract-{collection}"}
        first = await client.post(base, json=body, headers=key)
        assert first.status_code == 201, first.text
        replay = await client.post(base, json=body, headers=key)
        assert replay.status_code == 201 and replay.json() == first.json()
        assert replay.headers["location"] == first.headers["location"]
        assert replay.headers.get("idempotent-replayed") == "true"
        other_body = await client.post(base, json={**body, "name": "Something else"}, headers=key)
        assert other_body.status_code == 422
        resource = first.json()
        path = f"{base}/{resource['id']}"
        listed = await client.get(base, params={"limit": 100})
        assert [i["id"] for i in listed.json()["items"]].count(resource["id"]) == 1

        # Unknown fields are rejected.
        assert (await client.post(base, json={**body, "colour": "blue"})).status_code == 422

        # ETag and If-Match.
        got = await client.get(path)
        assert got.headers["etag"] == '"1"'
        assert (await client.patch(path, json=change)).status_code == 428
        assert (await client.patch(path, json=change, headers={"If-Match": '"2"'})).status_code == 412
        changed = await client.patch(path, json=change, headers={"If-Match": '"1"'})
        assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
        assert {k: changed.json()[k] for k in change} == change

        # Archive, never delete.
        archived = await client.delete(path)
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert (await client.get(path)).json()["status"] == "archived"
        assert resource["id"] not in {i["id"] for i in (await client.get(base, params={"limit": 100})).json()["items"]}
        with_archived = await client.get(base, params={"include_archived": True, "limit": 100})
        assert resource["id"] in {i["id"] for i in with_archived.json()["items"]}

        # Batch get, archived included.
        second = await created(client, base, {**body, "name": "Second"})
        batch = await client.get(base, params=[("id", resource["id"]), ("id", second["id"]), ("id", "nope")])
        assert sorted(i["id"] for i in batch.json()["items"]) == sorted([resource["id"], second["id"]])

        # The change feed holds every step, hash-chained.
        feed = await events(client, resource["href"])
        assert [e["type"] for e in feed] == [f"{collection}.created", f"{collection}.updated", f"{collection}.archived"]
        assert feed[1]["changes"] == {k: [body[k], v] for k, v in change.items()}
        assert feed[2]["changes"] == {"status": [resource["status"], "archived"]}
        assert all(e["actor"] == "u-pm-1" for e in feed)
        verify = await client.get("/v1/changes/verify", headers=tokens("auditor"))
        assert verify.json()["ok"] is True


async def test_concurrent_item_changes_lose_nothing(committed_suite: Suite, tokens: Tokens) -> None:
    suite = committed_suite
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        initiatives = [
            await created(client, "/v1/initiatives", initiative_body(chain, name=f"C{i}")) for i in range(21)
        ]
        round_ = await created(client, "/v1/rounds", round_body(name="Concurrency"))
        items = f"/v1/rounds/{round_['id']}/items"
        item = await created(
            client, items, {"initiative": {"href": initiatives[0]["href"]}, "rank": 1, "decision": "start"}
        )
        item_path = item["href"].removeprefix("/portfolio")

        async def change(n: int) -> int:
            async with suite.client("portfolio", pm(tokens)) as own:
                response = await own.patch(item_path, json={"note": f"writer {n}"}, headers={"If-Match": '"1"'})
                return response.status_code

        statuses = await asyncio.gather(*(change(n) for n in range(20)))
        assert sorted(statuses) == [200] + [412] * 19
        final = (await client.get(item_path)).json()
        assert final["version"] == 2 and final["note"].startswith("writer ")

        async def add(n: int) -> int:
            async with suite.client("portfolio", pm(tokens)) as own:
                body = {"initiative": {"href": initiatives[n + 1]["href"]}, "rank": 2, "decision": "start"}
                return (await own.post(items, json=body)).status_code

        added = await asyncio.gather(*(add(n) for n in range(20)))
        assert sorted(added) == [201] + [409] * 19
        assert [i["rank"] for i in (await client.get(f"/v1/rounds/{round_['id']}")).json()["items"]] == [1, 2]


async def test_two_rounds_opened_at_once_leave_one_open(committed_suite: Suite, tokens: Tokens) -> None:
    suite = committed_suite
    async with suite.client("portfolio", pm(tokens)) as client:

        async def open_(round_: dict[str, Any]) -> Any:
            async with suite.client("portfolio", pm(tokens)) as own:
                return await own.post(f"/v1/rounds/{round_['id']}/open")

        made: list[dict[str, Any]] = []
        try:
            for attempt in range(10):
                pair = [await created(client, "/v1/rounds", round_body(name=f"Race {attempt} {n}")) for n in (1, 2)]
                made += pair
                responses = await asyncio.gather(*(open_(r) for r in pair))
                assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
                winner = next(r.json() for r in responses if r.status_code == 200)
                lost = next(r for r in responses if r.status_code == 409)
                assert lost.headers["content-type"] == "application/problem+json"
                assert lost.json()["open_round"] == winner["href"] and winner["href"] in lost.json()["detail"]
                statuses = [(await client.get(f"/v1/rounds/{r['id']}")).json()["status"] for r in pair]
                assert sorted(statuses) == ["draft", "open"]
                assert (await client.delete(f"/v1/rounds/{winner['id']}")).status_code == 200
        finally:
            # Committed rows stay for the session: leave no round of this test open.
            for round_ in made:
                await client.delete(f"/v1/rounds/{round_['id']}")
        assert (await client.get("/v1/changes/verify", headers=tokens("auditor"))).json()["ok"] is True
