"""The read lane: a resource by id (``GET /v1/<name>/{id}``) served from the front door.

The commonest request of every service, a plain read by id, otherwise passes Starlette's and
FastAPI's five middleware layers, the search through the service's routes (FastAPI's included
routers resolve their context on every match), dependency solving (the context, the token, the
id's check) and the query check: about a third of what the whole request cost (issue 13's
profile). The lane does what those did for it, by the same code: ``principal_of`` verifies the
token, a read session as ``get_context`` opens it, and ``routers.read_item``, the route's own
body, answers.

It takes only what it answers exactly as the route does: a GET with no query (any query is the
route's 422), of a collection's standard read route, an id of the route's pattern, and a path no
other route of the service claims (``/v1/ebos/duplicates`` stays the router's). Everything else,
and every request it cannot answer with a success, it hands to the middleware stack untouched:
a refused token, a missing or hidden resource (their problem answers and the partner's access
log come from the one place that writes them), and a chain partner's read, narrowed and recorded
there. A bug is answered as the stack answers it (500) and raised on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from services.chassis.auth import principal_of
from services.chassis.db import Database
from services.chassis.errors import Problem, answer_failure
from services.chassis.resources.collection import Collection
from services.chassis.resources.params import ID_PATTERN
from services.chassis.resources.routers import READS_ONE, read_item
from services.chassis.uow import request_context

_ID = re.compile(ID_PATTERN)
_ID_MAX = 64  # ResourceId's max_length
_READ = "iv.reads_one"
"""The scope key of the collection the lane reads (set when it takes the request)."""


class ReadLane:
    """The front door's lane (``services.chassis.middleware.Lane``) for reads by id."""

    def __init__(self, app: FastAPI, stack: ASGIApp) -> None:
        self.app = app
        self.stack = stack
        self.reads: dict[str, tuple[Collection[Any], BaseRoute]] = {}
        self.claimed: set[str] = set()  # other routes' literal paths under a collection's /v1/<name>/
        earlier: list[re.Pattern[str]] = []  # the GET paths the router tries before each route
        for context in iter_route_contexts(app.routes):
            route, path = context.original_route, context.path or ""
            methods = getattr(route, "methods", None) or set()
            collection = getattr(getattr(route, "endpoint", None), READS_ONE, None)
            if isinstance(route, APIRoute) and collection is not None and path.endswith("/{id}"):
                name = path.removeprefix("/v1/").removesuffix("/{id}")
                probe = f"/v1/{name}/{'0' * 8}"
                if "/" not in name and not any(pattern.match(probe) for pattern in earlier):
                    self.reads.setdefault(name, (collection, route))
            elif "{" not in path and path.count("/") == 3:
                self.claimed.add(path)
            if "GET" in methods or not methods:
                earlier.append(compile_path(path)[0] if path else re.compile(r"(?!)"))

    def __call__(self, scope: Scope) -> ASGIApp | None:
        if scope["method"] != "GET" or scope.get("query_string"):
            return None
        path: str = scope["path"]
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "v1" or path in self.claimed:
            return None
        read = self.reads.get(parts[2])
        id_ = parts[3]
        if read is None or len(id_) > _ID_MAX or not _ID.fullmatch(id_):
            return None
        scope[_READ], scope["route"] = read
        scope["path_params"] = {"id": id_}
        return self.serve

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        collection: Collection[Any] = scope[_READ]
        request = Request(scope, receive)
        try:
            principal = await principal_of(request)
            if getattr(request.state, "partner", None) is not None:
                await self.stack(scope, receive, send)  # narrowed and recorded in the access log there
                return
            db: Database = self.app.state.db
            async with db.session(write=False) as session:
                ctx = request_context(request, principal, session)
                response = await read_item(collection, ctx, scope["path_params"]["id"])
        except (Problem, HTTPException):
            await self.stack(scope, receive, send)  # the route answers the refusal, as it always has
            return
        except Exception as exc:  # noqa: BLE001 (answered as the stack would, a bug raised on there)
            await answer_failure(self.app, request, exc, send)
            return
        await response(scope, receive, send)


def read_lane(app: FastAPI) -> Callable[[ASGIApp], ReadLane]:
    """``install_front_door(lane=...)``'s argument for a service: its read lane around the stack."""
    return lambda stack: ReadLane(app, stack)
