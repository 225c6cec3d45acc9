"""Strict types in bodies (``services.chassis.resources.model.strict_scalar``): a number is a JSON
number and a yes/no a JSON boolean, as the document says; pydantic's lax mode would take ``"5"``,
``5.0`` or ``1`` and store something the client did not write."""

from __future__ import annotations

from typing import Any

import pytest

from services.chassis.changes import FEED_HEAD_HEADER
from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.support import Tokens

LOOSE: list[tuple[str, Any]] = [
    ("budget_eur", "1000000"),
    ("budget_eur", 1000000.0),
    ("budget_eur", True),
    ("uses_generic_facilities", 1),
    ("uses_generic_facilities", "true"),
]


@pytest.mark.parametrize(("field", "value"), LOOSE, ids=[f"{f}={v!r}" for f, v in LOOSE])
async def test_a_loosely_typed_value_is_422_and_changes_nothing(
    suite: Suite, tokens: Tokens, field: str, value: Any
) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as manager:
        head = (await manager.get("/v1/changes", params={"limit": 1})).headers[FEED_HEAD_HEADER]
        answer = await manager.post("/v1/initiatives", json=initiative_body(chain, **{field: value}))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body", field], answer.text
        # Nothing was written: the feed, where every write leaves its event, has not moved (the
        # worker's databases may hold what committed tests before this one left there).
        assert (await manager.get("/v1/changes", params={"limit": 1})).headers[FEED_HEAD_HEADER] == head
        # The same body with the value as its type says is taken.
        right = {"budget_eur": 1_000_000, "uses_generic_facilities": True}[field]
        assert (await manager.post("/v1/initiatives", json=initiative_body(chain, **{field: right}))).status_code == 201


async def test_numbers_take_json_numbers(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("valuechains", tokens("admin")) as admin:
        teams = f"/v1/chains/{chain.rsplit('/', 1)[1]}/teams"
        team = {"name": "T", "fte_internal": 2, "fte_hired": 0.5, "maturity": 2}
        for field, value in (("fte_internal", "2"), ("maturity", 2.0), ("maturity", "2"), ("fte_hired", False)):
            answer = await admin.post(teams, json={**team, field: value})
            assert answer.status_code == 422, (field, value, answer.text)
        created = await admin.post(teams, json=team)
        assert created.status_code == 201, created.text
        assert created.json()["fte_internal"] == 2 and created.json()["maturity"] == 2


async def test_a_day_is_taken_only_as_yyyy_mm_dd(suite: Suite, tokens: Tokens) -> None:
    """``0`` or ``20260101`` would be seconds since 1970 to pydantic: a day the caller did not mean."""
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as manager:
        for bad in (0, 20260101, "20260101", "2026-01-01T00:00:00"):
            answer = await manager.post("/v1/initiatives", json=initiative_body(chain, start=bad))
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["errors"][0]["loc"] == ["body", "start"], answer.text
    async with suite.client("valuechains", tokens("reader")) as reader:
        for bad in ("0", "1700000000", "2026-1-1"):
            answer = await reader.get("/v1/reports/foundation", params={"as_of": bad})
            assert answer.status_code == 422, (bad, answer.text)
        assert (await reader.get("/v1/reports/foundation", params={"as_of": "2026-06-01"})).status_code == 200
    async with suite.client("principles", tokens("reader")) as reader:
        answer = await reader.get("/v1/explanations", params={"review_by_before": "0"})
        assert answer.status_code == 422, answer.text
