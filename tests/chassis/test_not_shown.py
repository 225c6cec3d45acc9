"""``count_not_shown=true`` on every list: ``not_shown`` is how many records matching the list's
filters the caller may not see under need to know (services.chassis.visibility, ``hidden_where``;
docs/architecture.md section 5, "Need to know")."""

from __future__ import annotations

import re
from typing import Any

import httpx2

from tests.chassis.test_need_to_know import UNCLEARED_UNIT, make_world
from tests.chassis.test_partners import om
from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.support import Tokens

EXPECTED_HIDDEN = {
    ("valuechains", "/v1/applications"): 1,
    ("portfolio", "/v1/initiatives"): 2,
    ("portfolio", "/v1/ebos"): 1,
    ("principles", "/v1/evaluations"): 1,
    ("principles", "/v1/explanations"): 1,
    ("principles", "/v1/simplicity-reviews"): 1,
}
"""The secret records of ``make_world`` by list, as an uncleared reader of another unit misses them."""


def top_level_lists(document: dict[str, Any]) -> list[str]:
    """``/v1/<collection>`` lists: those with a batch get (``id``), which every collection's list has."""
    return [
        path
        for path, item in document["paths"].items()
        if re.fullmatch(r"/v1/[a-z_-]+", path)
        and "get" in item
        and any(p["name"] == "id" for p in item["get"].get("parameters", []))
    ]


async def every_item(client: httpx2.AsyncClient, path: str, query: dict[str, Any]) -> dict[str, Any]:
    answer = await client.get(path, params={"limit": 100, **query})
    assert answer.status_code == 200, f"{path}: {answer.text}"
    page: dict[str, Any] = answer.json()
    assert page["next"] is None, f"{path}: more than a page"
    return page


async def test_every_list_counts_exactly_the_records_it_leaves_out(suite: Suite, tokens: Tokens) -> None:
    await make_world(suite, tokens)
    admin = tokens("admin", sub="u-ntk-admin", clearance="secret")
    readers = {
        "another unit": tokens("reader", sub="u-ns-1", clearance="internal", unit=UNCLEARED_UNIT),
        "no unit": tokens("reader", sub="u-ns-2", clearance="public"),
    }
    found: dict[tuple[str, str, str], int] = {}
    for service in ("valuechains", "portfolio", "principles"):
        lists = top_level_lists(suite.apps[service].openapi())
        assert lists
        async with suite.client(service, admin) as client:
            everything = {path: await every_item(client, path, {}) for path in lists}
            assert all(set(page) == {"items", "next"} for page in everything.values()), "not asked for"
        for who, headers in readers.items():
            async with suite.client(service, headers) as client:
                for path in lists:
                    page = await every_item(client, path, {"count_not_shown": True})
                    # Need to know and its complement agree: what is shown plus what is not is all.
                    assert len(page["items"]) + page["not_shown"] == len(everything[path]["items"]), (who, path)
                    found[(who, service, path)] = page["not_shown"]
    for (service, path), hidden in EXPECTED_HIDDEN.items():
        assert found[("another unit", service, path)] == hidden, path
    assert found[("another unit", "principles", "/v1/assessments")] >= 1
    assert found[("no unit", "portfolio", "/v1/initiatives")] > 2  # public: the internal one too
    own_unit = tokens("reader", sub="u-ns-3", clearance="internal", unit="Eenheid Rotterdam")
    for headers, hidden in ((own_unit, 0), (admin, 0), (tokens("reader", sub="u-ns-4", clearance="secret"), 0)):
        async with suite.client("portfolio", headers) as client:
            assert (await every_item(client, "/v1/ebos", {"count_not_shown": True}))["not_shown"] == hidden


async def test_the_count_follows_the_filters_and_archive_choice_and_is_asked_once(suite: Suite, tokens: Tokens) -> None:
    chain, other = await make_chain(suite, tokens), await make_chain(suite, tokens, "Handhaving")
    async with suite.client("portfolio", pm(tokens)) as manager:
        made = []
        for name, classification in (("Open", "internal"), ("Geheim", "secret"), ("Ook geheim", "secret")):
            body = initiative_body(chain, name=name, data_classification=classification)
            made.append((await manager.post("/v1/initiatives", json=body)).json())
        archived = await manager.delete(f"/v1/initiatives/{made[2]['id']}")
        assert archived.status_code == 200, archived.text
        first = await manager.get("/v1/initiatives", params={"count_not_shown": "true", "limit": 1})
    assert first.json()["not_shown"] == 0 and "count_not_shown" not in first.json()["next"]
    public, secret = made[0], made[1]

    async def count(**query: Any) -> tuple[int, int]:
        page = (await reader.get("/v1/initiatives", params={"count_not_shown": "true", "limit": 100, **query})).json()
        mine = [i for i in page["items"] if i["value_chain"]["href"] in (chain, other)]
        return len(mine), page["not_shown"]

    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        assert await count(value_chain=chain) == (1, 1)
        assert await count(value_chain=chain, include_archived="true") == (1, 2)
        assert await count(value_chain=other) == (0, 0)
        assert await count(value_chain=chain, kind="renewal") == (1, 1)
        assert await count(value_chain=chain, kind="maintenance") == (0, 0)
        both: dict[str, Any] = {"id": [public["id"], secret["id"]], "count_not_shown": True}
        batch = await reader.get("/v1/initiatives", params=both)
        assert [i["id"] for i in batch.json()["items"]] == [public["id"]] and batch.json()["not_shown"] == 1
        plain = await reader.get("/v1/initiatives", params={"value_chain": chain})
        assert set(plain.json()) == {"items", "next"}
        bad = await reader.get("/v1/initiatives", params={"count_not_shown": "maybe"})
        twice = await reader.get("/v1/initiatives", params=[("count_not_shown", "true"), ("count_not_shown", "true")])
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert twice.status_code == 400 and twice.headers["content-type"] == "application/problem+json"


async def test_a_partner_may_not_ask_for_the_count(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", om(tokens)) as partner:
        listed = await partner.get("/v1/applications")
        refused = await partner.get("/v1/applications", params={"count_not_shown": "true"})
        not_even_false = await partner.get("/v1/chains", params={"count_not_shown": "false"})
    assert listed.status_code == 200
    assert refused.status_code == 403 and "count_not_shown" in refused.json()["detail"]
    assert not_even_false.status_code == 403
