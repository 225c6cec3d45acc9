"""``?expand=``: references replaced by resources, one batch per target collection per level.

These tests use the test-only widget service (tests/gateway/widgets.py) in portfolio's place, so
they cover the general mechanism: external and local references, nested paths, references inside
arrays of objects, references to any collection, need to know, and the limits.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from sqlalchemy import text

from tests.gateway.conftest import Rig, World, create
from tests.support import Tokens

MISSING_CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-00000000ffff"


def batches(rig: Rig, mark: int) -> list[tuple[str, str, list[str]]]:
    """(host, path, ids) of each request the gateway made since ``mark``."""
    out = []
    for request in rig.transport.requests[mark:]:
        params = parse_qsl(request.url.query.decode())
        out.append((request.url.host, request.url.path, sorted(v for k, v in params if k == "id")))
    return out


async def test_list_expands_each_item_with_one_batch(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "chain", "limit": 10})
    assert answer.status_code == 200, answer.text
    items = {w["name"]: w for w in answer.json()["items"]}
    assert items["w1"]["chain"] == world.chain_a
    assert items["w2"]["chain"] == world.chain_b
    assert items["w3"]["chain"] == world.chain_a
    assert items["w1"]["gadget"] == {"href": world.gadget_internal["href"]}  # not asked for: untouched
    assert answer.json()["next"] is None
    sent = batches(widget_rig, mark)
    assert sent == [
        ("widgets.test", "/v1/widgets", []),
        ("valuechains.test", "/v1/chains", sorted([world.chain_a["id"], world.chain_b["id"]])),
    ]
    page_request = widget_rig.transport.requests[mark]
    assert dict(parse_qsl(page_request.url.query.decode())) == {"limit": "10"}  # expand stripped


async def test_expand_is_the_gateways_however_its_name_is_encoded(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    """The gateway parses a query only when it can name expand or include; a percent-encoded name can."""
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets?%65xpand=chain&limit=10")
    assert answer.status_code == 200, answer.text
    assert {w["name"]: w for w in answer.json()["items"]}["w1"]["chain"] == world.chain_a
    page_request = widget_rig.transport.requests[mark]
    assert dict(parse_qsl(page_request.url.query.decode())) == {"limit": "10"}  # expand stripped


async def test_the_next_page_is_expanded_too(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        first = (await client.get("/portfolio/v1/widgets", params={"expand": "chain", "limit": 1})).json()
        assert first["next"] is not None
        assert dict(parse_qsl(first["next"].split("?", 1)[1]))["expand"] == "chain"
        second = (await client.get(first["next"])).json()
    assert second["items"][0]["chain"]["href"].startswith("/valuechains/v1/chains/")
    assert "code" in second["items"][0]["chain"]  # expanded, not just the reference


async def test_one_batch_per_collection_per_level(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader", clearance="secret")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "chain,gadget.chain"})
    assert answer.status_code == 200, answer.text
    items = {w["name"]: w for w in answer.json()["items"]}
    assert items["w1"]["gadget"]["name"] == "open gadget"
    assert items["w1"]["gadget"]["chain"] == world.chain_a
    assert items["w2"]["gadget"]["chain"] == world.chain_b
    assert items["w3"]["gadget"] is None
    sent = batches(widget_rig, mark)
    page, level_one, level_two = sent[0], sent[1:3], sent[3:]
    assert page == ("widgets.test", "/v1/widgets", [])
    assert sorted(level_one) == sorted(
        [
            ("valuechains.test", "/v1/chains", sorted([world.chain_a["id"], world.chain_b["id"]])),
            ("widgets.test", "/v1/gadgets", sorted([world.gadget_internal["id"], world.gadget_confidential["id"]])),
        ]
    )
    assert level_two == [("valuechains.test", "/v1/chains", sorted([world.chain_a["id"], world.chain_b["id"]]))]


async def test_single_resource_and_references_in_arrays(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        answer = await client.get(f"/portfolio/v1/widgets/{world.w1['id']}", params={"expand": "chain,links.target"})
    assert answer.status_code == 200, answer.text
    widget = answer.json()
    assert answer.headers["etag"] == '"1"'
    assert widget["chain"] == world.chain_a
    assert [link["target"] for link in widget["links"]] == [world.chain_a, world.chain_a]
    assert [link["rel"] for link in widget["links"]] == ["r0", "r1"]
    # Three references to one chain: fetched once.
    assert batches(widget_rig, mark)[1:] == [("valuechains.test", "/v1/chains", [world.chain_a["id"]])]


async def test_reference_to_any_collection(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        answer = await client.get(f"/portfolio/v1/widgets/{world.w3['id']}", params={"expand": "see_also"})
    assert answer.json()["see_also"] == world.chain_b


async def test_missing_reference_stays_with_an_error(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    db = widget_rig.suite.apps["widgets"].state.db
    async with db.session(write=True) as session:
        await session.execute(
            text("UPDATE widgets SET chain = :c WHERE id = :id"), {"c": MISSING_CHAIN, "id": world.w3["id"]}
        )
    async with widget_rig.client(tokens("reader")) as client:
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "chain,see_also"})
    assert answer.status_code == 200
    items = {w["name"]: w for w in answer.json()["items"]}
    assert items["w3"]["chain"] == {
        "href": MISSING_CHAIN,
        "error": {
            "type": "/problems/not-found",
            "title": "Not found",
            "status": 404,
            "detail": f"no resource at {MISSING_CHAIN}",
        },
    }
    assert items["w3"]["see_also"] == world.chain_b  # the rest is intact
    assert items["w3"]["name"] == "w3"
    assert items["w1"]["chain"] == world.chain_a


async def test_hidden_confidential_reference_looks_missing(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    path = f"/portfolio/v1/widgets/{world.w2['id']}"
    async with widget_rig.client(tokens("reader")) as uncleared:
        hidden = (await uncleared.get(path, params={"expand": "gadget"})).json()
    async with widget_rig.client(tokens("reader", clearance="confidential")) as cleared:
        shown = (await cleared.get(path, params={"expand": "gadget"})).json()
    assert hidden["gadget"]["href"] == world.gadget_confidential["href"]
    assert hidden["gadget"]["error"]["status"] == 404
    assert set(hidden["gadget"]) == {"href", "error"}
    assert "secret gadget" not in str(hidden)
    # Exactly what a reference to nothing at all looks like: nothing tells them it exists.
    assert hidden["gadget"]["error"]["detail"] == f"no resource at {world.gadget_confidential['href']}"
    assert shown["gadget"] == world.gadget_confidential


async def test_expansion_uses_the_callers_token(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    header = tokens("reader")
    async with widget_rig.client(header) as client:
        mark = widget_rig.mark()
        await client.get("/portfolio/v1/widgets", params={"expand": "chain"})
    assert {r.headers["authorization"] for r in widget_rig.transport.requests[mark:]} == {header["Authorization"]}


@pytest.mark.parametrize(
    ("expand", "named"),
    [
        ("name", "'name' is not a reference"),
        ("colour", "no field 'colour'"),
        ("links", "'links' is not a reference"),
        ("chain.owner", "'owner' is not a reference"),
        ("chain.nope", "no field 'nope'"),
        ("see_also.name", "'see_also' may point at any collection"),
        ("gadget.chain.name", "'name' is not a reference"),
        ("chain..code", "'' is not a field name"),
        ("items.chain", "no field 'items'"),
    ],
)
async def test_bad_expand_path_is_400_naming_it(
    widget_rig: Rig, world: World, tokens: Tokens, expand: str, named: str
) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets", params={"expand": expand})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert expand in answer.json()["detail"] and named in answer.json()["detail"]
    assert widget_rig.transport.requests[mark:] == []  # checked before anything was fetched


async def test_depth_limit(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "gadget.chain.owner.name"})
    assert answer.status_code == 400
    assert "at most 3" in answer.json()["detail"]


async def test_reference_count_limit(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("admin")) as admin:
        at_limit = await create(
            admin, "/portfolio/v1/widgets", {"name": "many", "chain": {"href": world.chain_a["href"]}, "fanout": 1000}
        )
        over = await create(
            admin,
            "/portfolio/v1/widgets",
            {"name": "too many", "chain": {"href": world.chain_a["href"]}, "fanout": 1001},
        )
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        fine = await client.get(f"/portfolio/v1/widgets/{at_limit['id']}", params={"expand": "links.target"})
        assert fine.status_code == 200
        assert all(link["target"] == world.chain_a for link in fine.json()["links"])
        assert len(batches(widget_rig, mark)) == 2
        refused = await client.get(f"/portfolio/v1/widgets/{over['id']}", params={"expand": "links.target"})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "1000 references" in refused.json()["detail"]


async def test_expand_only_on_get(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("admin")) as client:
        answer = await client.post("/portfolio/v1/widgets?expand=chain", json={"name": "x"})
        mark = widget_rig.mark()
        head = await client.head(f"/portfolio/v1/widgets/{world.w1['id']}", params={"expand": "chain"})
    assert answer.status_code == 400 and "GET" in answer.json()["detail"]
    # HEAD has no body to expand: forwarded without the parameter, the service's answer passed on.
    [sent] = widget_rig.transport.requests[mark:]
    assert sent.method == "HEAD" and sent.url.query == b""
    assert head.status_code == 200 and head.content == b""  # the service answers HEAD as its GET


async def test_unreachable_owner_marks_references_not_the_response(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        await client.get("/openapi.json")  # the document is cached while every service is up
        widget_rig.transport.down.add("valuechains.test")
        answer = await client.get(f"/portfolio/v1/widgets/{world.w1['id']}", params={"expand": "chain,gadget"})
    assert answer.status_code == 200
    widget = answer.json()
    assert widget["chain"]["href"] == world.chain_a["href"]
    assert widget["chain"]["error"]["status"] == 503
    assert widget["gadget"]["name"] == "open gadget"


async def test_no_expansion_of_error_answers(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    async with widget_rig.client(tokens("reader")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets/nope", params={"expand": "chain"})
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/not-found"
    assert len(widget_rig.transport.requests[mark:]) == 1


async def test_expand_while_the_services_description_is_missing(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    widget_rig.app.state.openapi.invalidate()
    widget_rig.transport.down.add("widgets.test")
    async with widget_rig.client(tokens("reader")) as client:
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "chain"})
        widget_rig.transport.down.discard("widgets.test")
        widget_rig.upstream("portfolio").breaker.succeeded()
        again = await client.get("/portfolio/v1/widgets", params={"expand": "chain"})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "API description" in answer.json()["detail"]
    assert again.status_code == 200  # the description is fetched again once the service is back
