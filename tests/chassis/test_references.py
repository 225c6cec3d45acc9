"""References across services: checked with their owner, with the caller's own token, in one batch;
and every service answers who points at a resource."""

from __future__ import annotations

from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
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
            [{"href": first["href"], "field": "value_chain"}, {"href": second["href"], "field": "value_chain"}],
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
