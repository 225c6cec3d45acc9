"""Allocations: PUT per chain and period, preconditions, the split rule, revisions, the flat collection."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import events_for, make_chain, owner_token, split


async def test_put_creates_then_replaces_with_preconditions(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/allocations/2027"
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        assert (await owner.get(url)).status_code == 404
        # If-Match on something that does not exist yet cannot match.
        assert (await owner.put(url, json=split(), headers={"If-Match": '"1"'})).status_code == 412

        created = await owner.put(url, json=split(60, 15, 25, budget_eur=48_000_000))
        assert created.status_code == 201, created.text
        allocation = created.json()
        assert created.headers["etag"] == '"1"'
        assert created.headers["location"] == allocation["href"] == f"/valuechains/v1/allocations/{allocation['id']}"
        assert allocation["chain"] == {"href": chain["href"]} and allocation["period"] == "2027"
        assert (allocation["maintenance"], allocation["security"], allocation["renewal"]) == (60, 15, 25)
        assert allocation["budget_eur"] == 48_000_000 and allocation["revision"] == 1
        assert allocation["revisions_href"] == f"{chain['href']}/allocations/2027/revisions"

        missing = await owner.put(url, json=split(50, 20, 30))
        assert missing.status_code == 428, missing.text
        create_only = await owner.put(url, json=split(50, 20, 30), headers={"If-None-Match": "*"})
        assert create_only.status_code == 412 and create_only.headers["etag"] == '"1"'
        stale = await owner.put(url, json=split(50, 20, 30), headers={"If-Match": '"3"'})
        assert stale.status_code == 412
        assert (await owner.put(url, json=split(), headers={"If-None-Match": "W/x"})).status_code == 400

        replaced = await owner.put(url, json=split(50, 20, 30), headers={"If-Match": '"1"'})
        assert replaced.status_code == 200, replaced.text
        assert replaced.headers["etag"] == '"2"' and "location" not in replaced.headers
        assert replaced.json()["id"] == allocation["id"] and replaced.json()["revision"] == 2

        got = await owner.get(url)
        assert got.status_code == 200 and got.headers["etag"] == '"2"' and got.json() == replaced.json()

        # The same split again changes nothing: no new version, no new revision.
        same = await owner.put(url, json=split(50, 20, 30), headers={"If-Match": '"2"'})
        assert same.status_code == 200 and same.headers["etag"] == '"2"' and same.json()["revision"] == 2


async def test_if_none_match_star_creates(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        url = f"/v1/chains/{chain['id']}/allocations/2027-H1"
        created = await admin.put(url, json=split(), headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        assert created.json()["period"] == "2027-H1"


async def test_split_must_sum_to_100(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/allocations/2027"
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        response = await owner.put(url, json=split(40, 30, 20))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"] == "/problems/validation"
        assert "sum to 100" in problem["detail"] and "90" in problem["detail"]
        assert {tuple(e["loc"]) for e in problem["errors"]} == {
            ("body", "maintenance"),
            ("body", "security"),
            ("body", "renewal"),
        }
        assert (await owner.put(url, json=split(50, 30, 30))).status_code == 422
        assert (await owner.get(url)).status_code == 404  # nothing stored
        await owner.put(url, json=split())
        # A replacement that does not sum to 100 changes nothing either.
        bad = await owner.put(url, json=split(70, 20, 20), headers={"If-Match": '"1"'})
        assert bad.status_code == 422
        assert (await owner.get(url)).json()["version"] == 1


async def test_body_fields_are_validated(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        url = f"/v1/chains/{chain['id']}/allocations/2027"
        cases: list[tuple[dict[str, Any], str]] = [
            ({"maintenance": 101, "security": 0, "renewal": -1}, "maintenance"),
            ({"maintenance": 60.5, "renewal": 24.5}, "maintenance"),
            ({"maintenance": "60"}, "maintenance"),
            ({"budget_eur": -1}, "budget_eur"),
            ({"budget_eur": 1000.5}, "budget_eur"),
            ({"rationale": ""}, "rationale"),
            ({"rationale": "   "}, "rationale"),
            ({"owner": "me"}, "owner"),
        ]
        for change, field in cases:
            response = await admin.put(url, json=split(**change))
            assert response.status_code == 422, (change, response.text)
            assert any(e["loc"][-1] == field for e in response.json()["errors"]), (change, response.text)
        body = split()
        del body["rationale"]
        no_rationale = await admin.put(url, json=body)
        assert no_rationale.status_code == 422
        assert no_rationale.json()["errors"][0]["loc"] == ["body", "rationale"]
        assert (await admin.get(f"/v1/chains/{chain['id']}/allocations")).json()["items"] == []


async def test_periods_are_validated(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        base = f"/v1/chains/{chain['id']}/allocations"
        for period in ("2027", "2027-H1", "2027-H2", "2027-Q1", "2027-Q4"):
            response = await admin.put(f"{base}/{period}", json=split())
            assert response.status_code == 201, (period, response.text)
        for period in ("27", "2027-H3", "2027-Q5", "2027-Q0", "2027-h1", "2027Q1", "2027-M01", "2027-Q1x", "1899"):
            for method in ("put", "get"):
                if method == "put":
                    response = await admin.put(f"{base}/{period}", json=split())
                else:
                    response = await admin.get(f"{base}/{period}")
                assert response.status_code == 422, (period, method, response.text)
                problem = response.json()
                assert problem["errors"][0]["loc"] == ["path", "period"]
                assert "2027-H1" in problem["detail"] and "2027-Q4" in problem["detail"]
        assert (await admin.get(f"{base}/2027-Q5/revisions")).status_code == 422
        listed = await admin.get(base)
        assert [a["period"] for a in listed.json()["items"]] == ["2027", "2027-H1", "2027-H2", "2027-Q1", "2027-Q4"]


async def test_only_the_chains_owner_or_admin_sets_allocations(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        mine = await make_chain(admin)
        theirs = await make_chain(admin)
        existing = await admin.put(f"/v1/chains/{theirs['id']}/allocations/2026", json=split())
        assert existing.status_code == 201
    create_url = f"/v1/chains/{theirs['id']}/allocations/2027"
    replace_url = f"/v1/chains/{theirs['id']}/allocations/2026"
    for headers in (owner_token(tokens, mine), tokens("portfolio_manager"), tokens("reader")):
        async with suite.client("valuechains", headers) as client:
            create = await client.put(create_url, json=split())
            assert create.status_code == 403, create.text
            replace = await client.put(replace_url, json=split(50, 20, 30), headers={"If-Match": '"1"'})
            assert replace.status_code == 403, replace.text
            # Even without If-Match, the answer is that they may not (not "send If-Match").
            assert (await client.put(replace_url, json=split(50, 20, 30))).status_code == 403
            archive = await client.delete(f"/v1/allocations/{existing.json()['id']}")
            assert archive.status_code == 403
            assert (await client.get(replace_url)).status_code == 200  # reading is fine
    async with suite.client("valuechains", owner_token(tokens, mine)) as other:
        assert theirs["code"] in (await other.put(create_url, json=split())).json()["detail"]
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert (await admin.get(create_url)).status_code == 404
        assert (await admin.get(replace_url)).json()["version"] == 1
    async with suite.client("valuechains", owner_token(tokens, theirs)) as owner:
        assert (await owner.put(create_url, json=split())).status_code == 201
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert (await admin.put("/v1/chains/nope/allocations/2027", json=split())).status_code == 404


async def test_every_revision_is_kept(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    owner_sub = chain["owner"]["subject"]
    url = f"/v1/chains/{chain['id']}/allocations/2026"
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        assert (await owner.get(f"{url}/revisions")).status_code == 404
        await owner.put(url, json=split(60, 15, 25, rationale="First weighing."))
        await owner.put(url, json=split(55, 15, 30, rationale="More renewal."), headers={"If-Match": '"1"'})
    async with suite.client("valuechains", tokens("admin", sub="admin-7")) as admin:
        await admin.put(
            url, json=split(55, 20, 25, budget_eur=2_000_000, rationale="Audit."), headers={"If-Match": '"2"'}
        )
        response = await admin.get(f"{url}/revisions")
        assert response.status_code == 200, response.text
        revisions = response.json()["items"]
        assert [r["revision"] for r in revisions] == [1, 2, 3]
        assert [r["version"] for r in revisions] == [1, 2, 3]
        assert [(r["maintenance"], r["security"], r["renewal"]) for r in revisions] == [
            (60, 15, 25),
            (55, 15, 30),
            (55, 20, 25),
        ]
        assert [r["rationale"] for r in revisions] == ["First weighing.", "More renewal.", "Audit."]
        assert [r["budget_eur"] for r in revisions] == [1_000_000, 1_000_000, 2_000_000]
        assert [r["by"]["subject"] for r in revisions] == [owner_sub, owner_sub, "admin-7"]
        assert revisions[0]["at"] <= revisions[1]["at"] <= revisions[2]["at"]

        page = await admin.get(f"{url}/revisions", params={"limit": 2})
        assert [r["revision"] for r in page.json()["items"]] == [1, 2]
        rest = await admin.get(page.json()["next"].removeprefix("/valuechains"))
        assert [r["revision"] for r in rest.json()["items"]] == [3] and rest.json()["next"] is None

        current = (await admin.get(url)).json()
        assert current["revision"] == 3 and current["rationale"] == "Audit."

        events = await events_for(admin, current["href"])
        assert [e["type"] for e in events] == ["allocations.created", "allocations.updated", "allocations.updated"]
        assert events[1]["actor"] == owner_sub
        assert events[1]["changes"] == {
            "maintenance": [60, 55],
            "renewal": [25, 30],
            "rationale": ["First weighing.", "More renewal."],
            "revision": [1, 2],
        }
        assert events[2]["changes"]["budget_eur"] == [1_000_000, 2_000_000]


async def test_chain_allocations_list_periods(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        other = await make_chain(admin)
        base = f"/v1/chains/{chain['id']}/allocations"
        for period in ("2026-Q2", "2025", "2026"):
            assert (await admin.put(f"{base}/{period}", json=split())).status_code == 201
        await admin.put(f"/v1/chains/{other['id']}/allocations/2026", json=split())

        listed = await admin.get(base)
        assert [a["period"] for a in listed.json()["items"]] == ["2025", "2026", "2026-Q2"]
        assert {a["chain"]["href"] for a in listed.json()["items"]} == {chain["href"]}
        by_year = await admin.get(base, params={"year": 2026})
        assert [a["period"] for a in by_year.json()["items"]] == ["2026", "2026-Q2"]
        by_period = await admin.get(base, params={"period": "2025"})
        assert [a["period"] for a in by_period.json()["items"]] == ["2025"]
        assert (await admin.get(base, params={"period": "2025-Q9"})).status_code == 422
        paged = await admin.get(base, params={"limit": 2})
        assert paged.json()["next"] is not None
        rest = await admin.get(paged.json()["next"].removeprefix("/valuechains"))
        assert [a["period"] for a in rest.json()["items"]] == ["2026-Q2"]
        assert (await admin.get("/v1/chains/nope/allocations")).status_code == 404


async def test_flat_collection_batch_get_and_filters(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        one = await make_chain(admin)
        two = await make_chain(admin)
        a = (await admin.put(f"/v1/chains/{one['id']}/allocations/2026", json=split())).json()
        b = (await admin.put(f"/v1/chains/{one['id']}/allocations/2027", json=split())).json()
        c = (await admin.put(f"/v1/chains/{two['id']}/allocations/2026", json=split())).json()

    async with suite.client("valuechains", tokens("reader")) as reader:
        got = await reader.get(f"/v1/allocations/{a['id']}")
        assert got.status_code == 200 and got.json() == a and got.headers["etag"] == '"1"'
        batch = await reader.get("/v1/allocations", params=[("id", c["id"]), ("id", a["id"])])
        assert sorted(x["id"] for x in batch.json()["items"]) == sorted([a["id"], c["id"]])
        by_chain = await reader.get("/v1/allocations", params={"chain": one["href"]})
        assert [x["id"] for x in by_chain.json()["items"]] == [a["id"], b["id"]]
        both = await reader.get("/v1/allocations", params={"chain": one["id"], "period": "2027"})
        assert [x["id"] for x in both.json()["items"]] == [b["id"]]
        assert (await reader.get("/v1/allocations", params={"period": "2027-X"})).status_code == 422
        # The flat collection is read-only: allocations are set per chain and period.
        assert (await reader.post("/v1/allocations", json=split())).status_code == 405
        references = await reader.get("/v1/references", params={"target": one["href"]})
        assert {"href": a["href"], "field": "chain", "target": one["href"]} in references.json()["items"]


async def test_archive_and_revive_an_allocation(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    url = f"/v1/chains/{chain['id']}/allocations/2026"
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        allocation = (await owner.put(url, json=split())).json()
        archived = await owner.delete(f"/v1/allocations/{allocation['id']}")
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert (await owner.get(f"/v1/chains/{chain['id']}/allocations")).json()["items"] == []
        assert (await owner.get("/v1/allocations", params={"chain": chain["id"]})).json()["items"] == []
        assert (await owner.get(url)).json()["status"] == "archived"
        batch = await owner.get("/v1/allocations", params={"id": allocation["id"]})
        assert [x["status"] for x in batch.json()["items"]] == ["archived"]

        revived = await owner.put(url, json=split(), headers={"If-Match": '"2"'})
        assert revived.status_code == 200, revived.text
        assert revived.json()["status"] == "active" and revived.json()["revision"] == 2
        events = await events_for(owner, allocation["href"])
        assert [e["type"] for e in events] == ["allocations.created", "allocations.archived", "allocations.updated"]
        assert events[-1]["changes"]["status"] == ["archived", "active"]


async def test_archived_chain_freezes_its_allocations(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        await admin.put(f"/v1/chains/{chain['id']}/allocations/2026", json=split())
        await admin.delete(f"/v1/chains/{chain['id']}")
        new = await admin.put(f"/v1/chains/{chain['id']}/allocations/2027", json=split())
        assert new.status_code == 409, new.text
        replace = await admin.put(
            f"/v1/chains/{chain['id']}/allocations/2026", json=split(50, 20, 30), headers={"If-Match": '"1"'}
        )
        assert replace.status_code == 409
