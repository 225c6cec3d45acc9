"""No lost updates and no duplicates under real concurrent transactions (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import events_for, make_chain, make_team, owner_token, split, team_body


async def test_twenty_concurrent_patches_with_one_etag(committed_suite: Suite, tokens: Tokens) -> None:
    async with committed_suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        team = await make_team(admin, chain)
    url = f"/v1/teams/{team['id']}"
    async with committed_suite.client("valuechains", owner_token(tokens, chain)) as owner:
        responses = await asyncio.gather(
            *(
                owner.patch(url, json={"name": f"Contender {i}", "maturity": 1 + i % 5}, headers={"If-Match": '"1"'})
                for i in range(20)
            )
        )
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 412: 19}, [r.text for r in responses if r.status_code not in (200, 412)]
        winner = next(r.json() for r in responses if r.status_code == 200)
        assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status_code == 412)

        final = await owner.get(url)
        assert final.headers["etag"] == '"2"'
        assert (final.json()["name"], final.json()["maturity"]) == (winner["name"], winner["maturity"])
        events = await events_for(owner, team["href"])
        assert [e["type"] for e in events] == ["teams.created", "teams.updated"]
        assert events[-1]["changes"]["name"] == ["Zaakdossier Alpha", winner["name"]]
        assert (await owner.get("/v1/changes/verify", headers=tokens("auditor"))).json()["ok"] is True


async def test_concurrent_puts_create_one_allocation_and_lose_no_revision(
    committed_suite: Suite, tokens: Tokens
) -> None:
    async with committed_suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/allocations/2040"
    async with committed_suite.client("valuechains", owner_token(tokens, chain)) as owner:
        creates = await asyncio.gather(
            *(owner.put(url, json=split(rationale=f"Creator {i}"), headers={"If-None-Match": "*"}) for i in range(10))
        )
        assert Counter(r.status_code for r in creates) == {201: 1, 412: 9}, [r.text for r in creates]

        replaces = await asyncio.gather(
            *(
                owner.put(url, json=split(50, 20, 30, rationale=f"Replacer {i}"), headers={"If-Match": '"1"'})
                for i in range(10)
            )
        )
        assert Counter(r.status_code for r in replaces) == {200: 1, 412: 9}, [r.text for r in replaces]
        winner = next(r.json() for r in replaces if r.status_code == 200)

        revisions = (await owner.get(f"{url}/revisions")).json()["items"]
        assert [r["revision"] for r in revisions] == [1, 2]
        assert revisions[1]["rationale"] == winner["rationale"]
        listed = (await owner.get(f"/v1/chains/{chain['id']}/allocations")).json()["items"]
        assert [a["period"] for a in listed] == ["2040"]


async def test_concurrent_identical_posts_with_one_key_create_one_team(committed_suite: Suite, tokens: Tokens) -> None:
    async with committed_suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/teams"
    async with committed_suite.client("valuechains", owner_token(tokens, chain)) as owner:
        responses = await asyncio.gather(
            *(owner.post(url, json=team_body(), headers={"Idempotency-Key": "same-team"}) for _ in range(20))
        )
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        created = [r.json() for r in responses if r.status_code == 201]
        assert created and all(c == created[0] for c in created)
        teams = (await owner.get(url)).json()["items"]
        assert [t["id"] for t in teams] == [created[0]["id"]]
