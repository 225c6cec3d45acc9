"""Chains through the resource contract: owner-only updates and the audited owner reassignment."""

from __future__ import annotations

from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import chain_body, events_for, make_chain, owner_of, owner_token, unique

OWNER = {"subject": "u-owner-1", "name": "J. de Vries", "unit": "Eenheid Rotterdam"}


async def test_create_read_list_update(suite: Suite, tokens: Tokens) -> None:
    code = unique()
    async with suite.client("valuechains", tokens("admin")) as admin:
        created = await admin.post("/v1/chains", json=chain_body(code, owner=OWNER))
        assert created.status_code == 201, created.text
        chain = created.json()
        assert created.headers["location"] == chain["href"] == f"/valuechains/v1/chains/{chain['id']}"
        assert created.headers["etag"] == '"1"'
        assert chain["owner"] == OWNER and chain["status"] == "active" and chain["version"] == 1

        got = await admin.get(f"/v1/chains/{chain['id']}")
        assert got.status_code == 200 and got.json() == chain

        listed = await admin.get("/v1/chains", params={"code": code})
        assert [c["id"] for c in listed.json()["items"]] == [chain["id"]]

    owner = tokens("chain_owner", sub=OWNER["subject"])
    async with suite.client("valuechains", owner) as client:
        patched = await client.patch(
            f"/v1/chains/{chain['id']}", json={"mission": "Sharper."}, headers={"If-Match": '"1"'}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["mission"] == "Sharper." and patched.headers["etag"] == '"2"'


async def test_only_the_owner_or_admin_updates_a_chain(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        mine = await make_chain(admin)
        theirs = await make_chain(admin)
    url = f"/v1/chains/{theirs['id']}"
    async with suite.client("valuechains", owner_token(tokens, mine)) as other_owner:
        denied = await other_owner.patch(url, json={"mission": "Mine now."}, headers={"If-Match": '"1"'})
        assert denied.status_code == 403, denied.text
        assert denied.headers["content-type"] == "application/problem+json"
        assert theirs["code"] in denied.json()["detail"]
    # The owner's subject without the chain_owner role is not enough, and neither is another role.
    for headers in (tokens("reader", sub=theirs["owner"]["subject"]), tokens("portfolio_manager")):
        async with suite.client("valuechains", headers) as client:
            response = await client.patch(url, json={"mission": "No."}, headers={"If-Match": '"1"'})
            assert response.status_code == 403, response.text
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert (await admin.get(url)).json()["version"] == 1  # nothing changed
        by_admin = await admin.patch(url, json={"name": "Renamed"}, headers={"If-Match": '"1"'})
        assert by_admin.status_code == 200 and by_admin.json()["name"] == "Renamed"


async def test_the_owner_cannot_reassign_themselves_through_patch(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        response = await owner.patch(
            f"/v1/chains/{chain['id']}", json={"owner": owner_of()}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "owner"]


async def test_admin_reassigns_the_owner_explicitly_and_audited(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin", sub="admin-1")) as admin:
        chain = await make_chain(admin)
        old, new = chain["owner"], owner_of()
        url = f"/v1/chains/{chain['id']}/owner"

        missing = await admin.put(url, json=new)
        assert missing.status_code == 428, missing.text
        stale = await admin.put(url, json=new, headers={"If-Match": '"7"'})
        assert stale.status_code == 412 and stale.headers["etag"] == '"1"'
        bad = await admin.put(url, json={**new, "role": "boss"}, headers={"If-Match": '"1"'})
        assert bad.status_code == 422

        done = await admin.put(url, json=new, headers={"If-Match": '"1"'})
        assert done.status_code == 200, done.text
        assert done.json()["owner"] == new and done.headers["etag"] == '"2"'
        assert done.json()["href"] == chain["href"]

        events = await events_for(admin, chain["href"])
        assert [e["type"] for e in events] == ["chains.created", "chains.updated"]
        assert events[-1]["changes"] == {"owner": [old, new]}
        assert events[-1]["actor"] == "admin-1" and events[-1]["version"] == 2

    # The old owner lost the chain; the new owner has it.
    async with suite.client("valuechains", tokens("chain_owner", sub=old["subject"])) as previous:
        response = await previous.patch(
            f"/v1/chains/{chain['id']}", json={"mission": "Still mine?"}, headers={"If-Match": '"2"'}
        )
        assert response.status_code == 403
    async with suite.client("valuechains", tokens("chain_owner", sub=new["subject"])) as current:
        response = await current.patch(
            f"/v1/chains/{chain['id']}", json={"mission": "Mine."}, headers={"If-Match": '"2"'}
        )
        assert response.status_code == 200, response.text


async def test_only_an_admin_reassigns_the_owner(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/owner"
    for headers in (owner_token(tokens, chain), tokens("portfolio_manager"), tokens("reader")):
        async with suite.client("valuechains", headers) as client:
            response = await client.put(url, json=owner_of(), headers={"If-Match": '"1"'})
            assert response.status_code == 403, response.text
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert (await admin.get(f"/v1/chains/{chain['id']}")).json()["owner"] == chain["owner"]
        unknown = await admin.put("/v1/chains/nope/owner", json=owner_of(), headers={"If-Match": '"1"'})
        assert unknown.status_code == 404


async def test_no_token_is_401(suite: Suite) -> None:
    async with suite.client("valuechains") as anonymous:
        for path in ("/v1/chains", "/v1/teams", "/v1/allocations", "/v1/reports/staffing"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
