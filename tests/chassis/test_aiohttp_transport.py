"""The pooled client's aiohttp transport (services.chassis.aiohttp_transport) against a real
server: the exchange is httpx2's, byte for byte, and aiohttp's failures are httpx2's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.processes import free_port
from services.chassis.aiohttp_transport import AiohttpTransport
from tests.support import served


async def echo(request: Request) -> Response:
    body = await request.body()
    answer = JSONResponse(
        {
            "method": request.method,
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": body.decode(),
            "peer": request.client.port if request.client else None,
        },
        status_code=207,
    )
    answer.raw_headers.extend([(b"x-twice", b"one"), (b"x-twice", b"two")])
    return answer


async def trickle(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        for _ in range(200):  # until the test has seen the first chunk
            if request.query_params.get("hold") != "1":
                break
            await asyncio.sleep(0.01)
        yield b"second\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


async def slow(request: Request) -> Response:
    await asyncio.sleep(1)
    return Response(b"late")


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST", "PATCH"]),
        Route("/trickle", trickle),
        Route("/slow", slow),
    ]
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with served(APP) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=base_url, transport=AiohttpTransport(), timeout=5) as http:
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
