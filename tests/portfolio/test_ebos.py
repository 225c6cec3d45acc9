"""EBOs: registration by the unit itself, decisions with reasons, need to know that includes the unit."""

from __future__ import annotations

from tests.conftest import Suite
from tests.portfolio.helpers import created, ebo_body, events, make_chain, patched, pm
from tests.support import Tokens

RDM, AMS = "Eenheid Rotterdam", "Eenheid Amsterdam"


async def test_contributor_registers_for_their_own_unit_only(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    rdm = tokens("contributor", sub="u-dev-rdm", unit=RDM)
    async with suite.client("portfolio", rdm) as client:
        ebo = await created(client, "/v1/ebos", ebo_body(RDM, value_chain={"href": chain}))
        assert ebo["status"] == "registered" and ebo["decision"] is None
        assert ebo["value_chain"] == {"href": chain} and ebo["unit"] == RDM

        foreign = await client.post("/v1/ebos", json=ebo_body(AMS))
        assert foreign.status_code == 403
        assert AMS in foreign.json()["detail"]

        changed = await patched(client, f"/v1/ebos/{ebo['id']}", {"users": 80}, 1)
        assert changed["users"] == 80
        moved = await client.patch(f"/v1/ebos/{ebo['id']}", json={"unit": AMS}, headers={"If-Match": '"2"'})
        assert moved.status_code == 403
        status = await client.patch(f"/v1/ebos/{ebo['id']}", json={"status": "adopted"}, headers={"If-Match": '"2"'})
        assert status.status_code == 422  # the status changes only by a decision

    async with suite.client("portfolio", tokens("contributor", unit=AMS)) as other:
        response = await other.patch(f"/v1/ebos/{ebo['id']}", json={"users": 1}, headers={"If-Match": '"2"'})
        assert response.status_code == 403
        assert (await other.delete(f"/v1/ebos/{ebo['id']}")).status_code == 403
    async with suite.client("portfolio", tokens("contributor")) as no_unit:
        assert (await no_unit.post("/v1/ebos", json=ebo_body(RDM))).status_code == 403
    async with suite.client("portfolio", tokens("reader", unit=RDM)) as reader:
        assert (await reader.post("/v1/ebos", json=ebo_body(RDM))).status_code == 403
    async with suite.client("portfolio", pm(tokens)) as manager:
        assert (await manager.post("/v1/ebos", json=ebo_body(AMS))).status_code == 201


async def test_unknown_chain_is_422(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", tokens("contributor", unit=RDM)) as client:
        missing = {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-00000000ffff"}
        response = await client.post("/v1/ebos", json=ebo_body(RDM, value_chain=missing))
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "value_chain"]


async def test_decisions_with_reasons(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", tokens("contributor", unit=RDM)) as dev:
        ebo = await created(dev, "/v1/ebos", ebo_body(RDM))
        path = f"/v1/ebos/{ebo['id']}/decision"
        assert (await dev.post(path, json={"status": "under_review", "reason": "Mine."})).status_code == 403

    async with suite.client("portfolio", pm(tokens)) as client:
        skipped = await client.post(path, json={"status": "adopted", "reason": "Looks fine."})
        assert skipped.status_code == 409
        assert skipped.json()["allowed"] == ["under_review"]
        assert (await client.post(path, json={"status": "under_review"})).status_code == 422
        stale = await client.post(path, json={"status": "under_review", "reason": "Why"}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412

        review = await client.post(
            path,
            json={"status": "under_review", "reason": "Same as the planner of Amsterdam?"},
            headers={"If-Match": '"1"'},
        )
        assert review.status_code == 200, review.text
        assert review.headers["etag"] == '"2"'
        reviewed = review.json()
        assert reviewed["status"] == "under_review"
        assert reviewed["decision"]["status"] == "under_review"
        assert reviewed["decision"]["reason"] == "Same as the planner of Amsterdam?"
        assert reviewed["decision"]["by"] == "u-pm-1"

        again = await client.post(path, json={"status": "under_review", "reason": "Again."})
        assert again.status_code == 409

        tolerated = await client.post(
            path, json={"status": "tolerated", "reason": "Until the national planner is live."}
        )
        assert tolerated.json()["status"] == "tolerated"
        out = await client.post(path, json={"status": "phased_out", "reason": "National planner is live."})
        assert out.json()["status"] == "phased_out"
        final = await client.post(path, json={"status": "adopted", "reason": "Changed our minds."})
        assert final.status_code == 409 and final.json()["allowed"] == []

        feed = await events(client, ebo["href"])
        assert [e["changes"]["status"] for e in feed[1:]] == [
            ["registered", "under_review"],
            ["under_review", "tolerated"],
            ["tolerated", "phased_out"],
        ]
        assert feed[2]["changes"]["decision"][1]["reason"] == "Until the national planner is live."
        assert feed[2]["actor"] == "u-pm-1"

        listed = await client.get("/v1/ebos", params={"status": "phased_out", "unit": RDM})
        assert [e["id"] for e in listed.json()["items"]] == [ebo["id"]]


async def test_need_to_know_includes_the_unit(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", tokens("contributor", unit=RDM)) as dev:
        secret = await created(dev, "/v1/ebos", ebo_body(RDM, name="Zedenzaken-triage", data_classification="secret"))
        twin = await created(dev, "/v1/ebos", ebo_body(RDM, name="Zedenzaken triage", data_classification="internal"))
        # Their own unit sees it, whatever their clearance.
        assert (await dev.get(f"/v1/ebos/{secret['id']}")).status_code == 200
        assert len(await events(dev, secret["href"])) == 1

    async with suite.client("portfolio", tokens("reader", unit=AMS, clearance="confidential")) as other:
        assert (await other.get(f"/v1/ebos/{secret['id']}")).status_code == 404
        listed = {e["id"] for e in (await other.get("/v1/ebos", params={"limit": 100})).json()["items"]}
        assert secret["id"] not in listed and twin["id"] in listed
        batch = await other.get("/v1/ebos", params=[("id", secret["id"])])
        assert batch.json()["items"] == []
        assert await events(other, secret["href"]) == []
        pairs = (await other.get("/v1/duplicates", params={"kind": "ebo", "min_score": 50})).json()["items"]
        assert all(secret["href"] not in (p["a"]["href"], p["b"]["href"]) for p in pairs)
        # A reader may decide on nothing: the same 403 for a hidden EBO as for one that does not exist.
        decision = {"status": "under_review", "reason": "Why?"}
        hidden = await other.post(f"/v1/ebos/{secret['id']}/decision", json=decision)
        nowhere = await other.post("/v1/ebos/019a0000-dead-7000-8000-000000000000/decision", json=decision)
        assert hidden.status_code == nowhere.status_code == 403
        assert hidden.json()["detail"] == nowhere.json()["detail"]

    async with suite.client("portfolio", tokens("portfolio_manager", unit=AMS, clearance="confidential")) as manager:
        # One who may decide, but is not cleared for it: to them it does not exist.
        decided = await manager.post(f"/v1/ebos/{secret['id']}/decision", json=decision)
        assert decided.status_code == 404

    async with suite.client("portfolio", tokens("reader", unit=AMS, clearance="secret")) as cleared:
        assert (await cleared.get(f"/v1/ebos/{secret['id']}")).status_code == 200
        pairs = (await cleared.get("/v1/duplicates", params={"kind": "ebo"})).json()["items"]
        assert {(p["a"]["href"], p["b"]["href"]) for p in pairs} >= {(secret["href"], twin["href"])}


async def test_only_a_portfolio_manager_archives_an_ebo(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", tokens("contributor", sub="u-dev-rdm", unit=RDM)) as dev:
        ebo = await created(dev, "/v1/ebos", ebo_body(RDM))
        path = f"/v1/ebos/{ebo['id']}"
        # Their own unit's EBO: they register and update it, but taking it out of the register is not theirs.
        own = await dev.delete(path)
        assert own.status_code == 403 and "portfolio_manager" in own.json()["detail"]
        assert (await dev.delete(path, headers={"If-Match": '"1"'})).status_code == 403
        unchanged = await dev.get(path)
        assert unchanged.json()["status"] == "registered" and unchanged.json()["version"] == 1
        assert [e["type"] for e in await events(dev, ebo["href"])] == ["ebos.created"]
    async with suite.client("portfolio", pm(tokens)) as manager:
        archived = await manager.delete(path)
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
    async with suite.client("portfolio", tokens("admin")) as admin:
        other = await created(admin, "/v1/ebos", ebo_body(RDM, name="Kentekenscanner"))
        assert (await admin.delete(f"/v1/ebos/{other['id']}")).json()["status"] == "archived"
