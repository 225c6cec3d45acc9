"""What the data layer (sqlite_driver, db, idempotency, changes) keeps when the database refuses or a
request goes away: a write refused by the write lock is a 503 with Retry-After and leaves its
Idempotency-Key free for the retry; a body nested too deep is a 400 with a key as without one; a
retried request whose first answer moved the record's state on (a round it closed) replays that
answer; two events about one new subject in one transaction both append; a cancelled read or
write leaves no transaction and no lock behind."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx2
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from services.chassis.changes import ChangeEvent, ChangeSubject, append_event
from services.chassis.db import Database
from services.chassis.idempotency import IdempotencyRecord
from services.portfolio.programmes.service import programmes
from tests.conftest import Suite
from tests.portfolio.helpers import pm, round_body
from tests.support import Tokens, unique_code


def programme_body() -> dict[str, Any]:
    return {
        "code": unique_code("DI"),
        "name": "Integriteit",
        "ambition": "Lose nothing.",
        "owner": {"subject": "u", "name": "n", "unit": "u"},
    }


def answering(app: Any, headers: dict[str, str]) -> httpx2.AsyncClient:
    """A client that gets the app's 500 as an answer instead of the exception behind it."""
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
        headers=headers,
    )


async def short_busy_timeout(db: Database, milliseconds: int = 200) -> None:
    """The writer's one connection waits ``milliseconds`` for SQLite's lock instead of 15 s."""
    async with db.write_engine.connect() as conn:
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={milliseconds}")
        await conn.rollback()


def sqlite_only(suite: Suite, service: str = "portfolio") -> Database:
    db: Database = suite.apps[service].state.db
    if not db.sqlite:
        pytest.skip("SQLite's write lock (PostgreSQL waits for row locks instead)")
    return db


async def programmes_coded(db: Database, code: str) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(text("SELECT count(*) FROM programmes WHERE code = :c"), {"c": code}) or 0)


# --- database is locked ---------------------------------------------------------------------------


async def test_a_write_refused_by_the_sqlite_write_lock_is_503_with_retry_after(
    committed_suite: Suite, tokens: Tokens
) -> None:
    """Another process (the CLI, a migration, a backup, a second worker) holds SQLite's write lock
    past the busy timeout: the write is refused, nothing is stored, and the caller is told to come
    back (503 with Retry-After), not 500."""
    db = sqlite_only(committed_suite)
    await short_busy_timeout(db)
    holder = sqlite3.connect(make_url(db.url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    body = programme_body()
    try:
        async with answering(committed_suite.apps["portfolio"], tokens("portfolio_manager")) as client:
            plain = await client.post("/v1/programmes", json=body)
            keyed = await client.post("/v1/programmes", json=body, headers={"Idempotency-Key": "locked-503"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for answer in (plain, keyed):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) > 0
    assert await programmes_coded(db, body["code"]) == 0


async def test_a_request_failed_by_the_write_lock_does_not_keep_its_key_in_flight(
    committed_suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is taken and committed, then the work cannot get the write lock: the work is undone,
    but releasing the key needs the same lock and fails too, so the key stays in flight for its
    holder (alive) and every retry is 409 for IV_IDEMPOTENCY_IN_FLIGHT_SECONDS (120 s), although
    nothing was done. Once the lock is free, the retry of the same request must get its 201 (the
    retry below honours Retry-After for a few seconds, not two minutes)."""
    db = sqlite_only(committed_suite)
    await short_busy_timeout(db)
    holder = sqlite3.connect(make_url(db.url).database or "", isolation_level=None, timeout=0)
    original = programmes.insert

    async def insert_while_locked(ctx: Any, values: dict[str, Any]) -> Any:
        holder.execute("BEGIN IMMEDIATE")  # the work's transaction has not begun yet
        return await original(ctx, values)

    monkeypatch.setattr(programmes, "insert", insert_while_locked)
    body = programme_body()
    headers = {"Idempotency-Key": "locked-in-flight"}
    async with answering(committed_suite.apps["portfolio"], tokens("portfolio_manager", sub="u-locked")) as client:
        try:
            failed = await client.post("/v1/programmes", json=body, headers=headers)
        finally:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
        monkeypatch.setattr(programmes, "insert", original)
        assert failed.status_code >= 500, failed.text  # 503 once the first bug is fixed
        assert await programmes_coded(db, body["code"]) == 0
        retried = None
        for _ in range(30):
            retried = await client.post("/v1/programmes", json=body, headers=headers)
            if retried.status_code != 409:
                break
            await asyncio.sleep(0.1 * float(retried.headers.get("Retry-After", "1")))
        assert retried is not None and retried.status_code == 201, retried.text if retried else None
    assert await programmes_coded(db, body["code"]) == 1


# --- idempotency ----------------------------------------------------------------------------------


async def test_a_body_nested_too_deep_with_an_idempotency_key_is_400_like_without_one(
    suite: Suite, tokens: Tokens
) -> None:
    """A body nested deeper than the JSON parser goes is 400 without a key (FastAPI's "error parsing
    the body"); with an Idempotency-Key the guard's fingerprint parses it first, and its
    RecursionError (not a ValueError) was a 500. Either way no key is taken."""
    deep = b"[" * 100_000 + b"]" * 100_000
    headers = {"content-type": "application/json"}
    async with answering(suite.apps["portfolio"], tokens("portfolio_manager", sub="u-deep")) as client:
        plain = await client.post("/v1/programmes", content=deep, headers=headers)
        keyed = await client.post("/v1/programmes", content=deep, headers={**headers, "Idempotency-Key": "deep"})
    assert plain.status_code == 400, plain.text
    assert keyed.status_code == 400, keyed.text
    assert keyed.headers["content-type"] == "application/problem+json"
    db: Database = suite.apps["portfolio"].state.db
    async with db.session(write=False) as session:
        assert await session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "deep")) is None


async def test_a_retried_close_with_its_idempotency_key_replays_the_first_answer(suite: Suite, tokens: Tokens) -> None:
    """A client whose `POST /v1/rounds/{id}/close` succeeded but whose answer was lost retries with
    the same key and body: "same key and body → the first response again". The guard checks the
    round's state (frozen once closed: 409) before it looks at the key, so the retry was told
    409 "frozen" for the close it made itself (and a retried open replays, as it should)."""
    async with suite.client("portfolio", pm(tokens)) as client:
        created = await client.post("/v1/rounds", json=round_body())
        assert created.status_code == 201, created.text
        url = f"/v1/rounds/{created.json()['id']}"
        assert (await client.post(f"{url}/open")).status_code == 200
        first = await client.post(f"{url}/close", headers={"Idempotency-Key": "close-once"})
        assert first.status_code == 200, first.text
        again = await client.post(f"{url}/close", headers={"Idempotency-Key": "close-once"})
        assert again.status_code == 200, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        assert again.headers["ETag"] == first.headers["ETag"]
        # Without the key (or with another one) a second close is the 409 it always was.
        assert (await client.post(f"{url}/close", headers={"Idempotency-Key": "close-twice"})).status_code == 409


# --- change feed ----------------------------------------------------------------------------------


async def test_two_events_about_one_new_subject_in_one_transaction_both_append(suite: Suite) -> None:
    """``append_event`` keeps ``change_subjects`` by update-then-insert; sessions do not autoflush,
    so a second event about a subject first seen in the same transaction (created, then updated,
    without a flush between) finds no row and adds a second one: the whole write fails at commit
    on change_subjects' primary key (a 409, the work lost). Every caller today flushes between
    (``Collection._flush``), which hides it."""
    db: Database = suite.apps["portfolio"].state.db
    subject = f"/portfolio/v1/checks/{unique_code('S')}"
    async with db.session(write=True) as session:
        await append_event(session, type="checks.created", subject=subject, actor="a", version=1, changes={})
        await append_event(
            session,
            type="checks.updated",
            subject=subject,
            actor="a",
            version=2,
            changes={"x": [None, 1]},
            classification="confidential",
        )
    async with db.session(write=False) as session:
        events = (await session.scalars(select(ChangeEvent.type).where(ChangeEvent.subject == subject))).all()
        kept = await session.get(ChangeSubject, subject)
    assert sorted(events) == ["checks.created", "checks.updated"]
    assert kept is not None and kept.classification == "confidential"


# --- the one-trip driver under cancellation (pinned) ----------------------------------------------
