"""Holes found in review, closed in the chassis: history of reclassified resources, idempotency keys
taken over by a retry, forged cursors, and tokens that never expire."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import text

from services.chassis.auth import ensure_dev_key
from services.chassis.db import Database
from services.portfolio.programmes.service import programmes
from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.support import Tokens


async def test_history_of_a_resource_classified_higher_leaves_the_feed(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as manager:
        created = (await manager.post("/v1/initiatives", json=initiative_body(chain, name="Later geheim"))).json()
        raised = await manager.patch(
            f"/v1/initiatives/{created['id']}", json={"data_classification": "secret"}, headers={"If-Match": '"1"'}
        )
        assert raised.status_code == 200
        history = (await manager.get("/v1/changes", params={"subject": created["href"]})).json()["items"]
        assert len(history) == 2
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        assert (await reader.get(f"/v1/initiatives/{created['id']}")).status_code == 404
        feed = await reader.get("/v1/changes", params={"subject": created["href"]})
        assert feed.json()["items"] == []  # not even the event from when it was internal
        assert created["href"] not in {
            e["subject"] for e in (await reader.get("/v1/changes?limit=100")).json()["items"]
        }
    async with suite.client("portfolio", tokens("reader", clearance="secret")) as cleared:
        assert len((await cleared.get("/v1/changes", params={"subject": created["href"]})).json()["items"]) == 2


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


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("values", [[{"x": 1}], [[1, 2]], [10**30], [True], [None], [5], ["\ud800"]])
async def test_a_forged_cursor_is_422_not_500(suite: Suite, tokens: Tokens, values: list[Any]) -> None:
    async with suite.client("valuechains", tokens("reader")) as client:
        answer = await client.get("/v1/chains", params={"after": _cursor(values)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["query", "after"]


async def test_a_token_that_lives_for_ever_is_refused(suite: Suite, var_dir: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    claims = {"iss": "iv-platform-dev", "aud": "iv-platform", "sub": "u", "roles": ["reader"], "iat": now}
    key = ensure_dev_key(var_dir / "dev-signing-key.pem")
    forever = jwt.encode({**claims, "exp": now + dt.timedelta(days=3650)}, key, "ES256")
    day = jwt.encode({**claims, "exp": now + dt.timedelta(hours=23)}, key, "ES256")
    async with suite.client("valuechains") as client:
        assert (await client.get("/v1/chains", headers={"Authorization": f"Bearer {forever}"})).status_code == 401
        assert (await client.get("/v1/chains", headers={"Authorization": f"Bearer {day}"})).status_code == 200
