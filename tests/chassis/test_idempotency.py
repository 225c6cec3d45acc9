"""Idempotency keys beyond the contract on every collection (tests/chassis/test_contract.py): a
request so slow that a retry took its key over is undone, so the work is never done twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from services.chassis.db import Database
from services.portfolio.programmes.service import programmes
from tests.conftest import Suite
from tests.support import Tokens


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
