"""``/<service>/...`` to that service's ``/...``: method, path, query, body and safe headers.

The token is verified here first (401 before any upstream is bothered) and forwarded as it came,
so each service checks it again and access follows the person. An event stream is passed through
as it arrives (gateway/streams.py). ``expand`` is the gateway's own
query parameter: checked against the merged OpenAPI before the request is sent, stripped from
what the service sees, and applied to the JSON answer; so is ``include`` (gateway/include.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlencode

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.answers import UpstreamAnswer
from gateway.expand_paths import ExpandNode, parse_expand, plan_expansion
from gateway.expansion import Expander
from gateway.headers import request_headers, response_headers
from gateway.include import INCLUDE, plan_include
from gateway.openapi import OpenAPICatalogue
from gateway.resilience import Upstream, UpstreamClient
from gateway.streams import EventStreamPassThrough
from services.chassis.auth import principal_in
from services.chassis.errors import BadGateway, BadRequest, ServiceUnavailable
from services.chassis.pagination import COUNT_NOT_SHOWN

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
EXPAND = "expand"


def _upstream_target(scope: Scope, prefix: str, query: bytes, request: Request | None) -> str:
    """Path and ``query`` for the upstream, byte for byte as the client encoded them (minus expand,
    include, and beside include its count_not_shown; ``request``: given when the query may hold
    them)."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else quote(scope["path"])
    # The route matched the decoded path; an encoded prefix would not start with it literally.
    if path.startswith(prefix + "/"):
        rest = path[len(prefix) :]
    else:
        # An encoded prefix (/value%63hains): what follows its first segment goes on as encoded.
        slash = path.find("/", 1)
        encoded_prefix = slash > 0 and unquote(path[:slash]) == prefix
        rest = path[slash:] if encoded_prefix else quote(scope["path"][len(prefix) :])
    target_query = query.decode()  # as the URL's query, without building the URL
    if request is not None and (EXPAND in request.query_params or INCLUDE in request.query_params):
        # Beside include, count_not_shown is the gateway's too: it goes to the included lists. An
        # include that names nothing includes nothing: the count then stays the service's (which
        # answers it, or refuses it to a chain partner), never dropped silently.
        includes = any(v.replace(",", "").strip() for v in request.query_params.getlist(INCLUDE))
        own = (EXPAND, INCLUDE, COUNT_NOT_SHOWN) if includes else (EXPAND, INCLUDE)
        target_query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in own])
    return rest + (f"?{target_query}" if target_query else "")


def _with_expand(link: str, values: list[str]) -> str:
    """``link`` with the caller's ``expand`` parameters put back."""
    separator = "&" if "?" in link else "?"
    return link + separator + urlencode([(EXPAND, value) for value in values])


def _checked(upstream: Upstream, response: UpstreamAnswer) -> None:
    if response.status_code >= 500 and response.media_type not in ("application/json", "application/problem+json"):
        # A service always answers problem+json; anything else came from a crashed process.
        raise BadGateway(f"the {upstream.name} service failed ({response.status_code}) without a problem document")


def _length(response: UpstreamAnswer, body: bytes, method: str) -> list[tuple[bytes, bytes]]:
    """The answer's Content-Length: none where no body may be; to a HEAD the service's own (the
    length of its GET, RFC 9110 section 8.6), not that of the empty body; else the body's."""
    status = response.status_code
    if status < 200 or status in (204, 304):
        return []
    if method == "HEAD":
        return [(name, value) for name, value in response.raw_headers if name.lower() == b"content-length"][:1]
    return [(b"content-length", str(len(body)).encode())]


def _answer(upstream: Upstream, response: UpstreamAnswer, body: bytes, method: str) -> Response:
    _checked(upstream, response)
    answer = Response(content=body, status_code=response.status_code)
    answer.raw_headers = _length(response, body, method) + response_headers(response.raw_headers)
    return answer


async def _send_answer(upstream: Upstream, response: UpstreamAnswer, send: Send, method: str) -> None:
    """The answer as ``_answer``'s ``Response`` would send it (the same headers in the same order),
    without making one: its length first where a body may be, then the service's headers."""
    _checked(upstream, response)
    status, body = response.status_code, response.content
    headers = _length(response, body, method)
    headers.extend(response_headers(response.raw_headers))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plan(catalogue: OpenAPICatalogue, path: str, values: list[str]) -> tuple[dict[str, ExpandNode], bool] | None:
    paths = parse_expand(values)
    if not paths:
        return None
    merged = await catalogue.get()
    missing = merged.document.get("x-missing-services", [])
    service = path.strip("/").split("/", 1)[0]
    if service in missing:
        raise ServiceUnavailable(
            f"expand cannot be checked now: the {service} service's API description is unavailable"
        )
    operation = merged.index.get_operation(path)
    root = merged.index.response_root(operation) if operation is not None else None
    if root is None:
        raise BadRequest(f"expand is not available on {path}: it has no documented JSON answer")
    return plan_expansion(merged.index, root, paths, missing_services=missing), root.is_list


class PassOn:
    """The handler of every method on ``<prefix>/{path:path}``: a pure ASGI app (no Request or
    Response is made for a request passed on as it came), so passing a request on costs no
    dependency resolution and its query goes to the service unchecked (the service checks it).
    The token is checked here, first. A query that may name ``expand`` or ``include`` (the
    gateway's own parameters) takes the planned path, which reads the answer to change it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.__name__ = f"proxy_{prefix.strip('/')}"  # the route's name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # 401 before any upstream is asked (and 403 for a chain partner's write; the service checks
        # a partner's read against their scope).
        await principal_in(scope, passes_on=True)
        # Only a query that can name expand or include is parsed here (a name may be percent-encoded).
        query: bytes = scope.get("query_string", b"")
        if query and (b"expand" in query or b"include" in query or b"%" in query):
            request = Request(scope, receive)
            await (await self._planned(request, query))(scope, receive, send)
            return
        upstream, response = await self._forward(scope, receive, query)
        if response.is_event_stream:
            stream = EventStreamPassThrough(response, idle_seconds=scope["app"].state.settings.stream_idle_seconds)
            await stream(scope, receive, send)
            return
        await _send_answer(upstream, response, send, scope["method"])

    async def _forward(
        self, scope: Scope, receive: Receive, query: bytes, request: Request | None = None
    ) -> tuple[Upstream, UpstreamAnswer]:
        """The request sent on to the service (``request``: given when the query may hold the
        gateway's own parameters, which stay here), and its answer."""
        client: UpstreamClient = scope["app"].state.upstream_client
        upstream = client.upstreams[self.prefix]
        method: str = scope["method"]
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        response = await client.forward(
            upstream,
            method,
            _upstream_target(scope, self.prefix, query, request),
            _passed_headers(scope, raw),
            await _body(scope, receive, raw),
            stream=method == "GET",
        )
        return upstream, response

    async def _planned(self, request: Request, query: bytes) -> Response:
        """A request whose query may hold ``expand`` or ``include``: checked and planned before it
        is sent, the answer read and changed as they ask."""
        expand_values = request.query_params.getlist(EXPAND)
        plan = None
        if expand_values:
            if request.method not in ("GET", "HEAD"):
                raise BadRequest(f"expand applies to GET only, not {request.method}")
            if request.method == "GET":
                plan = await _plan(request.app.state.openapi, request.url.path, expand_values)
        includes = await plan_include(request)
        if includes is not None and plan is None:
            plan = {}, False  # nothing to expand, but the answer is read to add what is included
        upstream, response = await self._forward(request.scope, request.receive, query, request)
        if response.is_event_stream:
            if plan is not None:
                await response.aclose()
                raise BadRequest("expand and include apply to JSON answers, not to an event stream")
            return EventStreamPassThrough(response, idle_seconds=request.app.state.settings.stream_idle_seconds)
        if plan is None or response.status_code != 200 or response.media_type != "application/json":
            return _answer(upstream, response, response.content, request.method)
        tree, is_list = plan
        # pydantic's Rust JSON codec: on a page of 100 it parses and writes in a third of the time
        # the json module takes (about 0.6 against 1.7 ms, measured).
        try:
            data: Any = pydantic_core.from_json(response.content)
        except ValueError as exc:
            raise BadGateway(f"the {upstream.name} service answered with invalid JSON") from exc
        client: UpstreamClient = request.app.state.upstream_client
        await Expander(client, request.headers.get("authorization")).expand(data, tree, is_list=is_list)
        if is_list and isinstance(data, dict) and isinstance(data.get("next"), str):
            # The service never saw expand: the next page is asked for the same way as this one.
            data["next"] = _with_expand(data["next"], expand_values)
        if includes is not None:
            await includes.embed(data, request)
        return _answer(upstream, response, pydantic_core.to_json(data), request.method)


def _passed_headers(scope: Scope, raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    client = scope.get("client")
    host = next((value.decode("latin-1") for name, value in raw if name == b"host"), None)
    client_ip = client[0] if client else None
    headers = request_headers(raw, client_ip=client_ip, proto=scope.get("scheme", "http"), host=host)
    # The answer's body is passed on as it comes and its Content-Encoding dropped: without this a
    # service may compress it (RFC 9110 section 12.5.3, no Accept-Encoding accepts any coding).
    headers.append(("accept-encoding", "identity"))
    return headers


async def _body(scope: Scope, receive: Receive, raw: list[tuple[bytes, bytes]]) -> bytes | None:
    """The request's body, None without one: a request that declares no length and no transfer
    coding has none (RFC 9112 section 6.3), and its (empty) message is not waited for."""
    if not any(name in (b"content-length", b"transfer-encoding") for name, _ in raw):
        return None
    return await Request(scope, receive).body() or None


def proxy_endpoint(prefix: str) -> PassOn:
    """The pass-on app of ``prefix`` (``/valuechains``), for its route."""
    return PassOn(prefix)
