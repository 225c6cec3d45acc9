"""References across services: checked with their owner, with the caller's own token, in one batch;
and every service answers who points at a resource."""

from __future__ import annotations

from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.portfolio.test_initiative_applications import make_application, named
from tests.support import Tokens


async def test_a_reference_is_checked_with_its_owner_using_the_callers_token(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    caller = pm(tokens)
    mark = len(suite.transport.requests)
    async with suite.client("portfolio", caller) as client:
        created = await client.post("/v1/initiatives", json=initiative_body(chain))
    assert created.status_code == 201, created.text
    [check] = suite.transport.requests[mark:]
    assert check.url.host == "valuechains.test"
    assert check.method == "GET"
    assert check.url.path == "/v1/chains"
    assert check.url.params.get_list("id") == [chain.rsplit("/", 1)[1]]
    assert check.headers["authorization"] == caller["Authorization"]


async def test_every_service_says_who_points_at_a_resource(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        first = (await client.post("/v1/initiatives", json=initiative_body(chain))).json()
        second = (await client.post("/v1/initiatives", json=initiative_body(chain, name="Tweede"))).json()
        await client.delete(f"/v1/initiatives/{second['id']}")  # archived resources still point
        pointing = (await client.get("/v1/references", params={"target": chain})).json()
        assert sorted(pointing["items"], key=lambda i: i["href"]) == sorted(
            [
                {"href": first["href"], "field": "value_chain", "target": chain},
                {"href": second["href"], "field": "value_chain", "target": chain},
            ],
            key=lambda i: i["href"],
        )
        paged = (await client.get("/v1/references", params={"target": chain, "limit": 1})).json()
        assert len(paged["items"]) == 1
        assert paged["next"].startswith("/portfolio/v1/references?")
        rest = (await client.get(paged["next"].removeprefix("/portfolio"))).json()
        assert {i["href"] for i in paged["items"] + rest["items"]} == {first["href"], second["href"]}
        assert (await client.get("/v1/references", params={"target": "not-an-href"})).status_code == 422
    async with suite.client("valuechains", tokens("reader")) as client:
        assert (await client.get("/v1/references", params={"target": chain})).json() == {"items": [], "next": None}


async def test_one_question_for_many_targets_says_which_each_referrer_points_at(suite: Suite, tokens: Tokens) -> None:
    """What the principles follower asks for a page of changes: every target at once, each item
    naming its target, through a stored href (``value_chain``) and a link table (``applications``),
    paged across all of them."""
    one, other = await make_chain(suite, tokens), await make_chain(suite, tokens)
    application = await make_application(suite, tokens, other)
    nobody = "/valuechains/v1/chains/019a0000-0000-7000-8000-00000000dead"
    async with suite.client("portfolio", pm(tokens)) as client:
        first = (await client.post("/v1/initiatives", json=initiative_body(one))).json()
        body = initiative_body(other, name="Vervangen", applications=named((application, "replaces")))
        second = (await client.post("/v1/initiatives", json=body)).json()
        targets = [one, other, application, nobody, one]  # a target twice is asked about once
        answer = await client.get("/v1/references", params={"target": targets})
        assert answer.status_code == 200, answer.text
        expected = [
            {"href": first["href"], "field": "value_chain", "target": one},
            {"href": second["href"], "field": "applications", "target": application},
            {"href": second["href"], "field": "value_chain", "target": other},
        ]
        assert answer.json() == {"items": sorted(expected, key=lambda i: (i["href"], i["field"])), "next": None}
        # Page by page, one at a time: every item once, in the same order.
        seen, page = [], (await client.get("/v1/references", params={"target": targets, "limit": 1})).json()
        while True:
            seen += page["items"]
            if not page["next"]:
                break
            page = (await client.get(page["next"].removeprefix("/portfolio"))).json()
        assert seen == answer.json()["items"]
        # Each target checked, by position; at most 100.
        bad = await client.get("/v1/references", params={"target": [one, "not-an-href"]})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "target", 1]
        many = [f"/valuechains/v1/chains/019a0000-0000-7000-8000-{n:012d}" for n in range(101)]
        too_many = await client.get("/v1/references", params={"target": many})
        assert too_many.status_code == 422
        assert (await client.get("/v1/references")).status_code == 422  # a target is required
