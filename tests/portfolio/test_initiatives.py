"""Initiatives and programmes: fields, references checked with valuechains, lifecycle, filters, need to know."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.portfolio.helpers import OWNER, code, created, events, initiative_body, make_chain, patched, pm
from tests.support import Tokens


async def programme(suite: Suite, tokens: Tokens, **overrides: Any) -> dict[str, Any]:
    async with suite.client("portfolio", pm(tokens)) as client:
        body = {"code": code("P"), "name": "Vernieuwend Registreren", "ambition": "Register once.", "owner": OWNER}
        return await created(client, "/v1/programmes", {**body, **overrides})


async def test_create_with_every_field(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    prog = await programme(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        body = initiative_body(
            chain,
            programme={"href": prog["href"]},
            kind="security",
            funding="incidental",
            budget_eur=750_000,
            hosting="hybrid",
            data_classification="public",
            uses_generic_facilities=False,
        )
        response = await client.post("/v1/initiatives", json=body)
        assert response.status_code == 201, response.text
        item = response.json()
        assert response.headers["location"] == item["href"] == f"/portfolio/v1/initiatives/{item['id']}"
        assert response.headers["etag"] == '"1"'
        assert item["programme"] == {"href": f"/portfolio/v1/programmes/{prog['id']}"}
        assert item["value_chain"] == {"href": chain}
        expected = {k: v for k, v in body.items() if k not in ("programme", "value_chain")}
        assert {k: item[k] for k in expected} == expected
        assert item["status"] == "proposed" and item["version"] == 1

        got = await client.get(f"/v1/initiatives/{item['id']}")
        assert got.status_code == 200 and got.json() == item


async def test_unknown_chain_is_422_naming_the_field_and_stores_nothing(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as client:
        missing = "/valuechains/v1/chains/019a0000-0000-7000-8000-00000000ffff"
        response = await client.post("/v1/initiatives", json=initiative_body(missing, name="Spook"))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["loc"] for e in problem["errors"]] == [["body", "value_chain"]]
        assert "value_chain" in problem["detail"]
        listed = await client.get("/v1/initiatives")
        assert all(i["name"] != "Spook" for i in listed.json()["items"])


async def test_valuechains_unreachable_is_503_and_nothing_is_stored(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    suite.transport.down.add("valuechains.test")
    async with suite.client("portfolio", pm(tokens)) as client:
        before = (await client.get("/v1/changes", params={"limit": 100})).json()["items"]
        response = await client.post("/v1/initiatives", json=initiative_body(chain, name="Onbereikbaar"))
        assert response.status_code == 503, response.text
        assert response.json()["type"] == "/problems/unavailable"
        listed = await client.get("/v1/initiatives")
        assert all(i["name"] != "Onbereikbaar" for i in listed.json()["items"])
        after = (await client.get("/v1/changes", params={"limit": 100})).json()["items"]
        assert after == before

        # A change that does not touch the reference needs no answer from valuechains.
        suite.transport.down.discard("valuechains.test")
        item = await created(client, "/v1/initiatives", initiative_body(chain))
        suite.transport.down.add("valuechains.test")
        moved = await client.patch(
            f"/v1/initiatives/{item['id']}", json={"value_chain": {"href": chain}}, headers={"If-Match": '"1"'}
        )
        assert moved.status_code == 503
        renamed = await patched(client, f"/v1/initiatives/{item['id']}", {"name": "Hernoemd"}, 1)
        assert renamed["name"] == "Hernoemd"


async def test_unknown_programme_is_422(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        body = initiative_body(
            chain, programme={"href": "/portfolio/v1/programmes/019a0001-0000-7000-8000-00000000ffff"}
        )
        response = await client.post("/v1/initiatives", json=body)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "programme"]]


async def test_end_before_start_is_422(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        response = await client.post(
            "/v1/initiatives", json=initiative_body(chain, start="2026-06-01", end="2026-05-31")
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "end"]

        item = await created(client, "/v1/initiatives", initiative_body(chain))
        late_start = await client.patch(
            f"/v1/initiatives/{item['id']}", json={"start": "2027-01-01"}, headers={"If-Match": '"1"'}
        )
        assert late_start.status_code == 422
        assert late_start.json()["errors"][0]["loc"] == ["body", "start"]
        assert (await client.get(f"/v1/initiatives/{item['id']}")).json()["start"] == "2026-01-01"


async def test_status_moves_along_the_lifecycle(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        item = await created(client, "/v1/initiatives", initiative_body(chain))
        path = f"/v1/initiatives/{item['id']}"

        skipped = await client.patch(path, json={"status": "active"}, headers={"If-Match": '"1"'})
        assert skipped.status_code == 409
        problem = skipped.json()
        assert problem["allowed"] == ["approved", "stopped"]
        assert "approved, stopped" in problem["detail"]

        version = 1
        for status in ("approved", "active", "delivered"):
            version = (await patched(client, path, {"status": status}, version))["version"]

        final = await client.patch(path, json={"status": "stopped"}, headers={"If-Match": f'"{version}"'})
        assert final.status_code == 409
        assert final.json()["allowed"] == []

        other = await created(client, "/v1/initiatives", initiative_body(chain))
        approved = await patched(client, f"/v1/initiatives/{other['id']}", {"status": "approved"}, 1)
        stopped = await patched(client, f"/v1/initiatives/{other['id']}", {"status": "stopped"}, approved["version"])
        assert stopped["status"] == "stopped"

        feed = await events(client, item["href"])
        assert [e["changes"].get("status") for e in feed[1:]] == [
            ["proposed", "approved"],
            ["approved", "active"],
            ["active", "delivered"],
        ]


async def test_filters(suite: Suite, tokens: Tokens) -> None:
    ops = await make_chain(suite, tokens, "Opsporing")
    nhm = await make_chain(suite, tokens, "Noodhulp")
    prog = await programme(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        a = await created(client, "/v1/initiatives", initiative_body(ops, programme={"href": prog["href"]}))
        b = await created(
            client,
            "/v1/initiatives",
            initiative_body(
                nhm, kind="maintenance", funding="incidental", hosting="public_cloud", data_classification="public"
            ),
        )
        c = await created(
            client, "/v1/initiatives", initiative_body(nhm, kind="security", uses_generic_facilities=False)
        )
        c = await patched(client, f"/v1/initiatives/{c['id']}", {"status": "approved"}, 1)

        async def ids(**params: str | int | bool) -> set[str]:
            response = await client.get("/v1/initiatives", params={**params, "limit": 100})
            assert response.status_code == 200, response.text
            return {i["id"] for i in response.json()["items"]} & {a["id"], b["id"], c["id"]}

        assert await ids(programme=prog["href"]) == {a["id"]}
        assert await ids(programme=prog["id"]) == {a["id"]}
        assert await ids(value_chain=nhm) == {b["id"], c["id"]}
        assert await ids(value_chain=nhm, kind="security") == {c["id"]}
        assert await ids(funding="incidental") == {b["id"]}
        assert await ids(status="approved") == {c["id"]}
        assert await ids(hosting="public_cloud") == {b["id"]}
        assert await ids(data_classification="public") == {b["id"]}
        assert await ids(uses_generic_facilities=False) == {c["id"]}
        bad = await client.get("/v1/initiatives", params={"kind": "innovation"})
        assert bad.status_code == 422


async def test_only_portfolio_managers_write(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    for role in ("reader", "contributor", "architect", "chain_owner"):
        async with suite.client("portfolio", tokens(role, unit="Eenheid Rotterdam")) as client:
            response = await client.post("/v1/initiatives", json=initiative_body(chain))
            assert response.status_code == 403, role
    # The right to write is checked before asking valuechains anything.
    suite.transport.down.add("valuechains.test")
    async with suite.client("portfolio", tokens("reader")) as client:
        assert (await client.post("/v1/initiatives", json=initiative_body(chain))).status_code == 403
    async with suite.client("portfolio", tokens("admin")) as client:
        assert (await client.post("/v1/initiatives", json=initiative_body(chain))).status_code == 503


async def test_need_to_know(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as client:
        secret = await created(
            client, "/v1/initiatives", initiative_body(chain, name="Geheim", data_classification="secret")
        )
        open_ = await created(client, "/v1/initiatives", initiative_body(chain, name="Open"))
    async with suite.client("portfolio", tokens("reader", clearance="confidential")) as reader:
        assert (await reader.get(f"/v1/initiatives/{secret['id']}")).status_code == 404
        listed = {i["id"] for i in (await reader.get("/v1/initiatives", params={"limit": 100})).json()["items"]}
        assert open_["id"] in listed and secret["id"] not in listed
        batch = await reader.get("/v1/initiatives", params=[("id", secret["id"]), ("id", open_["id"])])
        assert [i["id"] for i in batch.json()["items"]] == [open_["id"]]
        assert await events(reader, secret["href"]) == []
    async with suite.client("portfolio", tokens("reader", clearance="secret")) as cleared:
        assert (await cleared.get(f"/v1/initiatives/{secret['id']}")).status_code == 200
        assert len(await events(cleared, secret["href"])) == 1
    async with suite.client("portfolio", pm(tokens, clearance="internal")) as manager:
        # Invisible is invisible for writers too.
        response = await manager.patch(
            f"/v1/initiatives/{secret['id']}", json={"name": "x"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 404


async def test_programme_status_moves_and_filters(suite: Suite, tokens: Tokens) -> None:
    proposed = await programme(suite, tokens, status="proposed", owner={**OWNER, "unit": "Landelijke Eenheid"})
    async with suite.client("portfolio", pm(tokens)) as client:
        path = f"/v1/programmes/{proposed['id']}"
        backwards = await client.patch(path, json={"status": "completed"}, headers={"If-Match": '"1"'})
        assert backwards.status_code == 409 and backwards.json()["allowed"] == ["active"]
        active = await patched(client, path, {"status": "active"}, 1)
        back = await client.patch(path, json={"status": "proposed"}, headers={"If-Match": f'"{active["version"]}"'})
        assert back.status_code == 409 and back.json()["allowed"] == ["completed"]
        listed = await client.get("/v1/programmes", params={"owner_unit": "Landelijke Eenheid", "status": "active"})
        assert [p["id"] for p in listed.json()["items"]] == [proposed["id"]]
    async with suite.client("portfolio", tokens("contributor", unit="Dienst IV")) as contributor:
        body = {"code": code("P"), "name": "X", "ambition": "Y", "owner": OWNER}
        assert (await contributor.post("/v1/programmes", json=body)).status_code == 403
