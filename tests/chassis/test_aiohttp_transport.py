"""The pooled client's aiohttp transport (services.chassis.aiohttp_transport) against a real
server: the exchange is httpx2's, byte for byte, and aiohttp's failures are httpx2's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest

from bench.processes import free_port
from services.chassis.aiohttp_transport import AiohttpTransport


@pytest.fixture
async def client(echo_service: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=echo_service, transport=AiohttpTransport(), timeout=5) as http:
        yield http


async def test_the_request_and_the_answer_are_passed_as_they_are(client: httpx2.AsyncClient) -> None:
    answer = await client.post(
        "/echo?a=1&a=2&b=%C3%A9",
        content=b'{"name": "Digitale aangifte"}',
        headers={"Content-Type": "application/json", "Idempotency-Key": "k-1", "X-Custom": "ja"},
    )
    assert answer.status_code == 207
    assert answer.headers.get_list("x-twice") == ["one", "two"]
    seen = answer.json()
    headers = dict(seen["headers"])
    assert seen["method"] == "POST"
    assert seen["query"] == "a=1&a=2&b=%C3%A9"
    assert seen["body"] == '{"name": "Digitale aangifte"}'
    assert headers["content-length"] == str(len(seen["body"]))
    assert headers["idempotency-key"] == "k-1"
    assert headers["x-custom"] == "ja"
    assert headers["content-type"] == "application/json"
    # What httpx2 says it is, and nothing aiohttp adds of its own.
    assert headers["user-agent"].startswith("python-httpx2")
    assert [name for name, _ in seen["headers"]].count("accept-encoding") == 1


async def test_connections_are_kept_and_reused(client: httpx2.AsyncClient) -> None:
    peers = {(await client.get("/echo")).json()["peer"] for _ in range(5)}
    assert len(peers) == 1


async def test_an_event_stream_arrives_as_it_is_sent(client: httpx2.AsyncClient) -> None:
    async with client.stream("GET", "/trickle?hold=1") as answer:
        chunks = answer.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 1) == b"first\n"  # before the second exists
    # A body closed unread leaves no bytes behind on a pooled connection.
    assert (await client.get("/echo?after=stream")).json()["query"] == "after=stream"


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with httpx2.AsyncClient(transport=AiohttpTransport(), timeout=2) as http:
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/echo")


async def test_a_slow_answer_is_a_read_timeout(client: httpx2.AsyncClient) -> None:
    with pytest.raises(httpx2.ReadTimeout):
        await client.get("/slow", timeout=httpx2.Timeout(5, read=0.2))
    assert (await client.get("/echo")).status_code == 207
