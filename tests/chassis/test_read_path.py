"""The read path of a resource by id, against the HTTP contract: HEAD (GET without the content,
RFC 9110 section 9.3.2), need to know whatever conditional headers a read brings (an
``If-None-Match`` is not evaluated on a GET: the ETag is the version that If-Match fences writes
with, and a chain's derived figures move without it, so it cannot tell a cache the answer is the
same), and the read lane (services/chassis/resources/lane.py) held to its own rule that it takes
only what the route would take, answering with the route's headers byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from services.chassis.resources import lane as lane_module
from services.chassis.resources.lane import ReadLane
from services.chassis.resources.routers import read_item
from tests.chassis.cases import CASES, application
from tests.chassis.test_partners import scope_om_to_chains
from tests.chassis.test_read_lane import created, front_door, lane_of, scope, stack_client
from tests.conftest import Suite
from tests.portfolio.helpers import make_chain
from tests.support import Tokens

PROGRAMMES = next(c for c in CASES if c.collection == "programmes")
"""A collection whose representation is its stored row alone (no derived fields): its ETag, the
version, changes exactly when its representation does."""
ABSENT_ID = "019a0000-dead-7000-8000-000000000000"


async def secret_application(suite: Suite, tokens: Tokens) -> dict[str, Any]:
    href = await make_chain(suite, tokens, "Geheime keten")
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = (await admin.get(href.removeprefix("/valuechains"))).json()
        answer = await admin.post(
            f"/v1/chains/{chain['id']}/applications", json=application("Geheime applicatie", "secret")
        )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body


# --- HEAD -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_head_of_a_resource_answers_as_its_get_without_a_body(suite: Suite, tokens: Tokens, case: Any) -> None:
    """RFC 9110 section 9.3.2: HEAD is GET without the content; every general-purpose server
    supports it. The partner rules (``partners.admit``) and the gateway (which passes a HEAD on as
    a HEAD) both assume it; the services answer 405 ``Allow: GET``."""
    resource = await created(suite, tokens, case)
    path = f"{case.path}/{resource['id']}"
    registry = suite.apps[case.service].state.metrics.registry
    counted = {"service": case.service, "method": "HEAD", "route": f"{case.path}/{{id}}", "status": "200"}
    before = registry.get_sample_value("http_requests_total", counted) or 0
    async with suite.client(case.service, tokens("reader", clearance="secret")) as client:
        got, head = await client.get(path), await client.head(path)
    assert registry.get_sample_value("http_requests_total", counted) == before + 1  # a HEAD, of its route
    assert got.status_code == 200
    assert head.status_code == 200, head.text
    assert head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name


# --- If-None-Match ----------------------------------------------------------------------------


@pytest.mark.parametrize("condition", ['"999"', 'W/"999"', '"0", W/"998"', "garbage", '"1', ""])
async def test_if_none_match_naming_no_current_etag_is_the_plain_200(
    suite: Suite, tokens: Tokens, condition: str
) -> None:
    """Another version, or a value that names none: the whole answer, as without the header (never
    a 304, and never a 4xx or 500 for what is only a cache's hint)."""
    resource = await created(suite, tokens, PROGRAMMES)
    path = f"{PROGRAMMES.path}/{resource['id']}"
    async with suite.client(PROGRAMMES.service, tokens("reader")) as client:
        plain = await client.get(path)
        conditional = await client.get(path, headers={"If-None-Match": condition})
    assert conditional.status_code == plain.status_code == 200
    assert conditional.content == plain.content
    assert conditional.headers["etag"] == plain.headers["etag"]


async def test_a_hidden_resource_is_404_as_an_absent_one_whatever_its_conditional_headers(
    suite: Suite, tokens: Tokens
) -> None:
    """Need to know before preconditions: to a reader without clearance a secret application does
    not exist, so ``If-None-Match: *`` or its real ETag must not turn its 404 into a 304 (which
    would tell it exists, and its version). Lane and route alike, and word for word the problem
    of an id that was never there (but for the id itself)."""
    secret = await secret_application(suite, tokens)
    app = suite.apps["valuechains"]
    reader = tokens("reader", clearance="internal")
    for condition in (None, "*", f'"{secret["version"]}"', f'W/"{secret["version"]}"'):
        headers = {**reader, **({"If-None-Match": condition} if condition else {})}
        async with suite.client("valuechains", headers) as lane, stack_client(app, headers) as route:
            for client in (lane, route):
                hidden = await client.get(f"/v1/applications/{secret['id']}")
                absent = await client.get(f"/v1/applications/{ABSENT_ID}")
                assert hidden.status_code == absent.status_code == 404, (condition, hidden.text)
                assert "etag" not in hidden.headers
                assert hidden.headers["content-type"] == "application/problem+json"
                assert hidden.text.replace(secret["id"], ABSENT_ID) == absent.text


async def test_a_partner_outside_its_chains_is_404_whatever_its_conditional_headers(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scope's chain filter narrows after the handler answered (``partners.answer``): whatever
    answers If-None-Match must do so after that, or a 304 would tell a partner that a record
    outside its scope exists, and its version."""
    href = await make_chain(suite, tokens, "Gedeelde keten")
    other = await make_chain(suite, tokens, "Andere keten")
    async with suite.client("valuechains", tokens("admin")) as admin:
        other_id = other.rsplit("/", 1)[1]
        made = await admin.post(f"/v1/chains/{other_id}/applications", json=application("Andere app", "internal"))
        assert made.status_code == 201, made.text
        outside = made.json()
    scope_om_to_chains(suite.apps["valuechains"], monkeypatch, href)
    partner = tokens("partner", sub="u-om-review", partner_org="OM")
    for path, version in ((f"/v1/applications/{outside['id']}", outside["version"]), (f"/v1/chains/{other_id}", 1)):
        for condition in ("*", f'"{version}"'):
            async with suite.client("valuechains", {**partner, "If-None-Match": condition}) as client:
                answer = await client.get(path)
            assert answer.status_code == 404, (path, condition, answer.text)
            assert "etag" not in answer.headers


# --- the lane against the route ---------------------------------------------------------------


async def test_the_lane_answers_with_the_routes_headers_through_the_front_door(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every header, in order, byte for byte (the trace id aside, a new one per request): the
    front door's own (Cache-Control, nosniff, no referrer, no framing, X-Trace-Id) and the route's
    (ETag, Content-Type, Content-Length), none added or lost by serving it past the stack."""
    lane_reads: list[str] = []  # the ids the lane itself answered

    async def counted(c: Any, ctx: Any, id_: str) -> Any:
        response = await read_item(c, ctx, id_)
        lane_reads.append(id_)
        return response

    monkeypatch.setattr(lane_module, "read_item", counted)
    for case in CASES:
        resource = await created(suite, tokens, case)
        path = f"{case.path}/{resource['id']}"
        async with suite.client(case.service, tokens("reader", clearance="secret")) as client:
            served = await client.get(path)
            assert lane_reads[-1] == resource["id"]  # the lane answered it
            with monkeypatch.context() as patch:
                patch.setattr(ReadLane, "__call__", lambda self, scope: None)  # the front door, then the stack
                routed = await client.get(path)
            assert lane_reads[-1] == resource["id"] and lane_reads.count(resource["id"]) == 1
        assert served.status_code == routed.status_code == 200
        assert served.content == routed.content

        def without_trace(headers: Any) -> list[tuple[bytes, bytes]]:
            return [(name, value) for name, value in headers.raw if name.lower() != b"x-trace-id"]

        assert without_trace(served.headers) == without_trace(routed.headers), case.id
        for answer in (served, routed):
            trace = answer.headers["x-trace-id"]
            assert len(trace) == 32 and int(trace, 16) >= 0
        assert served.headers["x-trace-id"] != routed.headers["x-trace-id"]


@pytest.mark.parametrize("tail", ["\n", "\r\n"], ids=["lf", "crlf"])
async def test_an_id_with_a_line_break_is_the_routes_422_through_the_lane(
    suite: Suite, tokens: Tokens, tail: str
) -> None:
    """``/v1/chains/<id>%0A``: the route's pattern (pydantic's, whose ``$`` is the end of the text)
    refuses it with 422; through the front door the answer is the same."""
    chain = await created(suite, tokens, CASES[0])
    app = suite.apps["valuechains"]
    path = f"/v1/chains/{chain['id']}" + tail.replace("\r", "%0D").replace("\n", "%0A")
    headers = tokens("reader")
    async with suite.client("valuechains", headers) as lane, stack_client(app, headers) as route:
        served, routed = await lane.get(path), await route.get(path)
    assert served.status_code == routed.status_code == 422
    assert served.content == routed.content
    assert served.headers["content-type"] == "application/problem+json"


async def test_the_lane_does_not_take_an_id_the_routes_pattern_refuses(suite: Suite, tokens: Tokens) -> None:
    """The lane takes "an id of the route's pattern" only (lane.py, docs/architecture.md "The read
    lane"). It checks with Python's ``re.match`` and ``$``, which also matches before a final line
    break, so it takes ``<id>\\n`` (verifies the token and reads the database for it) although the
    route's pattern refuses it; the stack then answers the 422 after all."""
    lane = lane_of(suite.apps["valuechains"])
    assert lane(scope("GET", "/v1/chains/0190")) == lane.serve  # an id of the pattern: taken
    assert lane(scope("GET", "/v1/chains/0190\n")) is None


async def test_a_head_of_a_stream_sends_one_complete_head_and_nothing_after(suite: Suite) -> None:
    """What the front door sends for a HEAD of a route that streams (an event stream, an export): the
    GET's head, then one empty last body, and nothing of what the app sends on. uvicorn refuses any
    message after the last body (a RuntimeError, logged as the app's failure), and the app hears
    that the client has gone once the answer is complete."""
    door = front_door(suite.apps["valuechains"])
    ended = asyncio.Event()

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["method"] == "GET"  # answered as its GET
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one", b"two", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        ended.set()

    sent: list[dict[str, Any]] = []

    async def strict_send(message: MutableMapping[str, Any]) -> None:
        if sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body", False):
            raise RuntimeError(f"Unexpected ASGI message {message['type']!r} after the response completed")
        sent.append(dict(message))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    original = door.app
    door.app = streaming
    try:
        await door({**scope("HEAD", "/v1/anything"), "headers": [(b"host", b"testserver")]}, receive, strict_send)
    finally:
        door.app = original
    assert ended.is_set()
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert sent[1] == {"type": "http.response.body", "body": b"", "more_body": False}
