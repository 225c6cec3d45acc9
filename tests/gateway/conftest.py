"""The gateway in-process, in front of the services of ``build_suite`` on the same RoutingTransport."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from gateway.resilience import Upstream, UpstreamClient
from tests.conftest import AppCache, CachedApp, Suite, UnboundDatabase, build_suite, settings_key
from tests.gateway.widgets import widgets_app, widgets_database
from tests.support import Hop, RoutingTransport, Tokens, client_for, served, unique_code


@dataclass
class Rig:
    """The suite plus the gateway in front of it."""

    suite: Suite
    app: FastAPI

    @property
    def transport(self) -> RoutingTransport:
        return self.suite.transport

    def client(self, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
        return client_for(self.app, headers)

    @property
    def upstreams(self) -> UpstreamClient:
        client: UpstreamClient = self.app.state.upstream_client
        return client

    def upstream(self, name: str) -> Upstream:
        upstream = self.upstreams.by_name(name)
        assert upstream is not None
        return upstream

    def sent_to(self, host: str, since: int = 0) -> list[httpx2.Request]:
        """Requests that went to ``host`` (``valuechains.test``), from position ``since`` on."""
        return [r for r in self.transport.requests[since:] if r.url.host == host]

    def mark(self) -> int:
        return len(self.transport.requests)


MakeRig = Callable[..., contextlib.AbstractAsyncContextManager[Rig]]

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium, which the browser tests drive (a browser is never downloaded)."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
BROWSER_GUARD_MS = 30_000
"""A browser test's wait for a page or an element: against hanging, not a measurement (a loaded
machine takes seconds to render the explorer)."""


@contextlib.asynccontextmanager
async def served_on_this_loop(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """``app`` on ``sock``, on the test's own event loop (the gateway's clients live on it)."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn says so by a flag only
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task


async def cached_widgets(cache: AppCache) -> CachedApp:
    """The widget service of this worker: its database made once, in the worker's directory."""
    key = ("widgets", settings_key({}))
    if key not in cache.apps:
        db = await cache.stack.enter_async_context(widgets_database(cache.var_dir))
        idle = UnboundDatabase(db.url, db.write_engine)
        # A rolled-back connection cannot be shared with background tasks.
        await cache.start(
            key, lambda db: widgets_app(cache.var_dir, db, Hop(cache.transport), background_tasks=False), idle
        )
    return cache.apps[key]


@pytest.fixture
def make_rig(app_cache: AppCache) -> MakeRig:
    """``async with make_rig(widgets=True, **gateway_settings) as rig``: the suite and a gateway.

    With ``widgets=True`` the test-only widget service stands in for portfolio behind the gateway.
    """

    @contextlib.asynccontextmanager
    async def make(*, widgets: bool = False, **overrides: Any) -> AsyncIterator[Rig]:
        async with contextlib.AsyncExitStack() as stack:
            suite = await stack.enter_async_context(build_suite(app_cache, rollback=True))
            if widgets:
                app = await stack.enter_async_context((await cached_widgets(app_cache)).bound())
                suite.transport.add("widgets.test", app)
                suite.apps["widgets"] = app
                overrides.setdefault("portfolio_url", "http://widgets.test")
            gateway = await stack.enter_async_context(app_cache.gateway(**overrides))
            suite.apps["gateway"] = gateway
            yield Rig(suite, gateway)

    return make


@pytest.fixture
async def rig(make_rig: MakeRig) -> AsyncIterator[Rig]:
    async with make_rig() as built:
        yield built


@pytest.fixture
async def widget_rig(make_rig: MakeRig) -> AsyncIterator[Rig]:
    async with make_rig(widgets=True) as built:
        yield built


def slow_app(seconds: float, arrived: asyncio.Event | None = None) -> FastAPI:
    """An upstream that takes ``seconds`` to answer anything (``arrived`` is set on each request)."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def slow(request: Request, path: str) -> JSONResponse:
        if arrived is not None:
            arrived.set()
        await asyncio.sleep(seconds)
        return JSONResponse({"path": path})

    return app


class FakeClock:
    """A clock the test moves by hand (breakers and balancers take one)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dropping_app(methods: Sequence[str] = ("GET", "POST")) -> FastAPI:
    """An upstream whose connection breaks off mid-request, as when the process is killed."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=list(methods))
    async def drop(path: str) -> None:
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")

    return app


@dataclass
class World:
    chain_a: dict[str, Any]
    chain_b: dict[str, Any]
    gadget_internal: dict[str, Any]
    gadget_confidential: dict[str, Any]
    w1: dict[str, Any]
    w2: dict[str, Any]
    w3: dict[str, Any]


async def create(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def chain_body(name: str) -> dict[str, Any]:
    return {
        "code": unique_code("EXP"),
        "name": name,
        "domain": "Testing",
        "mission": "Be pointed at.",
        "owner": {"subject": "u-exp", "name": "E. Xpand", "unit": "Dienst IV"},
    }


@pytest.fixture
async def world(widget_rig: Rig, tokens: Tokens) -> World:
    async with widget_rig.client(tokens("admin")) as admin:
        chain_a = await create(admin, "/valuechains/v1/chains", chain_body("Keten A"))
        chain_b = await create(admin, "/valuechains/v1/chains", chain_body("Keten B"))
        internal = await create(
            admin, "/portfolio/v1/gadgets", {"name": "open gadget", "chain": {"href": chain_a["href"]}}
        )
        confidential = await create(
            admin,
            "/portfolio/v1/gadgets",
            {"name": "secret gadget", "chain": {"href": chain_b["href"]}, "data_classification": "confidential"},
        )
        w1 = await create(
            admin,
            "/portfolio/v1/widgets",
            {"name": "w1", "chain": {"href": chain_a["href"]}, "gadget": {"href": internal["href"]}, "fanout": 2},
        )
        w2 = await create(
            admin,
            "/portfolio/v1/widgets",
            {"name": "w2", "chain": {"href": chain_b["href"]}, "gadget": {"href": confidential["href"]}},
        )
        w3 = await create(
            admin,
            "/portfolio/v1/widgets",
            {"name": "w3", "chain": {"href": chain_a["href"]}, "see_also": {"href": chain_b["href"]}},
        )
        # The merged OpenAPI document (which expand paths are checked against) is fetched once and
        # cached; fetch it now so the tests count only the requests expansion makes.
        assert (await admin.get("/openapi.json")).status_code == 200
    return World(chain_a, chain_b, internal, confidential, w1, w2, w3)


@dataclass
class GatewaySocket:
    """A loopback socket for a gateway served on the test's loop, and the development provider
    (deploy/devissuer) signing with the worker's key ring, for the issuer the services accept."""

    sock: socket.socket
    url: str
    issuer: str


def gateway_socket() -> GatewaySocket:
    from services.chassis.settings import CommonSettings

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return GatewaySocket(sock, f"http://127.0.0.1:{sock.getsockname()[1]}", CommonSettings().jwt_issuer)


def dev_provider(app_cache: AppCache, tmp_path: Path, issuer: str, **settings: Any) -> FastAPI:
    """The development identity provider with ``settings`` (its clients' redirect URIs)."""
    from deploy.devissuer.app import create_app as create_provider
    from deploy.devissuer.settings import IssuerSettings

    secret = tmp_path / "secret"
    secret.write_text("s")
    return create_provider(
        IssuerSettings(var_dir=app_cache.var_dir, jwt_issuer=issuer, oauth_client_secret_file=secret, **settings)
    )


@contextlib.asynccontextmanager
async def served_with_provider(
    make_rig: MakeRig, app_cache: AppCache, tmp_path: Path
) -> AsyncIterator[tuple[Rig, str]]:
    """A gateway on a socket of its own with the development provider beside it, both the
    explorer's and the portal's sign-in set up at it: the rig and the gateway's URL.

    The provider signs with the worker's development key ring, for the issuer the services behind
    the gateway accept; the gateway verifies through the provider's JWKS. The browser reaches the
    provider on its port; the gateway exchanges the portal's code in-process (as in compose, where
    the two reach it by different addresses)."""
    bound = gateway_socket()
    gateway_url, issuer = bound.url, bound.issuer
    provider = dev_provider(
        app_cache,
        tmp_path,
        issuer,
        explorer_redirect_uris=[f"{gateway_url}/docs/oauth2-redirect"],
        portal_redirect_uris=[f"{gateway_url}/portal/aanmelden/terug"],
    )
    with served(provider) as provider_url:
        settings = {
            "jwks_url": f"{provider_url}/jwks.json",
            "jwt_issuer": issuer,
            "explorer_authorization_url": f"{provider_url}/authorize",
            "explorer_token_url": f"{provider_url}/token",
            "portal_authorization_url": f"{provider_url}/authorize",
            "portal_token_url": "http://issuer.test/token",
        }
        async with make_rig(**settings) as rig, served_on_this_loop(rig.app, bound.sock):
            rig.transport.add("issuer.test", provider)
            yield rig, gateway_url
