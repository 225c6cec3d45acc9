"""The gateway passes a service's change stream through as it arrives, and lets go of it.

Everything in-process, on transports that stream (``StreamingRoutingTransport`` between the gateway
and the services, ``StreamingASGITransport`` into the gateway): a gateway that read the answer in
full before passing it on would never answer, as the stream does not end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from gateway.answers import EVENT_STREAM, UpstreamAnswer
from gateway.app import create_app as create_gateway
from gateway.streams import EventStreamPassThrough
from tests.conftest import Suite
from tests.support import (
    EventReader,
    StreamingASGITransport,
    StreamingRoutingTransport,
    Tokens,
    gateway_settings,
    request_then_disconnect,
    running,
)

STREAM = "/valuechains/v1/changes/stream"
CHAIN = {
    "name": "Keten",
    "domain": "Investigation",
    "mission": "Serve investigators.",
    "owner": {"subject": "u-stream-owner", "name": "S. Tream", "unit": "Eenheid Utrecht"},
}


@pytest.fixture
async def upstream(streaming_suite: Suite) -> AsyncIterator[StreamingRoutingTransport]:
    """The gateway's way to the services, keeping every answer they gave; at the end each stream
    they served must have ended (the clients left) before the suite rolls back."""
    for app in streaming_suite.apps.values():
        app.openapi()  # built before the gateway asks for it within its short deadline
    transport = StreamingRoutingTransport({f"{name}.test": app for name, app in streaming_suite.apps.items()})
    yield transport
    if transport.bodies:
        await asyncio.wait([body.task for body in transport.bodies], timeout=2)
    assert all(body.task.done() for body in transport.bodies)


@pytest.fixture
async def gateway(upstream: StreamingRoutingTransport, var_dir: Path) -> AsyncIterator[FastAPI]:
    """The gateway in front of ``streaming_suite``, with a deadline (0.5 s) that a live stream
    outlasts and an idle limit (3 s) that its heartbeats (every 0.2 s) keep it well within, even on
    a busy machine where the one event loop these tests share stalls now and then. Ending a silent
    stream and watching for the client leaving are shown apart, without a heartbeat to race."""
    settings = gateway_settings(var_dir, upstream_timeout=0.5, stream_idle_seconds=3)
    async with running(create_gateway(settings, transport=upstream)) as app:
        yield app


def through(gateway: FastAPI, headers: dict[str, str]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=StreamingASGITransport(gateway), base_url="http://gw", headers=headers)


async def test_the_stream_passes_through_as_it_happens(
    gateway: FastAPI, streaming_suite: Suite, tokens: Tokens
) -> None:
    async with through(gateway, tokens("reader")) as client, client.stream("GET", STREAM) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = EventReader(response)
        # Quiet for longer than the upstream deadline: the heartbeats come through, the stream lives.
        await asyncio.sleep(0.8)
        assert await events.next() == {"comment": "keep-alive"}
        # A change written now, with the stream open, arrives through it.
        async with streaming_suite.client("valuechains", tokens("admin")) as admin:
            created = await admin.post("/v1/chains", json={"code": "STRM1", **CHAIN})
            assert created.status_code == 201, created.text
        event = await events.next_event()
    assert event["event"] == "chains.created"
    assert json.loads(event["data"])["subject"] == created.json()["href"]


async def test_a_client_going_away_closes_the_upstream_stream(
    gateway: FastAPI, upstream: StreamingRoutingTransport, tokens: Tokens
) -> None:
    async with through(gateway, tokens("reader", sub="u-leaves")) as client:
        for _ in range(3):  # more than the 2 a caller may hold: each closed one was let go upstream
            async with client.stream("GET", STREAM) as response:
                assert response.status_code == 200
                assert await EventReader(response).next() == {"comment": "keep-alive"}
                streams = [body for body in upstream.bodies if not body.closed]
                assert len(streams) == 1
            await asyncio.wait({streams[0].task}, timeout=2)  # the service ended it, its slot free
            assert streams[0].closed and streams[0].task.done()
        async with client.stream("GET", STREAM) as first, client.stream("GET", STREAM) as second:
            assert (first.status_code, second.status_code) == (200, 200)
            refused = await client.get(STREAM)
            assert refused.status_code == 429  # the service's answer, passed on as it is
            assert refused.headers["content-type"] == "application/problem+json"


async def test_expand_and_include_do_not_apply_to_a_stream(gateway: FastAPI, tokens: Tokens) -> None:
    async with through(gateway, tokens("reader")) as client:
        for query in ({"expand": "subject"}, {"include": "teams"}):
            answer = await client.get(STREAM, params=query)
            assert answer.status_code == 400, answer.text


async def test_a_stream_opens_on_another_instance_when_one_is_down(
    upstream: StreamingRoutingTransport, streaming_suite: Suite, var_dir: Path, tokens: Tokens
) -> None:
    """The stream goes through the balancer as any request: a refused instance is passed over."""
    upstream.down.add("down.test")
    settings = gateway_settings(var_dir, valuechains_url="http://down.test,http://valuechains.test")
    async with running(create_gateway(settings, transport=upstream)) as gateway:
        for _ in range(2):  # each instance first once
            async with through(gateway, tokens("reader")) as client, client.stream("GET", STREAM) as response:
                assert response.status_code == 200
                assert await EventReader(response).next() is not None
    assert sum(r.url.host == "down.test" for r in upstream.requests) >= 1


@dataclass(slots=True)
class WatchedAnswer(UpstreamAnswer):
    """An open upstream event stream that sends ``first`` and then nothing; ``closed`` once let go."""

    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def aclose(self) -> None:
        self.closed.set()


def silent_stream(first: bytes) -> WatchedAnswer:
    async def chunks() -> AsyncIterator[bytes]:
        yield first
        await asyncio.Event().wait()  # never again
        yield b""  # pragma: no cover

    raw = [(b"content-type", b"text/event-stream")]
    return WatchedAnswer(200, raw, EVENT_STREAM, chunks=chunks())


async def pass_through(
    answer: WatchedAnswer, idle_seconds: float, client_leaves: asyncio.Event
) -> tuple[list[dict[str, Any]], asyncio.Event, asyncio.Task[None]]:
    """The pass-through served to a client that leaves when ``client_leaves`` is set: what it was
    sent, an event set once some of the body was, and the serving task."""
    sent: list[dict[str, Any]] = []
    wrote = asyncio.Event()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))
        if message.get("body"):
            wrote.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "method": "GET", "headers": []}
    response = EventStreamPassThrough(answer, idle_seconds=idle_seconds)
    return sent, wrote, asyncio.create_task(response(scope, request_then_disconnect(b"", client_leaves), send))


async def test_a_silent_stream_is_ended_after_the_idle_limit() -> None:
    answer, stays = silent_stream(b": keep-alive\n\n"), asyncio.Event()
    sent, _, serving = await pass_through(answer, idle_seconds=0.1, client_leaves=stays)
    await asyncio.wait_for(serving, timeout=2)  # would hang for good without the idle limit
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [b": keep-alive\n\n", b""]
    assert sent[-1].get("more_body", False) is False  # ended properly: the client resumes with Last-Event-ID
    assert answer.closed.is_set()


async def test_the_client_leaving_closes_the_upstream_at_once() -> None:
    """Not at the next write, which for a silent stream would be never (or the idle limit, 30 s)."""
    answer, leaves = silent_stream(b": keep-alive\n\n"), asyncio.Event()
    _, wrote, serving = await pass_through(answer, idle_seconds=30, client_leaves=leaves)
    await asyncio.wait_for(wrote.wait(), timeout=2)
    assert not answer.closed.is_set()
    leaves.set()
    await asyncio.wait_for(answer.closed.wait(), timeout=2)
    await asyncio.wait_for(serving, timeout=2)
