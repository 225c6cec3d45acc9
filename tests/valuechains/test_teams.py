"""Teams: per chain and across chains, exact FTE, the owner's rights, moves, and the resource contract."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import events_for, make_chain, make_team, owner_token, team_body


async def test_owner_creates_a_team_with_decimal_fte_as_numbers(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        created = await owner.post(
            f"/v1/chains/{chain['id']}/teams",
            json={"name": "Tapverwerking", "fte_internal": 3.5, "fte_hired": 0.1, "fte_partner": 1.2, "maturity": 4},
        )
        assert created.status_code == 201, created.text
        team = created.json()
        assert created.headers["location"] == team["href"] == f"/valuechains/v1/teams/{team['id']}"
        assert created.headers["etag"] == '"1"'
        assert team["chain"] == {"href": chain["href"]}
        assert team["status"] == "active" and team["maturity"] == 4
        # JSON numbers, exactly as sent (not strings, not 0.1000000001).
        assert '"fte_internal":3.5' in created.text and '"fte_hired":0.1' in created.text
        assert '"fte_partner":1.2' in created.text
        assert team["fte_external"] == 1.3  # hired + partner: the flexible shell, derived
        got = await owner.get(f"/v1/teams/{team['id']}")
        assert got.status_code == 200 and got.json() == team and got.headers["etag"] == '"1"'


async def test_team_fields_are_validated(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        url = f"/v1/chains/{chain['id']}/teams"
        cases: list[tuple[dict[str, Any], str]] = [
            ({"fte_internal": 3.55}, "fte_internal"),
            ({"fte_hired": -1}, "fte_hired"),
            ({"fte_partner": 0.25}, "fte_partner"),
            # External FTE are derived (hired + partner): not written.
            ({"fte_external": 1}, "fte_external"),
            ({"fte_internal": "lots"}, "fte_internal"),
            ({"maturity": 0}, "maturity"),
            ({"maturity": 6}, "maturity"),
            ({"name": ""}, "name"),
            ({"colour": "blue"}, "colour"),
        ]
        for change, field in cases:
            response = await admin.post(url, json=team_body(**change))
            assert response.status_code == 422, (change, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert any(e["loc"][-1] == field for e in response.json()["errors"]), response.text
        missing = await admin.post(url, json={"name": "No FTE"})
        assert missing.status_code == 422
        assert (await admin.get(url)).json()["items"] == []  # nothing was stored
        unknown = await admin.post("/v1/chains/no-such-chain/teams", json=team_body())
        assert unknown.status_code == 404


async def test_only_the_chains_owner_or_admin_manages_its_teams(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        mine = await make_chain(admin)
        theirs = await make_chain(admin)
        their_team = await make_team(admin, theirs)
    team_url = f"/v1/teams/{their_team['id']}"
    async with suite.client("valuechains", owner_token(tokens, mine)) as other:
        create = await other.post(f"/v1/chains/{theirs['id']}/teams", json=team_body())
        assert create.status_code == 403, create.text
        assert theirs["code"] in create.json()["detail"]
        patch = await other.patch(team_url, json={"maturity": 5}, headers={"If-Match": '"1"'})
        assert patch.status_code == 403, patch.text
        delete = await other.delete(team_url)
        assert delete.status_code == 403, delete.text
    for headers in (tokens("reader"), tokens("portfolio_manager"), tokens("architect")):
        async with suite.client("valuechains", headers) as client:
            assert (await client.post(f"/v1/chains/{theirs['id']}/teams", json=team_body())).status_code == 403
            patched = await client.patch(team_url, json={"maturity": 5}, headers={"If-Match": '"1"'})
            assert patched.status_code == 403
            # Everyone with a role reads.
            assert (await client.get(team_url)).status_code == 200
    async with suite.client("valuechains", owner_token(tokens, theirs)) as owner:
        ok = await owner.patch(team_url, json={"maturity": 5}, headers={"If-Match": '"1"'})
        assert ok.status_code == 200 and ok.json()["maturity"] == 5
    async with suite.client("valuechains", tokens("admin")) as admin:
        teams = (await admin.get(f"/v1/chains/{theirs['id']}/teams")).json()["items"]
        assert [t["id"] for t in teams] == [their_team["id"]]


async def test_patch_needs_if_match_and_never_loses_an_update(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        team = await make_team(owner, chain)
        url = f"/v1/teams/{team['id']}"
        missing = await owner.patch(url, json={"fte_hired": 1.5})
        assert missing.status_code == 428, missing.text
        assert missing.headers["content-type"] == "application/problem+json"
        first = await owner.patch(url, json={"fte_hired": 1.5}, headers={"If-Match": '"1"'})
        assert first.status_code == 200 and first.headers["etag"] == '"2"'
        assert first.json()["fte_external"] == 1.5 and first.json()["fte_internal"] == 6.5
        stale = await owner.patch(url, json={"fte_hired": 9}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
        nulled = await owner.patch(url, json={"fte_internal": None}, headers={"If-Match": '"2"'})
        assert nulled.status_code == 422
        current = (await owner.get(url)).json()
        assert current["fte_external"] == 1.5 and current["version"] == 2


async def test_moving_a_team_needs_both_chains_and_is_audited(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        source = await make_chain(admin)
        same_owner = await make_chain(admin, owner=source["owner"])
        foreign = await make_chain(admin)
        archived = await make_chain(admin, owner=source["owner"])
        assert (await admin.delete(f"/v1/chains/{archived['id']}")).status_code == 200
    async with suite.client("valuechains", owner_token(tokens, source)) as owner:
        team = await make_team(owner, source)
        url = f"/v1/teams/{team['id']}"
        # Into a chain someone else owns: 403 (the mover must own both chains).
        denied = await owner.patch(url, json={"chain": {"href": foreign["href"]}}, headers={"If-Match": '"1"'})
        assert denied.status_code == 403, denied.text
        # Into an archived chain (a new reference to it) or one that does not exist: 422 naming the field.
        frozen = await owner.patch(url, json={"chain": {"href": archived["href"]}}, headers={"If-Match": '"1"'})
        assert frozen.status_code == 422, frozen.text
        assert frozen.json()["errors"][0]["type"] == "reference_archived"
        nowhere = await owner.patch(
            url, json={"chain": {"href": "/valuechains/v1/chains/nope"}}, headers={"If-Match": '"1"'}
        )
        assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["loc"] == ["body", "chain"]
        wrong_kind = await owner.patch(
            url, json={"chain": {"href": "/portfolio/v1/programmes/x"}}, headers={"If-Match": '"1"'}
        )
        assert wrong_kind.status_code == 422
        moved = await owner.patch(url, json={"chain": {"href": same_owner["href"]}}, headers={"If-Match": '"1"'})
        assert moved.status_code == 200, moved.text
        assert moved.json()["chain"] == {"href": same_owner["href"]}
        assert (await owner.get(f"/v1/chains/{source['id']}/teams")).json()["items"] == []
        assert [t["id"] for t in (await owner.get(f"/v1/chains/{same_owner['id']}/teams")).json()["items"]] == [
            team["id"]
        ]
        events = await events_for(owner, team["href"])
        assert events[-1]["type"] == "teams.updated"
        assert events[-1]["changes"] == {"chain": [{"href": source["href"]}, {"href": same_owner["href"]}]}
        assert events[-1]["actor"] == source["owner"]["subject"]
    # The owner of the target chain alone may not pull a team out of someone else's chain.
    async with suite.client("valuechains", owner_token(tokens, foreign)) as puller:
        pulled = await puller.patch(url, json={"chain": {"href": foreign["href"]}}, headers={"If-Match": '"2"'})
        assert pulled.status_code == 403
    async with suite.client("valuechains", tokens("admin")) as admin:
        by_admin = await admin.patch(url, json={"chain": {"href": foreign["href"]}}, headers={"If-Match": '"2"'})
        assert by_admin.status_code == 200 and by_admin.json()["chain"] == {"href": foreign["href"]}


async def test_lists_filter_page_and_batch_get(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        one = await make_chain(admin)
        two = await make_chain(admin)
        a = await make_team(admin, one, name="Portofonie Alpha", maturity=2)
        b = await make_team(admin, one, name="Portofonie Bravo", maturity=4)
        c = await make_team(admin, two, name="Roosters Alpha", maturity=4)

        async def ids(path: str, **params: Any) -> list[str]:
            response = await admin.get(path, params=params)
            assert response.status_code == 200, response.text
            return [t["id"] for t in response.json()["items"]]

        assert await ids("/v1/teams", chain=one["href"]) == [a["id"], b["id"]]
        assert await ids("/v1/teams", chain=one["id"]) == [a["id"], b["id"]]
        assert await ids("/v1/teams", chain=one["href"], maturity=4) == [b["id"]]
        assert await ids("/v1/teams", name="Roosters Alpha", chain=two["id"]) == [c["id"]]
        assert await ids("/v1/teams", name_contains="portofonie b", chain=one["id"]) == [b["id"]]
        assert await ids("/v1/teams", name_contains="100%_", chain=one["id"]) == []
        assert await ids(f"/v1/chains/{one['id']}/teams", maturity=2) == [a["id"]]
        assert await ids(f"/v1/chains/{two['id']}/teams") == [c["id"]]
        assert (await admin.get("/v1/chains/nope/teams")).status_code == 404
        assert (await admin.get("/v1/teams", params={"maturity": 9})).status_code == 422
        assert (await admin.get("/v1/teams", params={"colour": "blue"})).status_code == 400

        first = await admin.get("/v1/teams", params={"chain": one["id"], "limit": 1})
        assert [t["id"] for t in first.json()["items"]] == [a["id"]]
        next_path = first.json()["next"]
        assert next_path.startswith("/valuechains/v1/teams?")
        second = await admin.get(next_path.removeprefix("/valuechains"))
        assert [t["id"] for t in second.json()["items"]] == [b["id"]] and second.json()["next"] is None

        batch = await admin.get("/v1/teams", params=[("id", c["id"]), ("id", a["id"]), ("id", "missing")])
        assert batch.status_code == 200
        assert sorted(t["id"] for t in batch.json()["items"]) == sorted([a["id"], c["id"]])


async def test_delete_archives_a_team(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        team = await make_team(owner, chain)
        url = f"/v1/teams/{team['id']}"
        stale = await owner.delete(url, headers={"If-Match": '"5"'})
        assert stale.status_code == 412
        archived = await owner.delete(url)
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert archived.headers["etag"] == '"2"'
        again = await owner.delete(url)
        assert again.status_code == 200 and again.json()["version"] == 2

        assert (await owner.get(f"/v1/chains/{chain['id']}/teams")).json()["items"] == []
        assert (await owner.get("/v1/teams", params={"chain": chain["id"]})).json()["items"] == []
        with_archived = await owner.get("/v1/teams", params={"chain": chain["id"], "include_archived": "true"})
        assert [t["id"] for t in with_archived.json()["items"]] == [team["id"]]
        assert (await owner.get(url)).json()["status"] == "archived"
        batch = await owner.get("/v1/teams", params={"id": team["id"]})
        assert [t["status"] for t in batch.json()["items"]] == ["archived"]
        events = await events_for(owner, team["href"])
        assert [e["type"] for e in events] == ["teams.created", "teams.archived"]
        assert events[-1]["changes"] == {"status": ["active", "archived"]}


async def test_no_teams_for_an_archived_chain(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        await admin.delete(f"/v1/chains/{chain['id']}")
        response = await admin.post(f"/v1/chains/{chain['id']}/teams", json=team_body())
        assert response.status_code == 409, response.text


async def test_idempotent_create_replays_the_first_response(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        url = f"/v1/chains/{chain['id']}/teams"
        key = {"Idempotency-Key": "team-create-1"}
        first = await owner.post(url, json=team_body(), headers=key)
        assert first.status_code == 201, first.text
        replay = await owner.post(url, json=team_body(), headers=key)
        assert replay.status_code == 201 and replay.json() == first.json()
        assert replay.headers["location"] == first.headers["location"]
        assert replay.headers.get("idempotent-replayed") == "true"
        other = await owner.post(url, json=team_body(name="Another"), headers=key)
        assert other.status_code == 422, other.text
        assert [t["id"] for t in (await owner.get(url)).json()["items"]] == [first.json()["id"]]


async def test_change_feed_records_team_changes_as_old_new(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        team = await make_team(owner, chain, fte_internal=4, fte_hired=2.5)
        await owner.patch(
            f"/v1/teams/{team['id']}",
            json={"fte_hired": 0.5, "fte_partner": 0.5, "name": "Renamed"},
            headers={"If-Match": '"1"'},
        )
        events = await events_for(owner, team["href"])
        created, updated = events
        assert created["type"] == "teams.created" and created["version"] == 1
        assert created["changes"]["fte_internal"] == [None, 4.0]
        assert created["changes"]["chain"] == [None, {"href": chain["href"]}]
        assert updated["changes"] == {
            "fte_hired": [2.5, 0.5],
            "fte_partner": [0.0, 0.5],
            "fte_external": [2.5, 1.0],
            "name": ["Zaakdossier Alpha", "Renamed"],
        }
        verify = await owner.get("/v1/changes/verify", headers=tokens("auditor"))
        assert verify.json()["ok"] is True


async def test_references_lists_teams_pointing_at_a_chain(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        team = await make_team(admin, chain)
        response = await admin.get("/v1/references", params={"target": chain["href"]})
        assert response.status_code == 200
        assert {"href": team["href"], "field": "chain", "target": chain["href"]} in response.json()["items"]
