"""``GET /v1/changes/stream``: the change feed live, as server-sent events.

The services run in-process (``streaming_suite``: a short poll and heartbeat), called through a
transport that streams (``StreamingASGITransport``), so each test takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from tests.chassis.cases import CASES, application
from tests.conftest import Suite
from tests.support import EventReader, StreamingASGITransport, Tokens, request_then_disconnect

CASE = CASES[0]  # valuechains chains
SERVICE = CASE.service
STREAM = "/v1/changes/stream"


def stream_client(suite: Suite, headers: dict[str, str]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=StreamingASGITransport(suite.apps[SERVICE]), base_url="http://testserver", headers=headers
    )


@contextlib.asynccontextmanager
async def opened(
    client: httpx2.AsyncClient, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[EventReader]:
    async with client.stream("GET", STREAM, params=params, headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


async def create(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    async with suite.client(SERVICE, tokens(*CASE.writer)) as writer:
        response = await writer.post(CASE.path, json=CASE.body())
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


async def secret_application(suite: Suite, tokens: Tokens, chain: dict[str, Any]) -> dict[str, Any]:
    async with suite.client(SERVICE, tokens("admin")) as admin:
        response = await admin.post(
            f"/v1/chains/{chain['id']}/applications", json=application("Geheime applicatie", "secret")
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


async def feed(suite: Suite, tokens: Tokens, subject: str) -> list[dict[str, Any]]:
    async with suite.client(SERVICE, tokens("admin")) as admin:
        items: list[dict[str, Any]] = (await admin.get("/v1/changes", params={"subject": subject})).json()["items"]
        return items


async def test_events_arrive_in_order_as_the_feed_renders_them(streaming_suite: Suite, tokens: Tokens) -> None:
    async with stream_client(streaming_suite, tokens("reader")) as client, opened(client) as events:
        created = await create(streaming_suite, tokens)  # written after the stream opened at the head
        async with streaming_suite.client(SERVICE, tokens("admin")) as admin:
            changed = await admin.patch(
                created["href"].removeprefix(f"/{SERVICE}"),
                json=CASE.change,
                headers={"If-Match": f'"{created["version"]}"'},
            )
            assert changed.status_code == 200, changed.text
        first, second = await events.next_event(), await events.next_event()
    expected = await feed(streaming_suite, tokens, created["href"])
    assert [e["type"] for e in expected] == [f"{CASE.collection}.created", f"{CASE.collection}.updated"]
    for sent, item in zip((first, second), expected, strict=True):
        assert sent["id"] == str(item["seq"])
        assert sent["event"] == item["type"]
        assert json.loads(sent["data"]) == item


async def test_last_event_id_resumes_after_that_event(streaming_suite: Suite, tokens: Tokens) -> None:
    records = [await create(streaming_suite, tokens) for _ in range(3)]
    seqs = [(await feed(streaming_suite, tokens, r["href"]))[0]["seq"] for r in records]
    type_ = {"type": f"{CASE.collection}.created"}
    async with stream_client(streaming_suite, tokens("reader")) as client:
        async with opened(client, {"after": seqs[0] - 1, **type_}) as events:
            assert (await events.next_event())["id"] == str(seqs[0])
        # Last-Event-ID wins over after: nothing repeated, nothing left out.
        async with opened(client, {"after": 0, **type_}, headers={"Last-Event-ID": str(seqs[0])}) as events:
            assert [int((await events.next_event())["id"]) for _ in range(2)] == seqs[1:]
            later = await create(streaming_suite, tokens)
            sent = await events.next_event()
    assert json.loads(sent["data"])["subject"] == later["href"]


async def test_classified_events_are_left_out_and_the_stream_goes_on(streaming_suite: Suite, tokens: Tokens) -> None:
    chain = await create(streaming_suite, tokens)
    async with stream_client(streaming_suite, tokens("reader", clearance="internal")) as client:
        async with opened(client) as events:
            secret = await secret_application(streaming_suite, tokens, chain)
            public = await create(streaming_suite, tokens)
            sent = await events.next_event()
            assert json.loads(sent["data"])["subject"] == public["href"]
        # The cursor moved past the secret event: resuming from before it does not send it either.
        resume = str((await feed(streaming_suite, tokens, secret["href"]))[0]["seq"] - 1)
        async with opened(client, headers={"Last-Event-ID": resume}) as events:
            again = await events.next_event()
    assert json.loads(again["data"])["subject"] == public["href"]


async def test_a_quiet_stream_sends_heartbeats(streaming_suite: Suite, tokens: Tokens) -> None:
    async with stream_client(streaming_suite, tokens("reader")) as client, opened(client) as events:
        assert await events.next(within=1.0) == {"comment": "keep-alive"}


async def test_a_stream_ends_when_its_token_expires(streaming_suite: Suite, tokens: Tokens) -> None:
    # A token's exp is in whole seconds: this one has 1 to 2 s left, several heartbeats (200 ms).
    short = tokens("reader", ttl=dt.timedelta(seconds=2))
    async with stream_client(streaming_suite, short) as client, opened(client) as events:
        async with asyncio.timeout(3.5):
            rest = [line async for line in events.lines]  # heartbeats, then the end
    assert rest and all(not line or line == ": keep-alive" for line in rest), rest


async def test_a_caller_may_hold_only_so_many_streams(streaming_suite: Suite, tokens: Tokens) -> None:
    async with stream_client(streaming_suite, tokens("reader", sub="u-many")) as client:
        async with opened(client), opened(client):
            refused = await client.get(STREAM)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) > 0
            async with stream_client(streaming_suite, tokens("reader", sub="u-other")) as other, opened(other):
                pass  # another caller is not counted against this one
        async with opened(client):  # closed streams give their slots back
            pass


async def test_the_stream_needs_a_token_and_a_strict_query(streaming_suite: Suite, tokens: Tokens) -> None:
    async with stream_client(streaming_suite, {}) as anonymous:
        assert (await anonymous.get(STREAM)).status_code == 401
    async with stream_client(streaming_suite, tokens("reader")) as client:
        unknown = await client.get(STREAM, params={"limit": 5})
        assert unknown.status_code == 400
        assert unknown.json()["parameter"] == "limit"
        assert (await client.get(STREAM, params={"after": -1})).status_code == 422
        assert (await client.get(STREAM, headers={"Last-Event-ID": "x"})).status_code == 422


async def test_the_stream_is_documented(streaming_suite: Suite) -> None:
    async with streaming_suite.client(SERVICE) as client:
        operation = (await client.get("/openapi.json")).json()["paths"][STREAM]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"400", "401", "403", "422", "429"} <= set(operation["responses"])
    assert "Last-Event-ID" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} == {"after", "subject", "type", "Last-Event-ID"}


async def test_a_client_gone_mid_write_ends_the_stream_quietly(
    streaming_suite: Suite, tokens: Tokens, caplog: Any
) -> None:
    """A server of ASGI 2.4 may tell of a client gone only by failing ``send`` (an ``OSError``),
    from the heartbeat and the events alike: that ends the stream, gives the slot back and is
    no error (nothing logged, nothing raised to the server)."""
    headers = [(b"authorization", tokens("reader", sub="u-gone")["Authorization"].encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": STREAM, "raw_path": STREAM.encode(), "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers], "server": ("testserver", 80),
        "client": ("127.0.0.1", 123), "root_path": "",
    }  # fmt: skip
    writes = 0
    receive = request_then_disconnect(b"", None)  # no http.disconnect: this server says so through send

    async def send(message: Any) -> None:
        nonlocal writes
        writes += 1
        if writes > 2:  # the start and one heartbeat went out; the client is gone after that
            raise OSError("the client went away")

    await asyncio.wait_for(streaming_suite.apps[SERVICE](scope, receive, send), timeout=3)
    assert writes > 2
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    gone = tokens("reader", sub="u-gone")
    async with stream_client(streaming_suite, gone) as client, opened(client), opened(client):
        pass  # both slots free again


async def test_a_head_of_the_stream_is_its_head_alone_and_gives_its_slot_back(
    streaming_suite: Suite, tokens: Tokens
) -> None:
    """HEAD is the stream's head and nothing more, and the stream ends there: the app hears that
    the client has gone once its head is out, so the caller's slots (two) are free for the next
    HEAD and for a stream opened after three of them."""
    async with stream_client(streaming_suite, tokens("reader", sub="u-head")) as client:
        async with asyncio.timeout(30):  # a guard against hanging, not a measurement
            for _ in range(3):
                head = await client.head(STREAM)
                assert head.status_code == 200, head.text
                assert head.headers["content-type"].startswith("text/event-stream")
                assert head.content == b""
            async with opened(client), opened(client):
                pass
