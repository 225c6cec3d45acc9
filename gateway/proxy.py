"""``/<service>/...`` to that service's ``/...``: method, path, query, body and safe headers.

The token is verified here first (401 before any upstream is bothered) and forwarded as it came,
so each service checks it again and access follows the person. An event stream is passed through
as it arrives (gateway/streams.py). ``expand`` is the gateway's own
query parameter: checked against the merged OpenAPI before the request is sent, stripped from
what the service sees, and applied to the JSON answer; so is ``include`` (gateway/include.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response

from gateway.answers import UpstreamAnswer
from gateway.expand_paths import ExpandNode, parse_expand, plan_expansion
from gateway.expansion import Expander
from gateway.headers import request_headers, response_headers
from gateway.include import INCLUDE, plan_include
from gateway.openapi import OpenAPICatalogue
from gateway.resilience import Upstream, UpstreamClient
from gateway.streams import EventStreamPassThrough
from services.chassis.auth import principal_of
from services.chassis.errors import BadGateway, BadRequest, ServiceUnavailable
from services.chassis.pagination import COUNT_NOT_SHOWN

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
EXPAND = "expand"


def _upstream_target(request: Request, prefix: str, query: bytes, ours: bool) -> str:
    """Path and ``query`` for the upstream, byte for byte as the client encoded them (minus expand,
    include, and beside include its count_not_shown; ``ours``: the query may hold them)."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else quote(request.url.path)
    # The route matched the decoded path; an encoded prefix would not start with it literally.
    rest = path[len(prefix) :] if path.startswith(prefix + "/") else quote(request.url.path[len(prefix) :])
    target_query = query.decode()  # as request.url.query, without building the URL
    if ours and (EXPAND in request.query_params or INCLUDE in request.query_params):
        # Beside include, count_not_shown is the gateway's too: it goes to the included lists.
        own = (EXPAND, INCLUDE, COUNT_NOT_SHOWN) if INCLUDE in request.query_params else (EXPAND, INCLUDE)
        target_query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in own])
    return rest + (f"?{target_query}" if target_query else "")


def _with_expand(link: str, values: list[str]) -> str:
    """``link`` with the caller's ``expand`` parameters put back."""
    separator = "&" if "?" in link else "?"
    return link + separator + urlencode([(EXPAND, value) for value in values])


def _answer(upstream: Upstream, response: UpstreamAnswer, body: bytes | None = None) -> Response:
    if response.status_code >= 500 and response.media_type not in ("application/json", "application/problem+json"):
        # A service always answers problem+json; anything else came from a crashed process.
        raise BadGateway(f"the {upstream.name} service failed ({response.status_code}) without a problem document")
    answer = Response(content=response.content if body is None else body, status_code=response.status_code)
    answer.raw_headers.extend(response_headers(response.raw_headers))
    return answer


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


def proxy_endpoint(prefix: str) -> Callable[[Request], Awaitable[Response]]:
    """The handler of every method on ``<prefix>/{path:path}``: a plain Starlette endpoint, not a
    FastAPI one, so passing a request on costs no dependency resolution (the token is checked here,
    first) and its query goes to the service unchecked (the service checks it)."""

    async def proxy(request: Request) -> Response:
        # 401 before any upstream is asked (and 403 for a chain partner's write; the service checks
        # a partner's read against their scope).
        await principal_of(request, passes_on=True)
        client: UpstreamClient = request.app.state.upstream_client
        upstream = client.upstreams[prefix]
        # Only a query that can name expand or include is parsed here (a name may be percent-encoded).
        query: bytes = request.scope.get("query_string", b"")
        ours = bool(query) and (b"expand" in query or b"include" in query or b"%" in query)
        expand_values = request.query_params.getlist(EXPAND) if ours else []
        plan = None
        if expand_values:
            if request.method not in ("GET", "HEAD"):
                raise BadRequest(f"expand applies to GET only, not {request.method}")
            if request.method == "GET":
                plan = await _plan(request.app.state.openapi, request.url.path, expand_values)
        includes = await plan_include(request) if ours else None
        if includes is not None and plan is None:
            plan = {}, False  # nothing to expand, but the answer is read to add what is included
        headers = request_headers(
            request.headers.raw,
            client_ip=request.client.host if request.client else None,
            proto=request.scope.get("scheme", "http"),
            host=request.headers.get("host"),
        )
        body = await request.body()
        response = await client.forward(
            upstream,
            request.method,
            _upstream_target(request, prefix, query, ours),
            headers,
            body or None,
            stream=request.method == "GET",
        )
        if response.is_event_stream:
            if plan is not None:
                await response.aclose()
                raise BadRequest("expand and include apply to JSON answers, not to an event stream")
            return EventStreamPassThrough(response, idle_seconds=request.app.state.settings.stream_idle_seconds)
        if plan is None or response.status_code != 200 or response.media_type != "application/json":
            return _answer(upstream, response)
        tree, is_list = plan
        # pydantic's Rust JSON codec: on a page of 100 it parses and writes in a third of the time
        # the json module takes (about 0.6 against 1.7 ms, measured).
        try:
            data: Any = pydantic_core.from_json(response.content)
        except ValueError as exc:
            raise BadGateway(f"the {upstream.name} service answered with invalid JSON") from exc
        await Expander(client, request.headers.get("authorization")).expand(data, tree, is_list=is_list)
        if is_list and isinstance(data, dict) and isinstance(data.get("next"), str):
            # The service never saw expand: the next page is asked for the same way as this one.
            data["next"] = _with_expand(data["next"], expand_values)
        if includes is not None:
            await includes.embed(data, request)
        return _answer(upstream, response, pydantic_core.to_json(data))

    proxy.__name__ = f"proxy_{prefix.strip('/')}"
    return proxy
