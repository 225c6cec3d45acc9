"""The resource contract on every collection: ETag/If-Match, idempotent POST, archive, batch get,
the list envelope, and the change feed with its hash chain."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import httpx2
import pytest
from sqlalchemy import text, update

from services.chassis.changes import ChangeEvent
from services.chassis.db import Database, utcnow
from services.chassis.idempotency import IdempotencyRecord
from tests.chassis.cases import CASES, Case, case_ids
from tests.conftest import Suite
from tests.support import Tokens

pytestmark = pytest.mark.parametrize("case", CASES, ids=case_ids())


async def _create(client: httpx2.AsyncClient, case: Case, **headers: str) -> httpx2.Response:
    response = await client.post(case.path, json=case.body(), headers=headers)
    assert response.status_code == 201, response.text
    return response


async def test_etag_and_if_match(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        created = (await _create(client, case)).json()
        url = f"{case.path}/{created['id']}"
        got = await client.get(url)
        assert got.headers["etag"] == '"1"'

        missing = await client.patch(url, json=case.change)
        assert missing.status_code == 428
        assert missing.json()["type"] == "/problems/precondition-required"
        star = await client.patch(url, json=case.change, headers={"If-Match": "*"})
        assert star.status_code == 428
        malformed = await client.patch(url, json=case.change, headers={"If-Match": "3"})
        assert malformed.status_code == 400

        ok = await client.patch(url, json=case.change, headers={"If-Match": '"1"'})
        assert ok.status_code == 200, ok.text
        assert ok.headers["etag"] == '"2"'
        assert ok.json()["version"] == 2

        stale = await client.patch(url, json=case.change, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.json()["type"] == "/problems/precondition-failed"
        assert (await client.get(url)).json() == ok.json()


async def test_unknown_fields_and_wrong_types_are_422(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        body = case.body()
        unknown = await client.post(case.path, json={**body, "surprise": 1})
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["loc"] == ["body", "surprise"]
        wrong_type = await client.post(case.path, json={**body, "code": 12})
        assert wrong_type.status_code == 422
        assert wrong_type.headers["content-type"] == "application/problem+json"
        not_json = await client.post(case.path, content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        assert (await client.get(case.path, params={"code": body["code"]})).json()["items"] == []


async def test_concurrent_patches_exactly_one_wins(committed_suite: Suite, tokens: Tokens, case: Case) -> None:
    async with committed_suite.client(case.service, tokens("admin")) as client:
        created = (await _create(client, case)).json()
        url = f"{case.path}/{created['id']}"
        field, base = next(iter(case.change.items()))

        async def attempt(i: int) -> httpx2.Response:
            return await client.patch(url, json={field: f"{base} #{i}"}, headers={"If-Match": '"1"'})

        responses = await asyncio.gather(*(attempt(i) for i in range(20)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * 19, statuses
        winner = next(r for r in responses if r.status_code == 200).json()
        final = (await client.get(url)).json()
        assert final[field] == winner[field]
        assert final["version"] == 2
        events = (await client.get("/v1/changes", params={"subject": created["href"], "limit": 100})).json()["items"]
        assert [e["type"] for e in events] == [f"{case.collection}.created", f"{case.collection}.updated"]
        assert events[1]["changes"][field] == [created[field], winner[field]]


async def test_idempotent_create_replays(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        body = case.body()
        first = await client.post(case.path, json=body, headers={"Idempotency-Key": "create-1"})
        again = await client.post(case.path, json=body, headers={"Idempotency-Key": "create-1"})
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        listed = await client.get(case.path, params={"code": body["code"]})
        assert len(listed.json()["items"]) == 1

        other = await client.post(case.path, json=case.body(), headers={"Idempotency-Key": "create-1"})
        assert other.status_code == 422
        assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]

    # Keys belong to the caller: another person's identical key is a different request.
    async with suite.client(case.service, tokens("admin", sub="someone-else")) as other_client:
        theirs = await other_client.post(case.path, json=case.body(), headers={"Idempotency-Key": "create-1"})
        assert theirs.status_code == 201


async def test_failed_create_releases_the_key(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        existing = (await _create(client, case)).json()
        clash = {**case.body(), "code": existing["code"]}
        failed = await client.post(case.path, json=clash, headers={"Idempotency-Key": "k-fail"})
        assert failed.status_code == 409
        fixed = {**clash, "code": case.body()["code"]}
        # The failed request released its key, so a corrected retry may use it.
        assert (await client.post(case.path, json=fixed, headers={"Idempotency-Key": "k-fail"})).status_code == 201


async def test_concurrent_identical_posts_create_one(committed_suite: Suite, tokens: Tokens, case: Case) -> None:
    async with committed_suite.client(case.service, tokens("admin", sub=f"idem-{case.collection}")) as client:
        body = case.body()
        key = f"burst-{body['code']}"
        responses = await asyncio.gather(
            *(client.post(case.path, json=body, headers={"Idempotency-Key": key}) for _ in range(20))
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert len({r.json()["id"] for r in created}) == 1
        assert all(r.json()["type"] == "/problems/conflict" for r in responses if r.status_code == 409)
        listed = await client.get(case.path, params={"code": body["code"]})
        assert len(listed.json()["items"]) == 1
        replay = await client.post(case.path, json=body, headers={"Idempotency-Key": key})
        assert replay.status_code == 201
        assert replay.json()["id"] == created[0].json()["id"]


async def test_expired_key_can_be_used_again(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin", sub="expiry-tester")) as client:
        first = await _create(client, case, **{"Idempotency-Key": "old-key"})
        db: Database = suite.apps[case.service].state.db
        async with db.session(write=True) as session:
            await session.execute(text("UPDATE idempotency_keys SET expires_at = created_at WHERE key = 'old-key'"))
        second = await client.post(case.path, json=case.body(), headers={"Idempotency-Key": "old-key"})
        assert second.status_code == 201
        assert second.json()["id"] != first.json()["id"]


async def test_a_key_left_in_flight_by_a_dead_request_is_taken_over(suite: Suite, tokens: Tokens, case: Case) -> None:
    db: Database = suite.apps[case.service].state.db
    now = utcnow()
    async with db.session(write=True) as session:
        session.add(  # the process died after reserving the key: nothing was done, nothing stored
            IdempotencyRecord(
                actor="crash-tester",
                key="dead-key",
                fingerprint="0" * 64,
                state="in_flight",
                created_at=now - dt.timedelta(minutes=5),
                locked_until=now - dt.timedelta(seconds=1),
                expires_at=now + dt.timedelta(hours=1),
            )
        )
    async with suite.client(case.service, tokens("admin", sub="crash-tester")) as client:
        taken = await client.post(case.path, json=case.body(), headers={"Idempotency-Key": "dead-key"})
        assert taken.status_code == 201, taken.text

        body = case.body()
        assert (await client.post(case.path, json=body, headers={"Idempotency-Key": "busy-key"})).status_code == 201
        async with db.session(write=True) as session:  # as if that request were still running
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key == "busy-key")
                .values(state="in_flight", locked_until=now + dt.timedelta(minutes=1))
            )
        busy = await client.post(case.path, json=body, headers={"Idempotency-Key": "busy-key"})
        assert busy.status_code == 409
        assert busy.headers["retry-after"] == "1"


async def test_archive_hides_from_lists_but_not_from_reads(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        created = (await _create(client, case)).json()
        url = f"{case.path}/{created['id']}"
        stale = await client.delete(url, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        archived = await client.delete(url)
        assert archived.status_code == 200
        assert archived.json()["status"] == "archived"
        assert archived.json()["version"] == 2
        again = await client.delete(url)
        assert again.json()["version"] == 2  # archiving twice changes nothing

        assert (await client.get(url)).json()["status"] == "archived"
        code = {"code": created["code"]}
        assert (await client.get(case.path, params=code)).json()["items"] == []
        shown = await client.get(case.path, params={**code, "include_archived": "true"})
        assert [i["id"] for i in shown.json()["items"]] == [created["id"]]
        batch = await client.get(case.path, params={"id": created["id"]})
        assert [i["status"] for i in batch.json()["items"]] == ["archived"]


async def test_list_envelope_pagination_and_batch(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        ids = [(await _create(client, case)).json()["id"] for _ in range(5)]
        seen: list[str] = []
        url: str | None = f"{case.path}?limit=2"
        while url is not None:
            page = (await client.get(url)).json()
            assert set(page) == {"items", "next"}
            assert len(page["items"]) <= 2
            seen.extend(i["id"] for i in page["items"])
            url = page["next"].removeprefix(f"/{case.service}") if page["next"] else None
        assert seen == sorted(seen)
        assert set(ids) <= set(seen)

        batch = await client.get(case.path, params=[("id", i) for i in [ids[3], ids[0], "nope"]])
        assert sorted(i["id"] for i in batch.json()["items"]) == sorted([ids[0], ids[3]])
        assert batch.json()["next"] is None
        too_many = await client.get(case.path, params=[("id", str(i)) for i in range(101)])
        assert too_many.status_code == 422
        for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"after": "garbage"}):
            response = await client.get(case.path, params=bad)
            assert response.status_code == 422, bad
            assert response.headers["content-type"] == "application/problem+json"
        # A parameter the list does not take (tests/chassis/test_strict_queries.py): 400 naming it.
        bogus = await client.get(case.path, params={"bogus": 1})
        assert bogus.status_code == 400 and bogus.json()["parameter"] == "bogus", bogus.text


async def test_every_write_is_in_the_feed_and_the_chain_verifies(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin", sub="auditor-test")) as client:
        created = (await _create(client, case)).json()
        url = f"{case.path}/{created['id']}"
        changed = (await client.patch(url, json=case.change, headers={"If-Match": '"1"'})).json()
        await client.delete(url)
        feed = (await client.get("/v1/changes", params={"subject": created["href"]})).json()["items"]
        assert [e["type"] for e in feed] == [
            f"{case.collection}.created",
            f"{case.collection}.updated",
            f"{case.collection}.archived",
        ]
        assert {e["actor"] for e in feed} == {"auditor-test"}
        assert [e["version"] for e in feed] == [1, 2, 3]
        field = next(iter(case.change))
        assert feed[0]["changes"][field] == [None, created[field]]
        assert feed[1]["changes"] == {field: [created[field], changed[field]]}
        assert feed[2]["changes"] == {"status": [created["status"], "archived"]}
        for earlier, later in itertools.pairwise(feed):
            if later["seq"] == earlier["seq"] + 1:
                assert later["prev_hash"] == earlier["hash"]

        verified = (await client.get("/v1/changes/verify")).json()
        assert verified["ok"] is True
        assert verified["count"] >= 3
        assert "broken_at" not in verified

        db: Database = suite.apps[case.service].state.db
        async with db.session(write=True) as session:
            await session.execute(
                update(ChangeEvent).where(ChangeEvent.seq == feed[1]["seq"]).values(actor="someone-innocent")
            )
        # Verified once, the feed is verified from there on; the edit lies before: a verification
        # from genesis (admins) recomputes every event.
        again = (await client.get("/v1/changes/verify", params={"from": "genesis"})).json()
        assert again["ok"] is False and again["broken_at"] == feed[1]["seq"]
        assert again["findings"][0]["kind"] == "event_altered"


async def test_failed_write_leaves_no_event(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        created = (await _create(client, case)).json()
        before = (await client.get("/v1/changes/verify")).json()["count"]
        clash = await client.post(case.path, json={**case.body(), "code": created["code"]})
        assert clash.status_code == 409
        stale = await client.patch(f"{case.path}/{created['id']}", json=case.change, headers={"If-Match": '"5"'})
        assert stale.status_code == 412
        after = (await client.get("/v1/changes/verify")).json()
        assert (after["ok"], after["count"], after["recomputed"]) == (True, before, 0)


async def test_feed_pages_with_after(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        for _ in range(3):
            await _create(client, case)
        page: dict[str, Any] = (await client.get("/v1/changes", params={"limit": 2})).json()
        seqs = [e["seq"] for e in page["items"]]
        assert seqs == sorted(seqs)
        assert page["next"].startswith(f"/{case.service}/v1/changes?")
        following = (await client.get(page["next"].removeprefix(f"/{case.service}"))).json()
        assert following["items"][0]["seq"] > seqs[-1]
        assert (await client.get("/v1/changes", params={"after": -1})).status_code == 422


async def test_feed_reads_newest_first_and_pages_with_before(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service, tokens("admin")) as client:
        for _ in range(3):
            await _create(client, case)
        oldest = (await client.get("/v1/changes", params={"limit": 100})).json()["items"]
        page: dict[str, Any] = (await client.get("/v1/changes", params={"order": "newest", "limit": 2})).json()
        seqs = [e["seq"] for e in page["items"]]
        assert seqs == sorted(seqs, reverse=True) and seqs[0] >= oldest[-1]["seq"]
        assert page["next"].startswith(f"/{case.service}/v1/changes?") and f"before={seqs[-1]}" in page["next"]
        following = (await client.get(page["next"].removeprefix(f"/{case.service}"))).json()
        assert following["items"][0]["seq"] < seqs[-1]
        assert (await client.get("/v1/changes", params={"before": 5})).status_code == 422
