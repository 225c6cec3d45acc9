"""The proxy's lane: ``/<service>/...`` served from the front door, past the middleware stack.

The routes stay in the app's router (a request the lane does not take, and any request of a test
client that calls the router, meets the same routes there). The lane asks the route of the
request's first path segment itself, so it takes exactly what the router would have dispatched to
it: the router would otherwise try the gateway's own routes first (about twenty of them), and
Starlette's and FastAPI's five middleware layers would wrap ``send`` and ``receive`` on the way. What
those layers did for a proxied request is done here: CORS, when configured (the same middleware,
around the lane only), and the app's exception handlers for an error before the answer has begun
(a problem raised by the proxy; a 500 for a bug, which is raised on as ``ServerErrorMiddleware``
raises it, so that the server logs it and the front door counts it).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.chassis.errors import answer_failure


class ProxyLane:
    """The front door's lane (``services.chassis.middleware.Lane``) for the proxy's routes."""

    def __init__(
        self,
        app: Starlette,
        routes: dict[str, Route],
        hidden: tuple[str, ...],
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        """``routes``: the proxy's route of each prefix (``/valuechains``); ``hidden``: the paths
        under a prefix the router sends elsewhere (``/metrics`` and below); ``wrap``: middleware
        the stack would have put around the route (CORS)."""
        self.app = app
        self.routes = routes
        self.hidden = hidden
        self.entry: ASGIApp = wrap(self.serve) if wrap is not None else self.serve

    def __call__(self, scope: Scope) -> ASGIApp | None:
        path: str = scope["path"]
        parts = path.split("/", 2)
        if len(parts) < 3:
            return None
        route = self.routes.get("/" + parts[1])
        if route is None:
            return None
        rest = "/" + parts[2]
        if any(rest == hidden or rest.startswith(hidden + "/") for hidden in self.hidden):
            return None
        if "\n" in rest:  # where the route's pattern has rules of its own for a line break
            match, child = route.matches(scope)
            if match is not Match.FULL:
                return None
            scope.update(child)
        elif route.methods is not None and scope["method"] not in route.methods:
            return None  # a method the route does not take: the router's 405
        else:
            # What the route's match adds: its one parameter, everything below the prefix.
            scope["endpoint"] = route.endpoint
            scope["path_params"] = {**scope.get("path_params", {}), "path": parts[2]}
        scope["route"] = route
        return self.entry

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: ASGIApp = scope["endpoint"]
        try:
            await endpoint(scope, receive, send)
        except ClientDisconnect:
            raise  # the client went away before its body was in: no bug to answer (the front door's)
        except Exception as exc:  # noqa: BLE001 (answered as the stack would, a bug raised on there)
            await answer_failure(self.app, Request(scope, receive), exc, send)
