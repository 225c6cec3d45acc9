"""The benchmark's two pass-throughs (bench/hop.py) pass a request on as it came and its answer back
as it was given: otherwise the hop's floor they stand for would measure something else."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

from bench.hop import UPSTREAM, _serve_streams, passthrough_app
from bench.processes import free_port

BEARER = {"Authorization": "Bearer t"}


def crossed(answer: httpx2.Response) -> dict[str, Any]:
    assert answer.status_code == 207, answer.text  # the echo service's own status
    seen: dict[str, Any] = answer.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/echo/chains/x", "a=1&b=%C3%A9")
    assert dict(seen["headers"])["authorization"] == "Bearer t"
    assert answer.headers.get_list("x-twice") == ["one", "two"]
    return seen


async def test_the_uvicorn_pass_through_passes_the_request_on_as_it_came(
    echo_service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPSTREAM, echo_service)
    app = passthrough_app()
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://hop", headers=BEARER) as client:
        crossed(await client.get("/valuechains/echo/chains/x?a=1&b=%C3%A9"))
        crossed(await client.get("/valuechains/echo/chains/x?a=1&b=%C3%A9"))  # and again, on the kept connection


async def test_the_streams_pass_through_passes_the_request_on_as_it_came(echo_service: str) -> None:
    port = free_port()
    server = asyncio.create_task(_serve_streams(echo_service, port))
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=BEARER) as client:
            for _ in range(50):  # until it listens
                try:
                    first = await client.get("/valuechains/echo/chains/x?a=1&b=%C3%A9")
                    break
                except httpx2.ConnectError:
                    await asyncio.sleep(0.02)
            crossed(first)
            crossed(await client.get("/valuechains/echo/chains/x?a=1&b=%C3%A9"))  # the same connections
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
