"""Applications: the full resource contract, the chain owner's rights, need to know, and the chain's
derived foundation figures."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import Suite
from tests.support import Tokens, statements
from tests.valuechains.helpers import (
    application_body,
    events_for,
    findings,
    make_application,
    make_chain,
    owner_token,
)


async def ids(client: httpx2.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_owner_registers_an_application(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        created = await owner.post(f"/v1/chains/{chain['id']}/applications", json=application_body())
        assert created.status_code == 201, created.text
        application = created.json()
        assert created.headers["location"] == application["href"]
        assert application["href"] == f"/valuechains/v1/applications/{application['id']}"
        assert created.headers["etag"] == '"1"'
        assert application["chain"] == {"href": chain["href"]}
        assert application["status"] == "active" and application["version"] == 1
        assert application["findings"] == findings(0, 2, 5, 11)
        assert application["supported_until"] == "2030-12-31" and application["last_release"] == "2026-10-01"
        assert (application["category"], application["disposition"]) == ("registration", "invest")
        assert (application["hosting"], application["data_classification"]) == ("own_platform", "internal")
        got = await owner.get(f"/v1/applications/{application['id']}")
        assert got.status_code == 200 and got.json() == application and got.headers["etag"] == '"1"'
        # Findings left out are 0; a partial findings object fills in the rest with 0.
        body = application_body(name="Bare")
        del body["findings"]
        bare = await owner.post(f"/v1/chains/{chain['id']}/applications", json=body)
        assert bare.status_code == 201 and bare.json()["findings"] == findings()
        partial = await make_application(owner, chain, name="Partial", findings={"high": 3})
        assert partial["findings"] == findings(high=3)


async def test_application_fields_are_validated(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        url = f"/v1/chains/{chain['id']}/applications"
        cases: list[tuple[dict[str, Any], str]] = [
            ({"category": "case_files"}, "category"),
            ({"disposition": "retire"}, "disposition"),
            ({"hosting": "basement"}, "hosting"),
            ({"data_classification": "top_secret"}, "data_classification"),
            ({"supported_until": "31-12-2030"}, "supported_until"),
            ({"supported_until": "9999-12-31"}, "supported_until"),
            ({"last_release": "1900-01-01"}, "last_release"),
            ({"findings": {"critical": -1}}, "critical"),
            ({"findings": {"high": 100_001}}, "high"),
            ({"findings": {"medium": "3"}}, "medium"),
            ({"findings": {"low": 1.5}}, "low"),
            ({"findings": {"severe": 1}}, "severe"),
            ({"findings": {"critical": None}}, "critical"),
            ({"name": ""}, "name"),
            ({"owner": "me"}, "owner"),
        ]
        for change, field in cases:
            response = await admin.post(url, json=application_body(**change))
            assert response.status_code == 422, (change, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert any(e["loc"][-1] == field for e in response.json()["errors"]), (change, response.text)
        missing = await admin.post(url, json={"name": "No dates"})
        assert missing.status_code == 422
        assert (await admin.get(url)).json()["items"] == []  # nothing was stored
        assert (await admin.post("/v1/chains/no-such-chain/applications", json=application_body())).status_code == 404
        # The bound keeps every sum far inside the database's integers.
        most = await make_application(admin, chain, findings=findings(100_000, 100_000, 100_000, 100_000))
        assert most["findings"]["critical"] == 100_000


async def test_only_the_chains_owner_or_admin_manages_its_applications(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        mine = await make_chain(admin)
        theirs = await make_chain(admin)
        their_application = await make_application(admin, theirs)
    url = f"/v1/applications/{their_application['id']}"
    async with suite.client("valuechains", owner_token(tokens, mine)) as other:
        create = await other.post(f"/v1/chains/{theirs['id']}/applications", json=application_body())
        assert create.status_code == 403, create.text
        assert theirs["code"] in create.json()["detail"]
        patch = await other.patch(url, json={"findings": {"critical": 0}}, headers={"If-Match": '"1"'})
        assert patch.status_code == 403, patch.text
        assert (await other.delete(url)).status_code == 403
        # Moving one of the other owner's applications into my chain is not mine to do either.
        pulled = await other.patch(url, json={"chain": {"href": mine["href"]}}, headers={"If-Match": '"1"'})
        assert pulled.status_code == 403
    for headers in (tokens("reader"), tokens("portfolio_manager"), tokens("architect")):
        async with suite.client("valuechains", headers) as client:
            created = await client.post(f"/v1/chains/{theirs['id']}/applications", json=application_body())
            assert created.status_code == 403
            patched = await client.patch(url, json={"disposition": "tolerate"}, headers={"If-Match": '"1"'})
            assert patched.status_code == 403
            assert (await client.get(url)).status_code == 200  # everyone with a role reads
    async with suite.client("valuechains", owner_token(tokens, theirs)) as owner:
        ok = await owner.patch(url, json={"disposition": "migrate"}, headers={"If-Match": '"1"'})
        assert ok.status_code == 200 and ok.json()["disposition"] == "migrate"
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert await ids(admin, f"/v1/chains/{theirs['id']}/applications") == [their_application["id"]]
        assert await ids(admin, f"/v1/chains/{mine['id']}/applications") == []


async def test_patch_needs_if_match_and_changes_only_the_findings_sent(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        application = await make_application(owner, chain, findings=findings(2, 3, 4, 5))
        url = f"/v1/applications/{application['id']}"
        missing = await owner.patch(url, json={"findings": {"critical": 0}})
        assert missing.status_code == 428, missing.text
        assert missing.headers["content-type"] == "application/problem+json"
        first = await owner.patch(url, json={"findings": {"critical": 0}}, headers={"If-Match": '"1"'})
        assert first.status_code == 200 and first.headers["etag"] == '"2"'
        assert first.json()["findings"] == findings(0, 3, 4, 5)
        stale = await owner.patch(url, json={"findings": {"high": 0}}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
        for body in (
            {"findings": None},
            {"findings": {"high": None}},
            {"supported_until": None},
            {"name": None},
            {"findings": {"low": -2}},
        ):
            refused = await owner.patch(url, json=body, headers={"If-Match": '"2"'})
            assert refused.status_code == 422, (body, refused.text)
        dates = await owner.patch(
            url, json={"supported_until": "2027-03-31", "last_release": "2026-11-01"}, headers={"If-Match": '"2"'}
        )
        assert dates.status_code == 200
        current = (await owner.get(url)).json()
        assert current["version"] == 3 and current["findings"] == findings(0, 3, 4, 5)
        assert (current["supported_until"], current["last_release"]) == ("2027-03-31", "2026-11-01")
        # The same values again change nothing: no new version.
        same = await owner.patch(url, json={"findings": {"critical": 0}}, headers={"If-Match": '"3"'})
        assert same.status_code == 200 and same.json()["version"] == 3


async def test_lists_filter_page_and_batch_get(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        one = await make_chain(admin)
        two = await make_chain(admin)
        a = await make_application(admin, one, category="registration", disposition="invest", hosting="own_platform")
        b = await make_application(admin, one, category="intelligence", disposition="eliminate", hosting="hybrid")
        c = await make_application(
            admin, two, category="intelligence", hosting="public_cloud", data_classification="confidential"
        )

        assert await ids(admin, "/v1/applications", chain=one["href"]) == [a["id"], b["id"]]
        assert await ids(admin, "/v1/applications", chain=one["id"]) == [a["id"], b["id"]]
        assert await ids(admin, "/v1/applications", chain=one["id"], category="intelligence") == [b["id"]]
        assert await ids(admin, "/v1/applications", chain=one["id"], disposition="eliminate") == [b["id"]]
        assert await ids(admin, "/v1/applications", chain=two["id"], hosting="public_cloud") == [c["id"]]
        assert await ids(admin, "/v1/applications", chain=two["id"], data_classification="confidential") == [c["id"]]
        assert await ids(admin, "/v1/applications", chain=two["id"], data_classification="internal") == []
        assert await ids(admin, f"/v1/chains/{one['id']}/applications", hosting="hybrid") == [b["id"]]
        assert await ids(admin, f"/v1/chains/{two['id']}/applications") == [c["id"]]
        assert (await admin.get("/v1/chains/nope/applications")).status_code == 404
        for params in ({"category": "case_files"}, {"disposition": "x"}, {"limit": 0}):
            assert (await admin.get("/v1/applications", params=params)).status_code == 422, params
        assert (await admin.get("/v1/applications", params={"colour": "blue"})).status_code == 400

        first = await admin.get("/v1/applications", params={"chain": one["id"], "limit": 1})
        assert [x["id"] for x in first.json()["items"]] == [a["id"]]
        next_path = first.json()["next"]
        assert next_path.startswith("/valuechains/v1/applications?")
        second = await admin.get(next_path.removeprefix("/valuechains"))
        assert [x["id"] for x in second.json()["items"]] == [b["id"]] and second.json()["next"] is None

        batch = await admin.get("/v1/applications", params=[("id", c["id"]), ("id", a["id"]), ("id", "missing")])
        assert batch.status_code == 200
        assert sorted(x["id"] for x in batch.json()["items"]) == sorted([a["id"], c["id"]])


async def test_delete_archives_an_application(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        application = await make_application(owner, chain, findings=findings(critical=4))
        url = f"/v1/applications/{application['id']}"
        assert (await owner.get(f"/v1/chains/{chain['id']}")).json()["open_critical_findings"] == 4
        assert (await owner.delete(url, headers={"If-Match": '"7"'})).status_code == 412
        archived = await owner.delete(url)
        assert archived.status_code == 200 and archived.json()["status"] == "archived"
        assert archived.headers["etag"] == '"2"'
        again = await owner.delete(url)
        assert again.status_code == 200 and again.json()["version"] == 2
        assert await ids(owner, f"/v1/chains/{chain['id']}/applications") == []
        assert await ids(owner, "/v1/applications", chain=chain["id"]) == []
        assert await ids(owner, "/v1/applications", chain=chain["id"], include_archived="true") == [application["id"]]
        assert (await owner.get(url)).json()["status"] == "archived"
        batch = await owner.get("/v1/applications", params={"id": application["id"]})
        assert [x["status"] for x in batch.json()["items"]] == ["archived"]
        # An archived application no longer counts for the chain.
        assert (await owner.get(f"/v1/chains/{chain['id']}")).json()["open_critical_findings"] == 0
        events = await events_for(owner, application["href"])
        assert [e["type"] for e in events] == ["applications.created", "applications.archived"]
        assert events[-1]["changes"] == {"status": ["active", "archived"]}


async def test_no_applications_for_an_archived_chain(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        other = await make_chain(admin)
        application = await make_application(admin, other)
        assert (await admin.delete(f"/v1/chains/{chain['id']}")).status_code == 200
        response = await admin.post(f"/v1/chains/{chain['id']}/applications", json=application_body())
        assert response.status_code == 409, response.text
        moved = await admin.patch(
            f"/v1/applications/{application['id']}",
            json={"chain": {"href": chain["href"]}},
            headers={"If-Match": '"1"'},
        )
        # Moving it there is a new reference to an archived chain.
        assert moved.status_code == 422, moved.text
        assert moved.json()["errors"][0]["type"] == "reference_archived"


async def test_idempotent_create_replays_the_first_response(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        url = f"/v1/chains/{chain['id']}/applications"
        key = {"Idempotency-Key": "application-create-1"}
        first = await owner.post(url, json=application_body(), headers=key)
        assert first.status_code == 201, first.text
        replay = await owner.post(url, json=application_body(), headers=key)
        assert replay.status_code == 201 and replay.json() == first.json()
        assert replay.headers["location"] == first.headers["location"]
        assert replay.headers.get("idempotent-replayed") == "true"
        other = await owner.post(url, json=application_body(name="Another"), headers=key)
        assert other.status_code == 422, other.text
        assert await ids(owner, url) == [first.json()["id"]]


async def test_change_feed_records_findings_and_moves_as_old_new(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        sibling = await make_chain(admin, owner=chain["owner"])
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        application = await make_application(owner, chain, findings=findings(1, 2, 3, 4))
        url = f"/v1/applications/{application['id']}"
        closed = await owner.patch(url, json={"findings": {"critical": 0, "high": 1}}, headers={"If-Match": '"1"'})
        assert closed.status_code == 200
        moved = await owner.patch(url, json={"chain": {"href": sibling["href"]}}, headers={"If-Match": '"2"'})
        assert moved.status_code == 200 and moved.json()["chain"] == {"href": sibling["href"]}
        created, updated, move = await events_for(owner, application["href"])
        assert created["type"] == "applications.created" and created["version"] == 1
        assert created["changes"]["findings"] == [None, findings(1, 2, 3, 4)]
        assert created["changes"]["chain"] == [None, {"href": chain["href"]}]
        assert created["changes"]["supported_until"] == [None, "2030-12-31"]
        assert updated["type"] == "applications.updated" and updated["version"] == 2
        assert updated["changes"] == {"findings": [findings(1, 2, 3, 4), findings(0, 1, 3, 4)]}
        assert updated["actor"] == chain["owner"]["subject"]
        assert move["changes"] == {"chain": [{"href": chain["href"]}, {"href": sibling["href"]}]}
        assert (await owner.get("/v1/changes/verify", headers=tokens("auditor"))).json()["ok"] is True
        # The chain's own feed is untouched: its figures are derived, not stored.
        assert [e["type"] for e in await events_for(owner, chain["href"])] == ["chains.created"]


async def test_need_to_know_hides_classified_applications(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        internal = await make_application(admin, chain, name="Open", findings=findings(critical=1))
        confidential = await make_application(
            admin, chain, name="Vertrouwelijk", data_classification="confidential", findings=findings(critical=2)
        )
        secret = await make_application(
            admin, chain, name="Geheim", data_classification="secret", findings=findings(critical=4)
        )
    everything = [internal["id"], confidential["id"], secret["id"]]
    batch = [("id", i) for i in everything]
    async with suite.client("valuechains", tokens("reader")) as reader:
        assert (await reader.get(f"/v1/applications/{confidential['id']}")).status_code == 404
        assert (await reader.get(f"/v1/applications/{secret['id']}")).status_code == 404
        assert await ids(reader, "/v1/applications", chain=chain["id"]) == [internal["id"]]
        assert await ids(reader, f"/v1/chains/{chain['id']}/applications") == [internal["id"]]
        assert [x["id"] for x in (await reader.get("/v1/applications", params=batch)).json()["items"]] == [
            internal["id"]
        ]
        assert await ids(reader, "/v1/applications", chain=chain["id"], data_classification="secret") == []
        # The feed hides their events too.
        assert await events_for(reader, confidential["href"]) == []
        # The chain's figures count every application (a count, not the content): see ChainRead.
        assert (await reader.get(f"/v1/chains/{chain['id']}")).json()["open_critical_findings"] == 7
    async with suite.client("valuechains", tokens("reader", clearance="confidential")) as cleared:
        assert (await cleared.get(f"/v1/applications/{confidential['id']}")).status_code == 200
        assert (await cleared.get(f"/v1/applications/{secret['id']}")).status_code == 404
        assert await ids(cleared, "/v1/applications", chain=chain["id"]) == [internal["id"], confidential["id"]]
    async with suite.client("valuechains", tokens("reader", clearance="secret")) as top:
        assert sorted(await ids(top, "/v1/applications", chain=chain["id"])) == sorted(everything)
    # The chain's owner without clearance neither sees nor changes them, nor creates what they could not see.
    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        url = f"/v1/applications/{confidential['id']}"
        assert (await owner.patch(url, json={"name": "x"}, headers={"If-Match": '"1"'})).status_code == 404
        assert (await owner.delete(url)).status_code == 404
        hidden = await owner.post(
            f"/v1/chains/{chain['id']}/applications", json=application_body(data_classification="confidential")
        )
        assert hidden.status_code == 403 and "clearance" in hidden.json()["detail"]
        raise_it = await owner.patch(
            f"/v1/applications/{internal['id']}", json={"data_classification": "secret"}, headers={"If-Match": '"1"'}
        )
        assert raise_it.status_code == 403
    owner_cleared = tokens("chain_owner", sub=chain["owner"]["subject"], clearance="confidential")
    async with suite.client("valuechains", owner_cleared) as owner:
        url = f"/v1/applications/{confidential['id']}"
        ok = await owner.patch(url, json={"findings": {"critical": 0}}, headers={"If-Match": '"1"'})
        assert ok.status_code == 200, ok.text
        assert (await owner.get(f"/v1/chains/{chain['id']}")).json()["open_critical_findings"] == 5


async def test_chain_representations_carry_derived_foundation_figures(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        quiet = await make_chain(admin)
        fresh = await make_chain(admin)
        a = await make_application(admin, chain, findings=findings(2, 1, 9, 9), supported_until="2020-01-31")
        await make_application(admin, chain, findings=findings(1, 4), supported_until="2019-06-30")
        await make_application(admin, chain, findings=findings(0, 2), supported_until="2099-12-31")
        gone = await make_application(admin, chain, findings=findings(50, 50), supported_until="2001-01-01")
        assert (await admin.delete(f"/v1/applications/{gone['id']}")).status_code == 200
        await make_application(admin, quiet, findings=findings(0, 0, 3, 3))
    expected = {
        chain["id"]: {
            "active_applications": 3,
            "open_critical_findings": 3,
            "open_high_findings": 7,
            "applications_past_support": 2,
        },
        quiet["id"]: {
            "active_applications": 1,
            "open_critical_findings": 0,
            "open_high_findings": 0,
            "applications_past_support": 0,
        },
        fresh["id"]: {
            "active_applications": 0,
            "open_critical_findings": 0,
            "open_high_findings": 0,
            "applications_past_support": 0,
        },
    }

    def figures(item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in expected[item["id"]]}

    async with suite.client("valuechains", tokens("reader")) as reader:
        single = await reader.get(f"/v1/chains/{chain['id']}")
        assert single.status_code == 200 and figures(single.json()) == expected[chain["id"]]
        version, etag = single.json()["version"], single.headers["etag"]
        for code in (chain["code"], quiet["code"], fresh["code"]):
            listed = (await reader.get("/v1/chains", params={"code": code})).json()["items"]
            assert [figures(c) for c in listed] == [expected[listed[0]["id"]]]
        batch = await reader.get("/v1/chains", params=[("id", c["id"]) for c in (chain, quiet, fresh)])
        assert {c["id"]: figures(c) for c in batch.json()["items"]} == expected

    async with suite.client("valuechains", owner_token(tokens, chain)) as owner:
        closed = await owner.patch(
            f"/v1/applications/{a['id']}",
            json={"findings": {"critical": 0}, "supported_until": "2031-01-31"},
            headers={"If-Match": '"1"'},
        )
        assert closed.status_code == 200
        after = await owner.get(f"/v1/chains/{chain['id']}")
        assert figures(after.json()) == {
            **expected[chain["id"]],
            "open_critical_findings": 1,
            "applications_past_support": 1,
        }
        # The figures changed, the chain did not: same version, same ETag, no chain event.
        assert after.json()["version"] == version and after.headers["etag"] == etag
        assert [e["type"] for e in await events_for(owner, chain["href"])] == ["chains.created"]
        # Writes on the chain answer with the figures too.
        patched = await owner.patch(
            f"/v1/chains/{chain['id']}", json={"mission": "Sharper."}, headers={"If-Match": etag}
        )
        assert patched.status_code == 200 and patched.json()["open_critical_findings"] == 1
        # The chain event carries stored fields only.
        assert (await events_for(owner, chain["href"]))[-1]["changes"] == {
            "mission": ["Equip investigators.", "Sharper."]
        }


async def test_references_list_applications_pointing_at_a_chain(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        application = await make_application(admin, chain)
        response = await admin.get("/v1/references", params={"target": chain["href"]})
        assert response.status_code == 200
        assert {"href": application["href"], "field": "chain", "target": chain["href"]} in response.json()["items"]


async def test_a_chain_says_how_many_of_the_applications_it_counts_the_caller_may_not_see(
    suite: Suite, tokens: Tokens
) -> None:
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as admin:
        chain = await make_chain(admin)
        await make_application(admin, chain, findings=findings(1, 1), data_classification="internal")
        await make_application(admin, chain, findings=findings(2, 0), data_classification="confidential")
        await make_application(admin, chain, findings=findings(4, 3), data_classification="secret")
        gone = await make_application(admin, chain, data_classification="secret")
        assert (await admin.delete(f"/v1/applications/{gone['id']}")).status_code == 200  # archived: not counted
    counts = {"active_applications": 3, "open_critical_findings": 7, "open_high_findings": 4}
    for clearance, not_visible in (("public", 3), ("internal", 2), ("confidential", 1), ("secret", 0)):
        async with suite.client("valuechains", tokens("reader", clearance=clearance)) as reader:
            single = (await reader.get(f"/v1/chains/{chain['id']}")).json()
            [listed] = (await reader.get("/v1/chains", params={"code": chain["code"]})).json()["items"]
        for shown in (single, listed):
            # The counts are the same for everyone; what differs is said, not hidden.
            assert {k: shown[k] for k in counts} == counts, clearance
            assert shown["applications_not_visible"] == not_visible, clearance
    async with suite.client("valuechains", tokens("admin")) as admin:
        assert (await admin.get(f"/v1/chains/{chain['id']}")).json()["applications_not_visible"] == 0


async def test_a_chain_by_id_is_one_statement_with_its_figures(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        empty = await make_chain(admin)
        await make_application(admin, chain, findings=findings(2, 1), supported_until="2020-01-31")
        await make_application(admin, chain, data_classification="secret", findings=findings(3))
    for one in (chain, empty):
        async with suite.client("valuechains", tokens("reader")) as reader:
            listed = (await reader.get("/v1/chains", params={"id": one["id"]})).json()["items"]
            with statements(suite, "valuechains") as seen:
                single = await reader.get(f"/v1/chains/{one['id']}")
        assert single.status_code == 200
        assert single.json() == listed[0]
        assert single.headers["etag"] == f'"{listed[0]["version"]}"'
        assert len([s for s, _ in seen if s.lstrip().upper().startswith("SELECT")]) == 1
    assert listed[0]["active_applications"] == 0
    async with suite.client("valuechains", tokens("reader")) as reader:
        figures = (await reader.get(f"/v1/chains/{chain['id']}")).json()
        assert (await reader.get("/v1/chains/no-such-chain")).status_code == 404
    assert figures["active_applications"] == 2
    assert figures["open_critical_findings"] == 5
    assert figures["applications_past_support"] == 1
    assert figures["applications_not_visible"] == 1
