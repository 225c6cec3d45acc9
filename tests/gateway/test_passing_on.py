"""Passing a request on over real connections: the gateway's own pooled client (through
``PooledTransport.exchange``, with no httpx2 request or response on the way) against a service
on a loopback port. What the in-process rigs check through httpx2's transports holds here too:
the request arrives as the caller sent it, the answer returns as the service gave it, the trace
goes along, failures are problems, and it is counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from bench.processes import free_port
from gateway.app import create_app as create_gateway
from services.chassis.http_transport import PooledTransport
from tests.support import StreamingASGITransport, Tokens, client_for, gateway_settings, running


@pytest.fixture
async def gateway(echo_service: str, var_dir: Path) -> AsyncIterator[FastAPI]:
    settings = gateway_settings(var_dir, valuechains_url=echo_service, principles_url=f"http://127.0.0.1:{free_port()}")
    app = create_gateway(settings)  # no transport given: the pooled one
    async with running(app):
        assert isinstance(app.state.upstream_client.exchanging, PooledTransport)
        yield app


def upstream_count(app: FastAPI, upstream: str, outcome: str) -> float:
    value = app.state.metrics.registry.get_sample_value(
        "gateway_upstream_requests_total", {"upstream": upstream, "method": "GET", "outcome": outcome}
    )
    return float(value or 0)


async def test_the_request_and_the_answer_cross_as_they_are(gateway: FastAPI, tokens: Tokens) -> None:
    token = tokens("admin")
    async with client_for(gateway, token) as client:
        answer = await client.post(
            "/valuechains/echo/chains/x?a=1&a=2&b=%C3%A9",
            content=b'{"name": "Digitale aangifte"}',
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": "k-1",
                "X-Custom": "ja",
                "Connection": "x-custom-hop",
                "X-Custom-Hop": "weg",
                "X-Forwarded-For": "10.9.9.9",
            },
        )
    assert answer.status_code == 207, answer.text
    seen = answer.json()
    headers = dict(seen["headers"])
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/echo/chains/x", "a=1&a=2&b=%C3%A9")
    assert seen["body"] == '{"name": "Digitale aangifte"}'
    assert headers["content-length"] == str(len(seen["body"]))
    assert headers["authorization"] == token["Authorization"]
    assert (headers["idempotency-key"], headers["x-custom"], headers["content-type"]) == (
        "k-1",
        "ja",
        "application/json",
    )
    assert "x-custom-hop" not in headers  # named by Connection: hop-by-hop
    assert headers["x-forwarded-for"] != "10.9.9.9" and headers["x-forwarded-proto"] == "http"
    # The service sees the gateway's trace: the answer names it, the request carried it.
    assert headers["traceparent"].split("-")[1] == answer.headers["x-trace-id"]
    assert answer.headers.get_list("x-twice") == ["one", "two"]
    assert answer.headers["content-type"] == "application/json"


async def test_a_body_goes_on_when_the_request_declares_one(gateway: FastAPI, tokens: Tokens) -> None:
    """Whatever the method, a body with a length or a transfer coding is passed on whole; a request
    declaring neither has none, and none is sent."""

    async def streamed() -> AsyncIterator[bytes]:
        for part in (b'{"name": ', b'"in delen"}'):
            yield part

    async with client_for(gateway, tokens("admin")) as client:
        with_length = (await client.request("GET", "/valuechains/echo/a", content=b"abc")).json()
        chunked = (await client.post("/valuechains/echo/b", content=streamed())).json()
        without = (await client.delete("/valuechains/echo/c")).json()
    assert (with_length["method"], with_length["body"]) == ("GET", "abc")
    assert dict(with_length["headers"])["content-length"] == "3"
    assert chunked["body"] == '{"name": "in delen"}'
    assert dict(chunked["headers"])["content-length"] == str(len(chunked["body"]))
    assert "transfer-encoding" not in dict(chunked["headers"])
    assert without["body"] == ""
    assert "content-length" not in dict(without["headers"])


async def test_no_httpx2_request_is_made_for_a_request_passed_on(
    gateway: FastAPI, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pooled client's own path (``send``) stays for the gateway's other requests only."""
    upstreams = gateway.state.upstream_client
    sent: list[str] = []
    original = upstreams.send

    async def recording(upstream: Any, method: str, target: str, **kwargs: Any) -> Any:
        sent.append(target)
        return await original(upstream, method, target, **kwargs)

    monkeypatch.setattr(upstreams, "send", recording)
    async with client_for(gateway, tokens("reader")) as client:
        answer = await client.get("/valuechains/echo?via=exchange")
    assert answer.status_code == 207 and answer.json()["query"] == "via=exchange"
    assert [target for target in sent if target.startswith("/echo")] == []


async def test_each_request_is_counted_and_connections_are_reused(gateway: FastAPI, tokens: Tokens) -> None:
    before = upstream_count(gateway, "valuechains", "207")
    async with client_for(gateway, tokens("reader")) as client:
        answers = await asyncio.gather(*(client.get(f"/valuechains/echo/{n}") for n in range(20)))
        assert [a.json()["path"] for a in answers] == [f"/echo/{n}" for n in range(20)]
        # One after another: each on the connection the last one gave back.
        peers = {(await client.get("/valuechains/echo")).json()["peer"] for _ in range(5)}
    assert len(peers) == 1
    assert upstream_count(gateway, "valuechains", "207") == before + 25


async def test_a_head_request_gets_the_heads_answer_and_the_connection_serves_on(
    gateway: FastAPI, tokens: Tokens
) -> None:
    async with client_for(gateway, tokens("reader")) as client:
        head = await client.head("/valuechains/echo")
        after = await client.get("/valuechains/echo?after=head")
    assert head.status_code == 207 and head.content == b""
    assert head.headers.get_list("x-twice") == ["one", "two"]
    assert after.json()["query"] == "after=head"


async def test_an_event_stream_passes_through_as_it_arrives(gateway: FastAPI, tokens: Tokens) -> None:
    transport = StreamingASGITransport(gateway)
    async with (
        httpx2.AsyncClient(transport=transport, base_url="http://gw", headers=tokens("reader")) as client,
        client.stream("GET", "/valuechains/trickle?hold=1") as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        chunks = answer.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 5) == b"first\n"  # before the second exists
    async with client_for(gateway, tokens("reader")) as client:  # and the connection serves on
        assert (await client.get("/valuechains/echo?after=stream")).json()["query"] == "after=stream"


async def test_the_upstreams_deadline_covers_the_whole_answer_but_not_a_live_stream(
    echo_service: str, var_dir: Path, tokens: Tokens
) -> None:
    """An answer coming bit by bit, each bit soon, is a 504 once the upstream's deadline has
    passed; an event stream passes its head within it and then runs on past it."""
    settings = gateway_settings(var_dir, valuechains_url=echo_service, upstream_timeouts={"valuechains": 0.4})
    app = create_gateway(settings)
    async with running(app):
        async with client_for(app, tokens("reader")) as client:
            late = await client.get("/valuechains/drip?chunks=10&every=0.1")
            soon = await client.get("/valuechains/drip?chunks=2&every=0.1")
        transport = StreamingASGITransport(app)
        async with (
            httpx2.AsyncClient(transport=transport, base_url="http://gw", headers=tokens("reader")) as streaming,
            streaming.stream("GET", "/valuechains/drip?chunks=3&every=0.3&events=1") as stream,
        ):
            assert stream.status_code == 200
            chunks = [chunk async for chunk in stream.aiter_bytes()]  # the last after 0.6 s
    assert late.status_code == 504 and late.headers["content-type"] == "application/problem+json"
    assert "did not answer within 0.4s" in late.json()["detail"]
    assert soon.status_code == 200 and soon.content == b"drop\n" * 2
    assert b"".join(chunks) == b"drop\n" * 3


async def test_failures_are_problems(gateway: FastAPI, tokens: Tokens) -> None:
    async with client_for(gateway, tokens("reader")) as client:
        crashed = await client.get("/valuechains/crash")
        refused = await client.get("/principles/v1/principles")
    assert crashed.status_code == 502 and crashed.headers["content-type"] == "application/problem+json"
    assert "without a problem document" in crashed.json()["detail"]
    assert refused.status_code == 503 and refused.json()["detail"] == "the principles service is unreachable"
    assert upstream_count(gateway, "principles", "error") >= 1


async def test_once_something_exports_each_request_passed_on_has_a_client_span(
    gateway: FastAPI, tokens: Tokens, echo_service: str
) -> None:
    exporter = InMemorySpanExporter()
    gateway.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with client_for(gateway, tokens("reader")) as client:
        answer = await client.get("/valuechains/echo?x=1")
        missing = await client.get("/valuechains/nothing")
    assert answer.status_code == 207 and missing.status_code == 404
    spans: dict[Any, Any] = {}
    for span in exporter.get_finished_spans():
        spans.setdefault(span.kind, []).append(span)
    by_url = {s.attributes["url.full"].rsplit("/", 1)[-1]: s for s in spans[SpanKind.CLIENT]}
    client_span = by_url["echo?x=1"]
    [server] = [s for s in spans[SpanKind.SERVER] if s.context.span_id == client_span.parent.span_id]
    assert server.name == "GET /valuechains/{path:path}"  # named by its route, as the router's are
    assert client_span.attributes["url.full"] == echo_service + "/echo?x=1"
    assert client_span.attributes["http.response.status_code"] == 207
    # The service was asked within the client span: its traceparent names that span.
    _, trace_id, span_id, _ = dict(answer.json()["headers"])["traceparent"].split("-")
    assert (int(trace_id, 16), int(span_id, 16)) == (server.context.trace_id, client_span.context.span_id)
    assert by_url["nothing"].attributes["http.response.status_code"] == 404
    assert by_url["nothing"].status.status_code == StatusCode.ERROR
    assert client_span.status.status_code != StatusCode.ERROR
