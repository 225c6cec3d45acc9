"""The HTTP semantics a request passed on through the gateway keeps (gateway/proxy.py,
gateway/lane.py), and the project's contract on that path (bad input: a problem+json 4xx; a 500
is a bug): HEAD, content codings, a client gone mid-body, CORS preflights, encoded paths, 204 and
304, framing headers, repeated Authorization, methods the proxy does not take.

The gateway here passes on over real connections (its pooled transport) to a small upstream on a
loopback port that answers as a service could: a HEAD with its GET's length, 204 and 304, a
compressed body when nothing said it may not.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.processes import free_port
from gateway.app import create_app as create_gateway
from tests.gateway.conftest import MakeRig
from tests.support import Tokens, client_for, gateway_settings, running, served

PAYLOAD = {"name": "Digitale aangifte", "items": list(range(50))}


async def resource(request: Request) -> Response:
    """A resource as a service answers it: its JSON, with an ETag, to GET and HEAD alike (Starlette
    gives a HEAD the GET's Content-Length and leaves the body off)."""
    if request.headers.get("if-none-match") == '"7"':
        return Response(status_code=304, headers={"ETag": '"7"'})
    answer = JSONResponse(PAYLOAD, headers={"ETag": '"7"'})
    answer.raw_headers.extend([(b"link", b"</a>; rel=next"), (b"link", b"</b>; rel=last")])
    return answer


async def deleted(request: Request) -> Response:
    return Response(status_code=204, headers={"ETag": '"8"'})


async def compressed(request: Request) -> Response:
    """RFC 9110 section 12.5.3: a request without Accept-Encoding accepts any content coding, so a
    server may compress its answer to one. This one does, as a gzip middleware configured so would."""
    accepted = request.headers.get("accept-encoding")
    body = json.dumps(PAYLOAD).encode()
    if accepted is None or "gzip" in accepted:
        return Response(
            gzip.compress(body),
            media_type="application/json",
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(body, media_type="application/json")


async def seen(request: Request) -> Response:
    return JSONResponse(
        {
            "path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": (await request.body()).decode(),
        }
    )


async def scraped(request: Request) -> Response:
    return Response(b"scraped", media_type="text/plain")


UPSTREAM = Starlette(
    routes=[
        Route("/resource", resource, methods=["GET"]),
        Route("/deleted", deleted, methods=["DELETE"]),
        Route("/compressed", compressed, methods=["GET"]),
        Route("/seen/{rest:path}", seen, methods=["GET", "POST", "DELETE"]),
        Route("/metrics", scraped),
    ]
)


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    with served(UPSTREAM) as url:
        yield url


@pytest.fixture
async def gateway(upstream_url: str, var_dir: Path) -> AsyncIterator[FastAPI]:
    settings = gateway_settings(var_dir, valuechains_url=upstream_url, principles_url=f"http://127.0.0.1:{free_port()}")
    async with running(create_gateway(settings)) as app:
        yield app


# --- HEAD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?q=%20"], ids=["passed-on", "planned"])
async def test_a_head_answer_keeps_the_length_of_the_get(gateway: FastAPI, tokens: Tokens, query: str) -> None:
    """RFC 9110 section 8.6: a HEAD answer's Content-Length, when sent, MUST be the length the GET
    would have had. The service sends it; the gateway must not make it 0."""
    async with client_for(gateway, tokens("reader")) as client:
        get = await client.get(f"/valuechains/resource{query}")
        head = await client.head(f"/valuechains/resource{query}")
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


# --- Content codings -------------------------------------------------------------------------


async def test_a_compressed_answer_reaches_the_client_readable(gateway: FastAPI, tokens: Tokens) -> None:
    """The gateway sends no Accept-Encoding upstream (it drops the client's), which per RFC 9110
    accepts any coding; it then drops the answer's Content-Encoding without decoding the body."""
    async with client_for(gateway, tokens("reader")) as client:
        answer = await client.get("/valuechains/compressed")
    assert answer.status_code == 200
    assert answer.json() == PAYLOAD


# --- A client that goes away -----------------------------------------------------------------


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5555),
        "root_path": "",
    }


async def test_a_client_gone_mid_body_is_no_500_and_no_error_logged(
    gateway: FastAPI, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends half its declared body and goes away (a dropped mobile connection) is
    not a bug of the gateway's: nothing is asked upstream, no 500 is answered, counted or logged as
    an unhandled error, and nothing is raised for the server to log as one."""
    token = tokens("admin")["Authorization"].encode()
    headers = [(b"host", b"testserver"), (b"authorization", token), (b"content-length", b"100")]
    messages = iter([{"type": "http.request", "body": b'{"name": "hal', "more_body": True}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    registry = gateway.state.metrics.registry
    labels = {"service": "gateway", "method": "POST", "route": "/valuechains/{path:path}", "status": "500"}
    before = registry.get_sample_value("http_requests_total", labels) or 0
    gone = {**labels, "status": "499"}
    gone_before = registry.get_sample_value("http_requests_total", gone) or 0
    caplog.set_level(logging.INFO)
    raised: BaseException | None = None
    try:
        await gateway(http_scope("POST", "/valuechains/seen/x", headers), receive, send)
    except Exception as exc:  # noqa: BLE001 (what the server would log as an error)
        raised = exc
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts if m["status"] >= 500] == []
    assert raised is None, repr(raised)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert (registry.get_sample_value("http_requests_total", labels) or 0) == before
    assert registry.get_sample_value("http_requests_total", gone) == gone_before + 1  # counted as gone


# --- CORS ------------------------------------------------------------------------------------

ORIGIN = "https://portaal.politie.example"


async def test_a_refused_preflight_is_a_problem(make_rig: MakeRig) -> None:
    """A preflight the CORS policy refuses (a header it does not allow, an origin it does not know)
    is bad input like any other: a problem+json 4xx, not Starlette's plain-text 400."""
    async with make_rig(cors_origins=ORIGIN) as rig, rig.client() as client:
        mark = rig.mark()
        header = await client.options(
            "/valuechains/v1/chains",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-secret",
            },
        )
        origin = await client.options(
            "/valuechains/v1/chains",
            headers={"Origin": "https://elders.example", "Access-Control-Request-Method": "GET"},
        )
        assert rig.transport.requests[mark:] == []
    for answer in (header, origin):
        assert 400 <= answer.status_code < 500
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        assert answer.headers["x-trace-id"]


async def test_a_401_from_the_lane_carries_cors_and_the_trace_id(make_rig: MakeRig) -> None:
    """The lane's own answers (the early 401 here) pass through the same CORS middleware and the
    front door, so a browser can read them and they name their trace."""
    async with make_rig(cors_origins=ORIGIN) as rig, rig.client({"Origin": ORIGIN}) as client:
        mark = rig.mark()
        answer = await client.get("/valuechains/v1/chains", headers={"Authorization": "Bearer x.y.z"})
        assert rig.transport.requests[mark:] == []
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["x-trace-id"] and "bearer" in answer.headers["www-authenticate"].lower()


# --- Paths -----------------------------------------------------------------------------------


async def test_an_encoded_prefix_keeps_the_rest_of_the_path_as_encoded(gateway: FastAPI, tokens: Tokens) -> None:
    """``_upstream_target`` passes the path on byte for byte; after a percent-encoded prefix
    (``/value%63hains``, which the route matches decoded) it re-encodes the decoded rest instead,
    and an encoded slash in an id becomes a real one: another path at the service."""
    async with client_for(gateway, tokens("reader")) as client:
        plain = await client.get("/valuechains/seen/a%2Fb")
        encoded = await client.get("/value%63hains/seen/a%2Fb")
    assert plain.status_code == encoded.status_code == 200
    assert plain.json()["path"] == "/seen/a%2Fb"
    assert encoded.json()["path"] == "/seen/a%2Fb"


async def test_dot_segments_never_reach_a_hidden_path(gateway: FastAPI, tokens: Tokens) -> None:
    """A raw ``/valuechains/x/../metrics`` (a client that does not resolve dot segments) is passed
    on as it was written, which the service's router does not resolve either: the service's
    metrics stay unreachable through the gateway, as ``/valuechains/metrics`` itself (404)."""
    headers = [(b"host", b"testserver"), (b"authorization", tokens("admin")["Authorization"].encode())]
    for path in ("/valuechains/x/../metrics", "/valuechains/./metrics", "/valuechains/metrics/.."):
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(dict(message))

        await gateway(http_scope("GET", path, headers), receive, send)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert sent[0]["status"] == 404 and body != b"scraped", path


async def test_a_method_the_proxy_does_not_take_is_405_with_allow(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig() as rig, rig.client(tokens("reader")) as client:
        mark = rig.mark()
        answer = await client.request("TRACE", "/valuechains/v1/chains")
        assert rig.transport.requests[mark:] == []
    assert answer.status_code == 405 and answer.headers["content-type"] == "application/problem+json"
    allowed = {method.strip() for method in answer.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# --- Queries ---------------------------------------------------------------------------------


async def test_only_expand_and_include_themselves_are_the_gateways(gateway: FastAPI, tokens: Tokens) -> None:
    """Names that merely contain ``expand`` or ``include`` go to the service as the client wrote
    them, percent-escapes and all; ``expand`` itself, however encoded, is the gateway's."""
    async with client_for(gateway, tokens("admin")) as client:
        queries = {}
        for query in ("expanded=1&x_include=teams", "includes=a&q=%7Ea%20b", "a=1&a=2&flag"):
            answer = await client.get(f"/valuechains/seen/x?{query}")
            assert answer.status_code == 200, answer.text
            queries[query] = answer.json()["query"]
        refused = await client.post("/valuechains/seen/x?%65xpand=owner", content=b"{}")
        included = await client.delete("/valuechains/seen/x?in%63lude=teams")
    assert queries == {query: query for query in queries}
    assert refused.status_code == 400 and "expand applies to GET only" in refused.json()["detail"]
    assert included.status_code == 400 and "include applies to GET only" in included.json()["detail"]


# --- Status codes and headers ----------------------------------------------------------------


async def test_204_and_304_come_back_without_a_length_and_with_their_headers(gateway: FastAPI, tokens: Tokens) -> None:
    async with client_for(gateway, tokens("admin")) as client:
        gone = await client.delete("/valuechains/deleted")
        same = await client.get("/valuechains/resource", headers={"If-None-Match": '"7"'})
        full = await client.get("/valuechains/resource")
    assert (gone.status_code, gone.content, gone.headers["etag"]) == (204, b"", '"8"')
    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", '"7"')
    for answer in (gone, same):
        assert "content-length" not in answer.headers and answer.headers["x-trace-id"]
    assert full.headers.get_list("link") == ["</a>; rel=next", "</b>; rel=last"]


async def test_expect_and_framing_headers_are_the_gateways_own_on_the_way_up(gateway: FastAPI, tokens: Tokens) -> None:
    """``Expect: 100-continue`` is between the client and the gateway (which reads the body first);
    the service gets the body framed by the gateway's own Content-Length."""
    async with client_for(gateway, tokens("admin")) as client:
        answer = await client.post(
            "/valuechains/seen/x", content=b'{"a": 1}', headers={"Expect": "100-continue", "TE": "trailers"}
        )
    assert answer.status_code == 200
    seen_headers = dict(answer.json()["headers"])
    assert answer.json()["body"] == '{"a": 1}'
    assert seen_headers["content-length"] == "8"
    assert "expect" not in seen_headers and "te" not in seen_headers and "transfer-encoding" not in seen_headers


async def test_a_token_only_the_second_authorization_header_carries_is_refused(
    gateway: FastAPI, tokens: Tokens
) -> None:
    """The gateway checks the first Authorization header (as the services do): a garbled first one
    is 401 at the edge whatever follows it, and nothing goes upstream."""
    valid = tokens("admin")["Authorization"]
    async with client_for(gateway) as client:
        answer = await client.get(
            "/valuechains/seen/x", headers=[("Authorization", "Bearer garbled"), ("Authorization", valid)]
        )
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"


async def test_a_chunked_body_over_the_limit_is_413_through_the_lane(make_rig: MakeRig, tokens: Tokens) -> None:
    """No length declared (a transfer coding): the limit is kept as the body streams in, and the
    lane answers the front door's 413 with the app's problem handler; nothing goes upstream."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 512

    async with make_rig(max_body_bytes=2048) as rig, rig.client(tokens("admin")) as client:
        mark = rig.mark()
        answer = await client.post("/valuechains/v1/chains", content=chunks())
        assert rig.transport.requests[mark:] == []
    assert answer.status_code == 413 and answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-trace-id"]
