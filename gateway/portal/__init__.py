"""The portal: server-rendered pages for the people who steer (chain owners, portfolio managers,
architects, auditors), under ``/portal/`` on the gateway, in Dutch for them.

Every page asks the API in-process as the signed-in person (``gateway/portal/api.py``), so its
numbers are the API's numbers and need to know holds by construction. It is not API: its routes
are plain Starlette routes under one ``Mount``, absent from the merged OpenAPI document.

Adding a page: a module in this package with

    @page("/portfolio", "Portfolio", roles=("portfolio_manager",))
    async def portfolio(view: View) -> Response:
        answer = await view.api.get("/portfolio/v1/reports/ratio", [("round", ...)])
        return view.render("portfolio.html", title="Portfolio", report=answer)

a template ``templates/portfolio.html`` that extends ``base.html``, and the module's name in
``PAGE_MODULES`` below (the order there is the navigation's). A form posts to an ``@action`` and
carries ``{{ csrf_field() }}``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.portal.api import PortalApi
from gateway.portal.pages import ACTIONS, DOWNLOADS, PAGES, STATIC, Portal, render
from gateway.portal.session import CALLBACK_PATH, PORTAL_PATH, Sealer
from gateway.portal.signin import SIGN_IN_PATH, SignInFlow
from gateway.settings import GatewaySettings

PAGE_MODULES = (
    "gateway.portal.chain",
    "gateway.portal.portfolio",
    "gateway.portal.principles",
    "gateway.portal.foundation",
    "gateway.portal.audit",
)
"""The modules whose ``@page``s make up the portal, in the navigation's order."""


def mount_portal(app: FastAPI, settings: GatewaySettings) -> Portal:
    """``/portal/...`` on ``app``; start its API client with ``portal_running`` in the lifespan."""
    for module in PAGE_MODULES:
        importlib.import_module(module)
    portal = Portal(Sealer(settings.portal_keys()))
    flow = SignInFlow(portal, settings)

    async def home(request: Request) -> Response:
        who = await portal.who(request)
        if isinstance(who, Response):
            return who
        if who is None:
            signed_out = request.query_params.get("afgemeld") == "1"
            return render("home.html", title="IV-portaal", signed_out=signed_out)
        view = portal.view(request, *who)
        return view.render("home.html", title="IV-portaal")

    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route(SIGN_IN_PATH.removeprefix(PORTAL_PATH), flow.start, methods=["GET"]),
        Route(CALLBACK_PATH.removeprefix(PORTAL_PATH), flow.finish, methods=["GET"]),
        *(Route(p.path, portal.page_endpoint(p.handler), methods=["GET"]) for p in PAGES),
        *(Route(path, portal.page_endpoint(handler), methods=["GET"]) for path, handler in DOWNLOADS.items()),
        *(Route(path, portal.action_endpoint(handler), methods=["POST"]) for path, handler in ACTIONS.items()),
        Mount("/static", StaticFiles(directory=STATIC), name="portal-static"),
    ]
    app.router.routes.append(Mount(PORTAL_PATH, routes=routes))
    app.state.portal = portal
    return portal


@contextlib.asynccontextmanager
async def portal_running(portal: Portal, app: FastAPI) -> AsyncIterator[None]:
    """The portal's in-process API client, for as long as the gateway runs."""
    portal.api = PortalApi(app)
    try:
        yield
    finally:
        await portal.api.aclose()
        portal.api = None
