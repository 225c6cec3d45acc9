"""``GET /references?target=``: every service asked, the answers merged and paged."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import Rig, World
from tests.support import Tokens


async def collect(client: Any, first: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url: str | None = first
    pages = 0
    while url is not None:
        answer = await client.get(url)
        assert answer.status_code == 200, answer.text
        items.extend(answer.json()["items"])
        url = answer.json()["next"]
        pages += 1
        assert pages < 20
    return items


async def test_fan_out_merges_every_service(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    target = world.chain_a["href"]
    async with widget_rig.client(tokens("reader", clearance="secret")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/references", params={"target": target})
    assert answer.status_code == 200, answer.text
    found = {(item["href"], item["field"]) for item in answer.json()["items"]}
    assert {
        (world.w1["href"], "chain"),
        (world.w3["href"], "chain"),
        (world.gadget_internal["href"], "chain"),
    } <= found
    assert all(
        item["href"].startswith(("/portfolio/", "/valuechains/", "/principles/")) for item in answer.json()["items"]
    )
    assert answer.json()["next"] is None
    asked = {(r.url.host, r.url.path) for r in widget_rig.transport.requests[mark:]}
    assert asked == {
        ("valuechains.test", "/v1/references"),
        ("widgets.test", "/v1/references"),
        ("principles.test", "/v1/references"),
    }


async def test_fan_out_pages_follow_each_service(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    target = world.chain_a["href"]
    async with widget_rig.client(tokens("reader", clearance="secret")) as client:
        everything = (await client.get("/references", params={"target": target})).json()["items"]
        first = await client.get("/references", params={"target": target, "limit": 1})
        assert first.json()["next"] is not None
        assert first.json()["next"].startswith("/references?")
        paged = await collect(client, f"/references?target={target}&limit=1")
    assert sorted(map(str, paged)) == sorted(map(str, everything))
    assert len(paged) == len(everything) >= 3


async def test_fan_out_asks_for_many_targets_at_once(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    targets = [world.chain_a["href"], world.chain_b["href"]]
    async with widget_rig.client(tokens("reader", clearance="secret")) as client:
        each = [
            item
            for target in targets
            for item in (await client.get("/references", params={"target": target})).json()["items"]
        ]
        mark = widget_rig.mark()
        both = (await client.get("/references", params={"target": targets})).json()
        asked = widget_rig.transport.requests[mark:]
        paged = await collect(client, f"/references?target={targets[0]}&target={targets[1]}&limit=1")
    assert {item["target"] for item in each} == set(targets)
    assert sorted(map(str, both["items"])) == sorted(map(str, each)) == sorted(map(str, paged))
    assert len(asked) == 3  # one question to each service, for both targets
    assert all(r.url.params.get_list("target") == targets for r in asked)


async def test_fan_out_honours_need_to_know(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    target = world.chain_b["href"]
    async with widget_rig.client(tokens("reader")) as uncleared:
        hidden = {i["href"] for i in (await uncleared.get("/references", params={"target": target})).json()["items"]}
    async with widget_rig.client(tokens("reader", clearance="confidential")) as cleared:
        shown = {i["href"] for i in (await cleared.get("/references", params={"target": target})).json()["items"]}
    assert world.gadget_confidential["href"] in shown
    assert world.gadget_confidential["href"] not in hidden
    assert {world.w2["href"], world.w3["href"]} <= hidden


async def test_fan_out_is_503_when_a_service_is_missing(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    widget_rig.transport.down.add("principles.test")
    async with widget_rig.client(tokens("reader")) as client:
        answer = await client.get("/references", params={"target": world.chain_a["href"]})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "principles" in answer.json()["detail"]


async def test_fan_out_checks_its_input(widget_rig: Rig, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        not_href = await client.get("/references", params={"target": "https://elders.example/x"})
        bad_cursor = await client.get("/references", params={"target": "/valuechains/v1/chains/x", "after": "!!"})
        bad_limit = await client.get("/references", params={"target": "/valuechains/v1/chains/x", "limit": 0})
    async with widget_rig.client() as anonymous:
        no_token = await anonymous.get("/references", params={"target": "/valuechains/v1/chains/x"})
    for answer in (not_href, bad_cursor, bad_limit):
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
    assert not_href.json()["errors"][0]["loc"] == ["query", "target", 0]
    assert no_token.status_code == 401
