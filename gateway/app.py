"""The gateway: the platform's one front door ("één loket IV").

It owns no data. It verifies tokens at the edge, routes ``/<service>/...`` to the owning service,
expands references on request, fans ``/references`` out to every service, and serves one API
explorer over the merged OpenAPI document. ``uvicorn --factory gateway.app:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Route

from gateway.audit_keys import audit_keys_router
from gateway.fanout import references_router
from gateway.health import health_router, watch_upstreams
from gateway.lane import ProxyLane
from gateway.openapi import OpenAPICatalogue
from gateway.portal import mount_portal, portal_running
from gateway.problems import problems_router
from gateway.proxy import PROXIED_METHODS, proxy_endpoint
from gateway.resilience import UpstreamClient, UpstreamMetrics
from gateway.settings import GatewaySettings
from services.chassis.auth import ROLE_DUTIES, TokenVerifier
from services.chassis.errors import BAD_REQUEST, NotFound, add_exception_handlers, problem_response
from services.chassis.explorer import mount_explorer, offer_sign_in
from services.chassis.middleware import install_front_door
from services.chassis.openapi import PROBLEM_SCHEMA, document_common_problems, problem_catalogue
from services.chassis.queries import make_strict, unchecked_routes
from services.chassis.references import build_http_client, pooled_transport
from services.chassis.telemetry import (
    NO_NATIVE_TELEMETRY,
    Metrics,
    build_tracer_provider,
    configure_logging,
    instrument_client,
    metrics_endpoint,
)

TITLE = "IV-platform"
VERSION = "1.0.0"
DESCRIPTION = (
    """One front door to the IV-platform: value chains, the rolling portfolio and the
principles ("pas toe of leg uit"). Data stays with the service that owns it and is shared by
reference (`{"href": ...}`); add `?expand=<field>` to a GET to have the gateway put the resources
in place of the references, fetched with your own token, and `?include=<collection>` to a GET of
one resource to have it list what points at it (a chain's `teams`, `applications`, `initiatives`,
`assessments`, ...).

### Signing in

**Authorize**, then either sign in (`SignIn`: the organisation's identity provider, or in development
the development identity provider where you pick who you are), or paste a token (`HTTPBearer`: for
scripts; in development `make token ROLE=reader`). The token stays in this browser, never in a URL.

### Roles

| role | may |
|---|---|
"""
    + "\n".join(f"| `{role}` | {duty} |" for role, duty in ROLE_DUTIES.items())
    + """

A token's `clearance` (`public` < `internal` < `confidential` < `secret`) decides which classified
records exist for it.

### Problem types

"""
    + problem_catalogue()
)


NOT_PROXIED = ("/metrics",)
"""Paths under a service's prefix the gateway does not pass on (and everything below them)."""


def create_app(
    settings: GatewaySettings | None = None, *, transport: httpx2.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the gateway. The pooled client starts in lifespan; ``transport`` wires tests in-process."""
    settings = settings or GatewaySettings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    provider = build_tracer_provider("gateway", settings.trace_sample_ratio)
    metrics = Metrics("gateway")
    upstream_metrics = UpstreamMetrics(metrics.registry)  # once per app: a lifespan may run again

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstream_transport = transport or pooled_transport()
        client = build_http_client(settings, upstream_transport)
        instrument_client(client, provider)
        upstream_client = UpstreamClient(settings, client, upstream_transport, upstream_metrics, provider)
        app.state.upstream_client = upstream_client
        app.state.verifier = TokenVerifier(settings)
        app.state.openapi = OpenAPICatalogue(
            upstream_client,
            lambda: own_document(app),
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            ttl=settings.openapi_cache_seconds,
            include_limit=settings.include_limit,
        )
        watcher = asyncio.create_task(watch_upstreams(upstream_client, settings))
        try:
            async with portal_running(portal, app):
                yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await client.aclose()
            provider.force_flush()

    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    make_strict(app)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.tracer_provider = provider
    add_exception_handlers(app)

    app.include_router(health_router())
    app.include_router(problems_router())
    app.include_router(references_router())
    app.include_router(audit_keys_router())
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)

    sign_in = settings.sign_in()

    async def openapi_document() -> JSONResponse:
        merged = await app.state.openapi.get()
        document = merged.document if sign_in is None else offer_sign_in(merged.document, sign_in)
        return JSONResponse(document)

    app.add_api_route("/openapi.json", openapi_document, include_in_schema=False)
    mount_explorer(app, title=TITLE, sign_in=sign_in)
    portal = mount_portal(app, settings)
    proxied: dict[str, Route] = {}
    for prefix in settings.upstreams():
        # What the gateway passes on, the service checks the query of (PassOnRoute). A service's
        # metrics are for the operators' scraper, never passed through the front door.
        for hidden in NOT_PROXIED:
            for path in (prefix + hidden, prefix + hidden + "/{rest:path}"):
                app.router.add_api_route(
                    path,
                    not_proxied,
                    methods=PROXIED_METHODS,
                    include_in_schema=False,
                    route_class_override=PassOnRoute,
                )
        # A plain Starlette route (no dependencies to resolve): not an API route, so not checked.
        proxied[prefix] = Route(
            prefix + "/{path:path}", proxy_endpoint(prefix), methods=PROXIED_METHODS, include_in_schema=False
        )
        app.router.routes.append(proxied[prefix])
    # The gateway's own routes refuse a query they do not take, as the services' do.
    unchecked = unchecked_routes(app.routes, exempt=(PassOnRoute,))
    if unchecked:
        raise RuntimeError(f"routes must come from a strict_router (their query is checked): {unchecked}")

    cors: dict[str, Any] | None = None
    if settings.cors_origins:
        cors = {
            "allow_origins": settings.cors_origins,
            "allow_methods": PROXIED_METHODS,
            "allow_headers": ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"],
            "expose_headers": ["ETag", "Location", "Idempotent-Replayed", "Retry-After"],
            "max_age": 600,
        }
        app.add_middleware(ProblemCORSMiddleware, **cors)
    # Passing on is served from the front door (gateway/lane.py), with the same CORS around it.
    lane = ProxyLane(
        app, proxied, NOT_PROXIED, wrap=None if cors is None else lambda inner: ProblemCORSMiddleware(inner, **cors)
    )
    # Outside everything, CORS and the error handler included: preflights and 500s carry the headers too.
    install_front_door(
        app, metrics=metrics, tracer_provider=provider, max_bytes=settings.max_body_bytes, lane=lambda _stack: lane
    )
    return app


class ProblemCORSMiddleware(CORSMiddleware):
    """CORS whose refused preflight is a problem document, as any other bad request is."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        kept = {k: v for k, v in answer.headers.items() if k.startswith("access-control-") or k == "vary"}
        return problem_response(BAD_REQUEST, bytes(answer.body).decode(), headers=kept)


class PassOnRoute(APIRoute):
    """A route that passes its request on to a service, query and all: the service checks it."""


async def not_proxied(request: Request) -> None:
    raise NotFound(f"no resource at {request.url.path}")


def own_document(app: FastAPI) -> dict[str, Any]:
    """The gateway's own operations, to be merged with the services'."""
    document = get_openapi(title=TITLE, version=VERSION, routes=app.routes)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                document_common_problems(operation)
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    return document
