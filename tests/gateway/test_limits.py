"""Documented limits are enforced with a short answer that does not echo what was sent."""

from __future__ import annotations

from fastapi import FastAPI

from services.chassis.auth import MAX_TOKEN_CHARS
from tests.conftest import Suite
from tests.support import Tokens, client_for


async def test_a_token_over_the_limit_is_401_without_work(suite: Suite, suite_gateway: FastAPI) -> None:
    huge = "x" * 100_000
    for app in (suite_gateway, suite.apps["valuechains"]):
        async with client_for(app, {"Authorization": f"Bearer {huge}"}) as client:
            path = "/valuechains/v1/chains" if app is suite_gateway else "/v1/chains"
            answer = await client.get(path)
        assert answer.status_code == 401, answer.text
        assert str(MAX_TOKEN_CHARS) in answer.json()["detail"]
        assert len(answer.content) < 500


async def test_an_expand_over_the_limit_is_400_without_an_echo(
    suite: Suite, suite_gateway: FastAPI, tokens: Tokens
) -> None:
    async with client_for(suite_gateway, tokens("reader")) as client:
        long = await client.get("/portfolio/v1/initiatives", params={"expand": "value_chain," * 1000})
        assert long.status_code == 400, long.text
        assert len(long.content) < 500
        odd = await client.get("/portfolio/v1/initiatives", params={"expand": "é" * 900})
        assert odd.status_code == 400 and len(odd.content) < 600, odd.text
        fine = await client.get("/portfolio/v1/initiatives", params={"expand": "value_chain"})
        assert fine.status_code == 200, fine.text
