"""Archive with care (the write pipeline's archive step, for every collection): what active
resources of any service still point at is not archived silently (409 listing them, or forced with
a reason recorded in the feed), an unreachable service makes it 503, and a new reference to an
archived resource is 422 while existing ones stay readable."""

from __future__ import annotations

from typing import Any

import httpx2
from fastapi import FastAPI

from tests.conftest import Suite
from tests.portfolio.helpers import code, created, ebo_body, initiative_body, pm, round_body
from tests.support import Tokens, client_for
from tests.valuechains.helpers import chain_body, make_chain, make_team, team_body


def programme_body() -> dict[str, Any]:
    owner = {"subject": "u1", "name": "N. Owner", "unit": "Dienst IV"}
    return {"code": code("PRG"), "name": "Programme", "ambition": "Ambition.", "owner": owner}


async def chain_events(client: httpx2.AsyncClient, chain: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"subject": chain["href"], "limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_chain_with_an_active_team_is_409_listing_it_and_changes_nothing(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        team = await make_team(admin, chain)
        refused = await admin.delete(f"/v1/chains/{chain['id']}")
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert body["referrers"] == [{"href": team["href"], "field": "chain"}]
        assert body["referrers_not_visible"] == 0
        assert "force=true" in body["detail"]
        assert (await admin.get(f"/v1/chains/{chain['id']}")).json()["status"] == "active"
        assert [e["type"] for e in await chain_events(admin, chain)] == ["chains.created"]
        # Once the team is archived nothing holds the chain: archiving is as before.
        assert (await admin.delete(f"/v1/teams/{team['id']}")).status_code == 200
        archived = await admin.delete(f"/v1/chains/{chain['id']}")
        assert archived.status_code == 200, archived.text
        assert (await chain_events(admin, chain))[-1]["changes"] == {"status": ["active", "archived"]}


async def test_force_needs_a_reason_and_is_recorded_in_the_feed(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        team = await make_team(admin, chain)
        url = f"/v1/chains/{chain['id']}"
        no_reason = await admin.delete(url, params={"force": "true"})
        assert no_reason.status_code == 422, no_reason.text
        assert no_reason.json()["errors"][0]["loc"] == ["query", "reason"]
        empty = await admin.delete(url, params={"force": "true", "reason": ""})
        assert empty.status_code == 422, empty.text
        forced = await admin.delete(url, params={"force": "true", "reason": "merged into the intake chain"})
        assert forced.status_code == 200, forced.text
        assert forced.json()["status"] == "archived"
        # The team stays where it is; the event says why, and that it was forced past one referrer.
        assert (await admin.get(f"/v1/teams/{team['id']}")).json()["status"] == "active"
        event = (await chain_events(admin, chain))[-1]
        assert event["type"] == "chains.archived"
        assert event["changes"] == {
            "status": ["active", "archived"],
            "archive_reason": [None, "merged into the intake chain"],
            "forced": [None, True],
            "referrers": [None, 1],
        }
        verified = await admin.get("/v1/changes/verify")
        assert verified.json()["ok"] is True


async def test_a_reason_alone_is_recorded(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        archived = await admin.delete(f"/v1/chains/{chain['id']}", params={"reason": "never used"})
        assert archived.status_code == 200, archived.text
        assert (await chain_events(admin, chain))[-1]["changes"] == {
            "status": ["active", "archived"],
            "archive_reason": [None, "never used"],
        }


async def test_referrers_in_other_services_hold_it(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("portfolio", pm(tokens)) as manager:
        initiative = await created(manager, "/v1/initiatives", initiative_body(chain["href"]))
        ebo = await created(manager, "/v1/ebos", ebo_body(value_chain={"href": chain["href"]}))
    async with suite.client("valuechains", tokens("admin")) as admin:
        refused = await admin.delete(f"/v1/chains/{chain['id']}")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert sorted(r["href"] for r in body["referrers"]) == sorted([initiative["href"], ebo["href"]])
    assert {r["field"] for r in body["referrers"]} == {"value_chain"}
    assert body["referrers_not_visible"] == 0
    assert "2 active" in body["detail"]


async def test_hidden_referrers_are_counted_not_named(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = (await make_chain(admin))["href"]
    async with suite.client("portfolio", pm(tokens)) as manager:
        programme = await created(manager, "/v1/programmes", programme_body())
        at = {"programme": {"href": programme["href"]}}
        seen = await created(manager, "/v1/initiatives", initiative_body(chain, **at))
        hidden = await created(manager, "/v1/initiatives", initiative_body(chain, data_classification="secret", **at))
    async with suite.client("portfolio", pm(tokens, clearance="internal")) as manager:
        refused = await manager.delete(f"/v1/programmes/{programme['id']}")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["referrers"] == [{"href": seen["href"], "field": "programme"}]
    assert body["referrers_not_visible"] == 1
    assert "2 active" in body["detail"] and hidden["id"] not in refused.text


async def test_records_about_a_resource_do_not_hold_it(suite: Suite, tokens: Tokens) -> None:
    """An allocation is the chain's record of a period; it stays with the archived chain."""
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        body = {"maintenance": 60, "security": 15, "renewal": 25, "budget_eur": 1_000, "rationale": "r"}
        put = await admin.put(f"/v1/chains/{chain['id']}/allocations/2027", json=body)
        assert put.status_code == 201, put.text
        everything = await admin.get("/v1/references", params={"target": chain["href"]})
        assert [r["field"] for r in everything.json()["items"]] == ["chain"]
        in_use = await admin.get("/v1/references", params={"target": chain["href"], "in_use": "true"})
        assert in_use.status_code == 200, in_use.text
        assert in_use.json()["items"] == []
        assert (await admin.delete(f"/v1/chains/{chain['id']}")).status_code == 200


async def test_another_service_down_is_503_and_nothing_is_archived(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        suite.transport.down.add("portfolio.test")
        down = await admin.delete(f"/v1/chains/{chain['id']}", params={"force": "true", "reason": "cleanup"})
        assert down.status_code == 503, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert "portfolio" in down.json()["detail"]
        suite.transport.down.clear()
        assert (await admin.get(f"/v1/chains/{chain['id']}")).json()["status"] == "active"
        assert [e["type"] for e in await chain_events(admin, chain)] == ["chains.created"]


async def test_a_new_reference_to_an_archived_resource_is_422_existing_ones_stay(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("portfolio", pm(tokens)) as manager:
        kept = await created(manager, "/v1/initiatives", initiative_body(chain["href"]))
    async with suite.client("valuechains", tokens("admin")) as admin:
        forced = await admin.delete(f"/v1/chains/{chain['id']}", params={"force": "true", "reason": "split up"})
        assert forced.status_code == 200, forced.text
    async with suite.client("portfolio", pm(tokens)) as manager:
        for path, body in [
            ("/v1/initiatives", initiative_body(chain["href"])),
            ("/v1/ebos", ebo_body(value_chain={"href": chain["href"]})),
        ]:
            refused = await manager.post(path, json=body)
            assert refused.status_code == 422, refused.text
            error = refused.json()["errors"][0]
            assert error["loc"] == ["body", "value_chain"] and error["type"] == "reference_archived"
        # The initiative that already points at it stays readable and changeable, the reference kept.
        read = await manager.get(f"/v1/initiatives/{kept['id']}")
        assert read.status_code == 200 and read.json()["value_chain"] == {"href": chain["href"]}
        same = await manager.patch(
            f"/v1/initiatives/{kept['id']}",
            json={"name": "Digitale aangifte 2", "value_chain": {"href": chain["href"]}},
            headers={"If-Match": f'"{kept["version"]}"'},
        )
        assert same.status_code == 200, same.text


async def test_local_references_and_round_items(suite: Suite, tokens: Tokens) -> None:
    """The same rules inside a service: an archived programme takes no new initiative (422), and an
    initiative planned in a draft round is held by its item, while a closed round's items do not hold it."""
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = (await make_chain(admin))["href"]
    async with suite.client("portfolio", pm(tokens)) as manager:
        programme = await created(manager, "/v1/programmes", programme_body())
        assert (await manager.delete(f"/v1/programmes/{programme['id']}")).status_code == 200
        refused = await manager.post(
            "/v1/initiatives", json=initiative_body(chain, programme={"href": programme["href"]})
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0] == {
            "loc": ["body", "programme"],
            "msg": f"{programme['href']} is archived: a new reference must point at a live resource",
            "type": "reference_archived",
        }
        initiative = await created(manager, "/v1/initiatives", initiative_body(chain))
        draft = await created(manager, "/v1/rounds", round_body())
        item = await created(
            manager,
            f"/v1/rounds/{draft['id']}/items",
            {"initiative": {"href": initiative["href"]}, "rank": 1, "decision": "start"},
        )
        held = await manager.delete(f"/v1/initiatives/{initiative['id']}")
        assert held.status_code == 409, held.text
        assert held.json()["referrers"] == [{"href": item["href"], "field": "initiative"}]
        # A draft round is archived with its items: they are part of it, not holders of it.
        assert (await manager.delete(f"/v1/rounds/{draft['id']}")).status_code == 200
        assert (await manager.delete(f"/v1/initiatives/{initiative['id']}")).status_code == 200


async def test_the_gateway_asks_every_service_what_holds_a_resource_in_use(
    suite_gateway: FastAPI, tokens: Tokens
) -> None:
    async with client_for(suite_gateway, tokens("admin")) as admin:
        chain = (await admin.post("/valuechains/v1/chains", json=chain_body())).json()
        team = await admin.post(f"/valuechains/v1/chains/{chain['id']}/teams", json=team_body())
        allocation = await admin.put(
            f"/valuechains/v1/chains/{chain['id']}/allocations/2027",
            json={"maintenance": 60, "security": 15, "renewal": 25, "budget_eur": 1_000, "rationale": "r"},
        )
        initiative = await admin.post("/portfolio/v1/initiatives", json=initiative_body(chain["href"]))
        assert team.status_code == allocation.status_code == initiative.status_code == 201
        every = await admin.get("/references", params={"target": chain["href"]})
        assert len(every.json()["items"]) == 3
        in_use = await admin.get("/references", params={"target": chain["href"], "in_use": "true", "limit": 1})
        assert in_use.status_code == 200, in_use.text
        assert sorted(i["href"] for i in in_use.json()["items"]) == sorted(
            [team.json()["href"], initiative.json()["href"]]
        )
        refused = await admin.delete(f"/valuechains/v1/chains/{chain['id']}")
        assert refused.status_code == 409, refused.text
        assert sorted(r["href"] for r in refused.json()["referrers"]) == sorted(
            i["href"] for i in in_use.json()["items"]
        )
