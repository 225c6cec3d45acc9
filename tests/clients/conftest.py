"""The Python client and ivctl against the platform in-process: the services of the rolled-back
``streaming_suite`` behind a gateway, on transports that stream (a change stream never ends).

The client is synchronous and the apps live on the test's event loop, so a test runs the client in
a thread (``platform.call``) and ``Bridge`` carries each of its requests over to the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from fastapi import FastAPI

from gateway.app import create_app as create_gateway
from iv_client import Client, RetryPolicy
from tests.conftest import Suite
from tests.support import StreamingASGITransport, StreamingRoutingTransport, Tokens, gateway_settings, running

T = TypeVar("T")
GATEWAY = "http://gateway.test"
QUICK = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, deadline=5)
"""Retries as the defaults make them, only without the waiting."""


class Bridge(httpx2.BaseTransport):
    """A synchronous transport that sends each request through ``transport`` on ``loop`` (where
    the apps run), from the thread the client runs in; the answer's body streams back as it comes."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport, self.loop = transport, loop

    def on_loop(self, coroutine: Any, timeout: float | None = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        forwarded = httpx2.Request(request.method, request.url, headers=request.headers, content=body)
        answer: httpx2.Response = self.on_loop(self.transport.handle_async_request(forwarded))
        assert isinstance(answer.stream, httpx2.AsyncByteStream)
        return httpx2.Response(answer.status_code, headers=answer.headers, stream=BridgedBody(self, answer.stream))


class BridgedBody(httpx2.SyncByteStream):
    def __init__(self, bridge: Bridge, stream: httpx2.AsyncByteStream) -> None:
        self.bridge, self.stream = bridge, stream

    def __iter__(self) -> Iterator[bytes]:
        chunks = self.stream.__aiter__()

        async def next_chunk() -> bytes | None:
            try:
                return await chunks.__anext__()
            except StopAsyncIteration:
                return None

        while (chunk := self.bridge.on_loop(next_chunk(), timeout=None)) is not None:
            yield chunk

    def close(self) -> None:
        self.bridge.on_loop(self.stream.aclose())


@dataclass
class Platform:
    """The gateway in front of the suite; ``client(token)`` a Client of it, ``call`` runs sync code."""

    suite: Suite
    gateway: FastAPI
    bridge: Bridge
    tokens: Tokens

    def token(self, *roles: str, **claims: Any) -> str:
        return self.tokens(*roles, **claims)["Authorization"].removeprefix("Bearer ")

    def client(
        self, token: str | None = None, *, transport: httpx2.BaseTransport | None = None, **options: Any
    ) -> Client:
        return Client(GATEWAY, token=token, transport=transport or self.bridge, **{"retry": QUICK, **options})

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(function, *args, **kwargs)


@pytest.fixture
async def platform(streaming_suite: Suite, tokens: Tokens, var_dir: Path) -> AsyncIterator[Platform]:
    for app in streaming_suite.apps.values():
        app.openapi()  # built before the gateway asks for it within its deadline
    upstream = StreamingRoutingTransport({f"{name}.test": app for name, app in streaming_suite.apps.items()})
    async with running(create_gateway(gateway_settings(var_dir), transport=upstream)) as gateway:
        bridge = Bridge(StreamingASGITransport(gateway), asyncio.get_running_loop())
        yield Platform(streaming_suite, gateway, bridge, tokens)
    # Every stream a test opened has ended (its client let go) before the suite rolls back.
    if upstream.bodies:
        await asyncio.wait([body.task for body in upstream.bodies], timeout=2)
    assert all(body.task.done() for body in upstream.bodies)
