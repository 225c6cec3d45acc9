"""Principles: architects only, revisions for normative changes, retire as a status, archive on DELETE."""

from __future__ import annotations

from services.chassis.pagination import encode_cursor
from tests.conftest import Suite
from tests.principles.helpers import architect, make_principle, patch, principle_body
from tests.support import Tokens


async def test_only_architects_change_principles(suite: Suite, tokens: Tokens) -> None:
    for role in ("reader", "portfolio_manager", "chain_owner", "contributor"):
        async with suite.client("principles", tokens(role)) as client:
            response = await client.post("/v1/principles", json=principle_body())
            assert response.status_code == 403, (role, response.text)
    async with suite.client("principles", architect(tokens)) as client:
        created = await make_principle(client)
    async with suite.client("principles", tokens("portfolio_manager")) as client:
        denied = await client.patch(
            f"/v1/principles/{created['id']}", json={"title": "Mine now"}, headers={"If-Match": '"1"'}
        )
        assert denied.status_code == 403
        assert (await client.delete(f"/v1/principles/{created['id']}")).status_code == 403
        assert (await client.get(f"/v1/principles/{created['id']}")).json()["title"] == created["title"]


async def test_normative_changes_make_revisions_and_old_ones_stay_readable(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens, sub="arch-a")) as client:
        created = await make_principle(client, status="draft")
        path = f"/v1/principles/{created['id']}"
        assert created["revision"] == 1 and created["version"] == 1
        assert created["versions"] == f"/principles{path}/versions"

        # Not normative: the ETag moves, the revision does not.
        retitled = await patch(client, path, {"title": "Cloud first (reworded)"})
        activated = await patch(client, path, {"status": "active"})
        assert (retitled["version"], retitled["revision"]) == (2, 1)
        assert (activated["version"], activated["revision"]) == (3, 1)

        # Normative: statement, rule, applies_to each make a new revision.
        stated = await patch(client, path, {"statement": "Confidential data stays on own platforms."})
        assert (stated["version"], stated["revision"]) == (4, 2)
        ruled = await patch(client, path, {"rule": "subject.hosting == 'own_platform'"})
        widened = await patch(client, path, {"applies_to": ["initiative", "ebo"]})
        assert (ruled["revision"], widened["revision"]) == (3, 4)
        unruled = await patch(client, path, {"rule": None})
        assert unruled["rule"] is None and unruled["revision"] == 5

        versions = (await client.get(f"{path}/versions")).json()["items"]
        assert [v["revision"] for v in versions] == [1, 2, 3, 4, 5]
        assert [v["current"] for v in versions] == [False, False, False, False, True]
        assert versions[0]["statement"] == created["statement"] and versions[0]["rule"] is None
        assert versions[1]["statement"] == "Confidential data stays on own platforms."
        assert versions[2]["rule"] == "subject.hosting == 'own_platform'"
        assert versions[3]["applies_to"] == ["initiative", "ebo"]
        assert {v["recorded_by"] for v in versions} == {"arch-a"}

        one = await client.get(f"{path}/versions/2")
        assert one.status_code == 200 and one.json() == versions[1]
        assert one.json()["href"] == f"/principles{path}/versions/2"
        assert (await client.get(f"{path}/versions/6")).status_code == 404
        assert (await client.get("/v1/principles/nope/versions")).status_code == 404

        paged = await client.get(f"{path}/versions", params={"limit": 2})
        assert [v["revision"] for v in paged.json()["items"]] == [1, 2]
        rest = await client.get(paged.json()["next"].removeprefix("/principles"))
        assert [v["revision"] for v in rest.json()["items"]] == [3, 4]
        forged = encode_cursor(["x"])  # a well-formed cursor this list never issued
        assert (await client.get(f"{path}/versions", params={"after": forged})).status_code == 422

        # The change feed names the revision change.
        changes = (await client.get("/v1/changes", params={"subject": created["href"]})).json()["items"]
        assert changes[-1]["changes"]["revision"] == [4, 5]


async def test_retire_is_a_status_and_delete_archives(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        created = await make_principle(client, status="active")
        path = f"/v1/principles/{created['id']}"
        back_to_draft = await client.patch(path, json={"status": "draft"}, headers={"If-Match": '"1"'})
        assert back_to_draft.status_code == 409
        retired = await patch(client, path, {"status": "retired"})
        assert retired["status"] == "retired" and retired["revision"] == 1
        reactivated = await patch(client, path, {"status": "active"})
        assert reactivated["status"] == "active"

        archived = await client.delete(path)
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert (await client.get(path)).json()["status"] == "archived"
        listed = (await client.get("/v1/principles", params={"code": created["code"]})).json()["items"]
        assert listed == []
        frozen = await client.patch(path, json={"title": "Again"}, headers={"If-Match": archived.headers["etag"]})
        assert frozen.status_code == 409


async def test_rule_checks_happen_against_what_is_current(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        created = await make_principle(client)
        path = f"/v1/principles/{created['id']}"
        stale = await client.patch(path, json={"rule": "subject.budget_eur > 0"}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        missing = await client.patch(path, json={"rule": "subject.budget_eur > 0"})
        assert missing.status_code == 428
        assert (await client.get(path)).json()["revision"] == 1
