"""The access log of partner reads (services.chassis.access_log).

Every read a chain partner makes is recorded by the service that owns the data, refused ones with
their status, and nothing else is; auditors and admins read the log (filtered, paged, as CSV),
nobody else; the log is a hash chain that the change feed's verification checks, with signed
checkpoints that the other services witness.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from services.chassis import audit
from services.chassis.access_log import ACCESS_LOG, AccessLog
from services.chassis.db import Database
from tests.chassis.test_partners import ABSENT_ID, APPLICATION_FIELDS, CHAIN_FIELDS, chain_with_application
from tests.conftest import Suite
from tests.support import Tokens, client_for, unique_name

SERVICE = "valuechains"
PREFIX = f"/{SERVICE}"


def partner(tokens: Tokens, sub: str, org: str = "OM") -> dict[str, str]:
    return tokens("partner", sub=sub, partner_org=org)


async def log_of(suite: Suite, tokens: Tokens, service: str = SERVICE, **params: Any) -> list[dict[str, Any]]:
    """Every entry of the log the filters select, page after page, as an auditor reads them."""
    items: list[dict[str, Any]] = []
    async with suite.client(service, tokens("auditor")) as auditor:
        answer = await auditor.get("/v1/access-log", params={"limit": 100, **params})
        while True:
            assert answer.status_code == 200, answer.text
            items += answer.json()["items"]
            more = answer.json()["next"]
            if more is None:
                return items
            answer = await auditor.get(more.removeprefix(f"/{service}"))


def read(answer: httpx2.Response, query: str = "") -> dict[str, Any]:
    """What the log must hold of a partner's read made with ``answer`` (the service's own path)."""
    body = answer.json()
    shown = body["items"] if answer.status_code == 200 and "items" in body else [body] if answer.is_success else []
    return {
        "method": "GET",
        "path": PREFIX + answer.request.url.path,
        "query": query or answer.request.url.query.decode(),
        "status": answer.status_code,
        "records": [item["href"] for item in shown],
        "fields": sorted({key for item in shown for key in item}),
        "trace_id": answer.headers["X-Trace-Id"],
    }


def as_logged(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("method", "path", "query", "status", "records", "fields", "trace_id")}


async def test_every_read_a_partner_makes_is_logged_and_nothing_else(suite: Suite, tokens: Tokens) -> None:
    chain, application = await chain_with_application(suite, tokens, "Logboek")
    other, second = await chain_with_application(suite, tokens, "Logboek twee")
    sub = unique_name("u-om")
    made: list[dict[str, Any]] = []
    async with (
        suite.client(SERVICE, partner(tokens, sub)) as om,
        suite.client(SERVICE, tokens("reader")) as reader,
        suite.client(SERVICE, tokens("architect")) as architect,
    ):
        listed = await om.get("/v1/chains", params={"limit": 100})
        assert listed.status_code == 200 and len(listed.json()["items"]) >= 2
        made.append(read(listed))
        assert (await reader.get("/v1/chains")).status_code == 200  # not a partner: not logged
        member = await om.get(f"/v1/chains/{chain['id']}")
        assert member.status_code == 200 and set(member.json()) == CHAIN_FIELDS
        made.append(read(member))
        batch = await om.get("/v1/applications", params={"id": [application["id"], second["id"]]})
        assert [i["id"] for i in batch.json()["items"]] == [application["id"], second["id"]]
        made.append(read(batch))
        assert (await architect.get(f"/v1/applications/{application['id']}")).status_code == 200
        filtered = await om.get("/v1/chains", params={"code": other["code"]})
        assert [i["id"] for i in filtered.json()["items"]] == [other["id"]]
        made.append(read(filtered))
        refused = await om.get("/v1/chains", params={"owner_subject": "u-owner"})
        assert refused.status_code == 403
        made.append(read(refused))
        missing = await om.get(f"/v1/applications/{ABSENT_ID}")
        assert missing.status_code == 404
        made.append(read(missing))
    logged = await log_of(suite, tokens, subject=sub)
    assert [as_logged(e) for e in logged] == made
    assert logged[2]["records"] == [application["href"], second["href"]]
    assert set(logged[2]["fields"]) == APPLICATION_FIELDS and "owner" not in logged[1]["fields"]
    assert {(e["subject"], e["partner_org"]) for e in logged} == {(sub, "OM")}
    assert [e["seq"] for e in logged] == sorted(e["seq"] for e in logged)
    # Nothing else: the readers' and the auditors' reads in between left no entry.
    everything = await log_of(suite, tokens)
    assert [e for e in everything if e["seq"] >= logged[0]["seq"]] == logged


async def test_a_read_whose_entry_cannot_be_written_fails(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("the access log cannot be written")

    chain, _ = await chain_with_application(suite, tokens, "Onvastgelegd")
    monkeypatch.setattr(AccessLog, "record", broken)
    transport = httpx2.ASGITransport(app=suite.apps[SERVICE], raise_app_exceptions=False)
    headers = partner(tokens, unique_name("u-om"))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as om:
        for path in (f"/v1/chains/{chain['id']}", "/v1/chains", f"/v1/chains/{ABSENT_ID}"):
            answer = await om.get(path)
            assert answer.status_code == 500, (path, answer.status_code)
            assert chain["name"] not in answer.text and answer.json()["type"] == "/problems/internal"


async def test_only_auditors_and_admins_read_the_log_filtered_paged_and_as_csv(suite: Suite, tokens: Tokens) -> None:
    chain, _ = await chain_with_application(suite, tokens, "Filters logboek")
    first, second = unique_name("u-om"), unique_name("u-om")
    elsewhere = unique_name("KMar")
    async with suite.client(SERVICE, partner(tokens, first)) as om:
        assert (await om.get(f"/v1/chains/{chain['id']}")).status_code == 200
        for path in ("/v1/access-log", "/v1/access-log/verify", "/v1/access-log/checkpoints"):
            assert (await om.get(path)).status_code == 403, path  # a partner cannot read the log
    async with suite.client(SERVICE, partner(tokens, second)) as om:
        assert (await om.get("/v1/chains", params={"code": chain["code"]})).status_code == 200
    async with suite.client(SERVICE, partner(tokens, second, elsewhere)) as kmar:
        assert (await kmar.get("/v1/chains")).status_code == 403  # an organisation without a scope
    for role in ("reader", "architect", "chain_owner", "portfolio_manager"):
        async with suite.client(SERVICE, tokens(role, clearance="secret")) as other:
            assert (await other.get("/v1/access-log")).status_code == 403, role
            assert (await other.get("/v1/access-log/verify")).status_code == 403, role

    by_first = await log_of(suite, tokens, subject=first)
    assert [(e["path"], e["status"]) for e in by_first] == [
        (f"{PREFIX}/v1/chains/{chain['id']}", 200),
        *((f"{PREFIX}{p}", 403) for p in ("/v1/access-log", "/v1/access-log/verify", "/v1/access-log/checkpoints")),
    ]
    by_second = await log_of(suite, tokens, subject=second)
    assert [(e["partner_org"], e["status"]) for e in by_second] == [("OM", 200), (elsewhere, 403)]
    assert await log_of(suite, tokens, partner=elsewhere) == by_second[1:]
    assert await log_of(suite, tokens, partner="OM", subject=second) == by_second[:1]
    # The period: from inclusive, to exclusive.
    ours = by_first + by_second
    assert await log_of(suite, tokens, subject=second, **{"from": by_second[0]["at"], "to": by_second[1]["at"]}) == [
        by_second[0]
    ]
    assert await log_of(suite, tokens, subject=first, **{"from": by_first[1]["at"]}) == by_first[1:]
    assert await log_of(suite, tokens, subject=first, to=by_first[1]["at"]) == by_first[:1]
    async with suite.client(SERVICE, tokens("admin")) as admin:
        paged = await admin.get("/v1/access-log", params={"subject": first, "limit": 1})
        assert paged.status_code == 200 and paged.json()["items"] == by_first[:1]
        rest = (await admin.get(paged.json()["next"].removeprefix(PREFIX))).json()
        assert rest["items"][0] == by_first[1]
        exported = await admin.get("/v1/access-log", params={"subject": first}, headers={"Accept": "text/csv"})
        for bad in ({"from": "yesterday"}, {"from": "0"}, {"to": "2026-13-01T00:00:00Z"}, {"limit": "0"}):
            problem = await admin.get("/v1/access-log", params=bad)
            assert problem.status_code == 422, (bad, problem.text)
        backwards = {"from": ours[-1]["at"], "to": ours[0]["at"]}
        problem = await admin.get("/v1/access-log", params=backwards)
        assert problem.status_code == 422 and "from" in problem.text
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert (await admin.get("/v1/access-log", params={"partnr": "OM"})).status_code == 400
        assert (await admin.get("/v1/access-log", headers={"Accept": "image/png"})).status_code == 406
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert 'filename="access-log.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(int(r["seq"]), r["path"], r["records"], r["trace_id"]) for r in rows] == [
        (e["seq"], e["path"], ";".join(e["records"]), e["trace_id"]) for e in by_first
    ]
    assert (await log_of(suite, tokens, subject=first))[-1] == by_first[-1]  # the auditor's reads added nothing


async def sql(app: FastAPI, statement: str, **params: Any) -> None:
    from sqlalchemy import text

    db: Database = app.state.db
    async with db.session(write=True) as session:
        await session.execute(text(statement), params)


async def test_the_log_is_a_chain_signed_witnessed_and_verified(suite: Suite, tokens: Tokens) -> None:
    app = suite.apps[SERVICE]
    chain, _ = await chain_with_application(suite, tokens, "Verificatie logboek")
    sub = unique_name("u-om")
    async with suite.client(SERVICE, partner(tokens, sub)) as om:
        for _ in range(3):
            assert (await om.get(f"/v1/chains/{chain['id']}")).status_code == 200
    made = await audit.write_checkpoint(app.state.db, app.state.audit_keys, app.state.settings, chain=ACCESS_LOG)
    assert made is not None
    feed = f"{SERVICE}.access-log"
    assert (await audit.witness(suite.apps["portfolio"]))[feed] >= 1
    async with suite.client(SERVICE, tokens("auditor")) as auditor:
        listed = (await auditor.get("/v1/access-log/checkpoints", params={"after": made.number - 1})).json()
        assert [(c["feed"], c["seq"]) for c in listed["items"]] == [(feed, made.seq)]
        intact = (await auditor.get("/v1/access-log/verify")).json()
        assert intact["ok"] is True and intact["count"] == made.seq, intact
        assert {w["service"]: w["status"] for w in intact["witnesses"]}["portfolio"] == "agrees"
        async with suite.client("portfolio", tokens("auditor")) as witness:
            seen = (await witness.get("/v1/changes/witnessed", params={"feed": feed})).json()["items"]
            assert [c["number"] for c in seen] == [made.number]
        # An administrator edits an entry: it no longer matches its hash.
        entry = (await log_of(suite, tokens, subject=sub))[1]
        await sql(app, "UPDATE access_log SET records = '[]' WHERE seq = :s", s=entry["seq"])
        app.state.access_log_verified = None  # a process that has not verified yet: the database alone
        app.state.settings = app.state.settings.model_copy(update={"audit_verify_reuse_seconds": 0})
        found = (await auditor.get("/v1/access-log/verify")).json()
        assert found["ok"] is False and found["broken_at"] == entry["seq"], found
        assert found["findings"][0]["kind"] == "event_altered"
        # The change feed is another chain: untouched.
        assert (await auditor.get("/v1/changes/verify")).json()["ok"] is True


async def test_concurrent_partner_reads_keep_one_unbroken_chain(committed_suite: Suite, tokens: Tokens) -> None:
    suite = committed_suite
    chain, _ = await chain_with_application(suite, tokens, "Gelijktijdig")
    sub = unique_name("u-om")
    async with suite.client(SERVICE, partner(tokens, sub)) as om:
        answers = await asyncio.gather(*(om.get(f"/v1/chains/{chain['id']}") for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    logged = await log_of(suite, tokens, subject=sub)
    assert sorted(e["trace_id"] for e in logged) == sorted(a.headers["X-Trace-Id"] for a in answers)
    async with suite.client(SERVICE, tokens("admin")) as admin:
        result = (await admin.get("/v1/access-log/verify", params={"from": "genesis"})).json()
    assert result["ok"] is True and result["count"] >= logged[-1]["seq"], result


async def test_expand_and_include_through_the_gateway_are_logged_at_the_owner(
    suite: Suite, suite_gateway: FastAPI, tokens: Tokens
) -> None:
    chain, application = await chain_with_application(suite, tokens, "Via de gateway")
    sub = unique_name("u-om")
    async with client_for(suite_gateway, partner(tokens, sub)) as om:
        expanded = await om.get(f"{PREFIX}/v1/applications/{application['id']}", params={"expand": "chain"})
        assert expanded.status_code == 200 and set(expanded.json()["chain"]) == CHAIN_FIELDS
        included = await om.get(f"{PREFIX}/v1/chains/{chain['id']}", params={"include": "applications,initiatives"})
        assert included.status_code == 200, included.text
        [shown] = included.json()["included"]["applications"]["items"]
        assert shown["id"] == application["id"]
        # include honours the scope as a direct read does: the scoped fields only, of both.
        assert set(shown) == APPLICATION_FIELDS, shown
        assert set(included.json()) - {"included"} == CHAIN_FIELDS
        assert included.json()["included"]["initiatives"]["error"]["status"] == 403
    logged = await log_of(suite, tokens, subject=sub)
    made = [(e["path"], e["query"], e["records"], e["trace_id"]) for e in logged]
    expand_trace, include_trace = expanded.headers["X-Trace-Id"], included.headers["X-Trace-Id"]
    assert made[:2] == [
        (f"{PREFIX}/v1/applications/{application['id']}", "", [application["href"]], expand_trace),
        (f"{PREFIX}/v1/chains", f"id={chain['id']}&limit=100", [chain["href"]], expand_trace),
    ]
    assert made[2] == (f"{PREFIX}/v1/chains/{chain['id']}", "", [chain["href"]], include_trace)
    assert (f"{PREFIX}/v1/applications", [application["href"]], include_trace) in [
        (path, records, trace) for path, _, records, trace in made[3:]
    ]
    # What the gateway asked of the other services on the partner's behalf was refused there, and
    # recorded there, by the service that owns that data.
    assert {e["status"] for e in await log_of(suite, tokens, "portfolio", subject=sub)} == {403}
