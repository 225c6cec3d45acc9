"""The gateway passes a service's change stream through as it arrives, and lets go of it.

Everything in-process, on transports that stream (``StreamingRoutingTransport`` between the gateway
and the services, ``StreamingASGITransport`` into the gateway): a gateway that read the answer in
full before passing it on would never answer, as the stream does not end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI

from gateway.app import create_app as create_gateway
from tests.conftest import Suite
from tests.support import (
    EventReader,
    StreamingASGITransport,
    StreamingRoutingTransport,
    Tokens,
    gateway_settings,
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
    """The gateway in front of ``streaming_suite``, with a deadline and an idle limit (0.5 s each)
    that a live stream outlasts (the services beat every 0.2 s)."""
    settings = gateway_settings(var_dir, upstream_timeout=0.5, stream_idle_seconds=0.5)
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
            # At once, not at the next heartbeat (0.2 s): the gateway watches for the client leaving.
            await asyncio.sleep(0.05)
            assert streams[0].closed
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
