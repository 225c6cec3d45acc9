"""Idempotency keys beyond the contract on every collection (tests/chassis/test_contract.py): a
request so slow that a retry took its key over is undone, so the work is never done twice."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text
from starlette.requests import Request

from services.chassis.db import Database
from services.chassis.idempotency import fingerprint
from services.portfolio.programmes.service import programmes
from tests.conftest import Suite
from tests.support import Tokens


def request_for(method: str, path: str, body: dict[str, Any]) -> Request:
    """A request as the service would receive it, to compute its fingerprint."""
    raw = json.dumps(body).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": [], "scheme": "http"}
    return Request(scope, receive)


async def test_a_request_whose_key_a_retry_took_over_is_undone(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = suite.apps["portfolio"].state.db
    original = programmes.insert

    async def slow_insert(ctx: Any, values: dict[str, Any]) -> Any:
        obj = await original(ctx, values)
        # Meanwhile, a retry found the key's lock lapsed and took it over.
        async with db.session(write=True) as session:
            await session.execute(
                text("UPDATE idempotency_keys SET created_at = :t WHERE key = 'slow-key'"),
                {"t": dt.datetime(2030, 1, 1)},
            )
        return obj

    monkeypatch.setattr(programmes, "insert", slow_insert)
    body = {"code": "SLOW1", "name": "Traag", "ambition": "Slow.", "owner": {"subject": "u", "name": "n", "unit": "u"}}
    async with suite.client("portfolio", tokens("portfolio_manager")) as client:
        answer = await client.post("/v1/programmes", json=body, headers={"Idempotency-Key": "slow-key"})
        assert answer.status_code == 409, answer.text
        assert (await client.get("/v1/programmes", params={"code": "SLOW1"})).json()["items"] == []


async def test_a_key_whose_holder_died_is_free_within_seconds(suite: Suite, tokens: Tokens) -> None:
    """A request killed with its process leaves its key in flight: once that instance stops beating,
    a retry takes the key over at once, without waiting for the (long) in-flight lock."""
    db: Database = suite.apps["portfolio"].state.db
    body = {"code": "DEAD1", "name": "Wees", "ambition": "Retry.", "owner": {"subject": "u", "name": "n", "unit": "u"}}
    async with suite.client("portfolio", tokens("portfolio_manager", sub="u-retrier")) as client:
        # The first attempt's process beat last a minute ago and then died, its lock still 2 minutes long.
        now = dt.datetime.now(dt.UTC)
        async with db.session(write=True) as session:
            await session.execute(
                text("INSERT INTO instances (id, started_at, seen_at) VALUES ('host:1:dead', :t, :t)"),
                {"t": (now - dt.timedelta(minutes=1)).replace(tzinfo=None)},
            )
            await session.execute(
                text(
                    "INSERT INTO idempotency_keys (actor, key, fingerprint, state, created_at, locked_until, "
                    "expires_at, holder) VALUES ('u-retrier', 'orphan', 'f', 'in_flight', :c, :l, :e, 'host:1:dead')"
                ),
                {
                    "c": now.replace(tzinfo=None),
                    "l": (now + dt.timedelta(minutes=2)).replace(tzinfo=None),
                    "e": (now + dt.timedelta(hours=24)).replace(tzinfo=None),
                },
            )
        retried = await client.post("/v1/programmes", json=body, headers={"Idempotency-Key": "orphan"})
        assert retried.status_code == 201, retried.text
        # A holder that is alive keeps its key: the retry of the same request is told to wait.
        again = {**body, "code": "DEAD2"}
        same = await fingerprint(request_for("POST", "/v1/programmes", again))
        async with db.session(write=True) as session:
            await session.execute(
                text(
                    "INSERT INTO idempotency_keys (actor, key, fingerprint, state, created_at, locked_until, "
                    "expires_at, holder) VALUES ('u-retrier', 'held', :f, 'in_flight', :c, :l, :e, :h)"
                ),
                {
                    "c": now.replace(tzinfo=None),
                    "l": (now + dt.timedelta(minutes=2)).replace(tzinfo=None),
                    "e": (now + dt.timedelta(hours=24)).replace(tzinfo=None),
                    "h": suite.apps["portfolio"].state.instance_id,
                    "f": same,
                },
            )
        waiting = await client.post(
            "/v1/programmes", json={**body, "code": "DEAD2"}, headers={"Idempotency-Key": "held"}
        )
        assert waiting.status_code in (409, 422), waiting.text
        assert (await client.get("/v1/programmes", params={"code": "DEAD2"})).json()["items"] == []
