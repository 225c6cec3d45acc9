"""Strict query strings: what a route does not take is refused, not ignored.

FastAPI ignores a query parameter a route does not declare, and takes one value of a single-valued
parameter given twice. Both hide mistakes: ``?valu_chain=...`` lists everything, and
``?status=active&status=approved`` silently means one of them. Every route of every app built by
the chassis (the gateway's own routes included) gets the same check before its handler runs:

- a parameter the route does not declare is 400 ``query-parameter`` naming it (and what the route
  does take);
- a single-valued parameter given more than once is 400 naming it;
- a multi-valued one (declared as a list: ``?id=a&id=b``, ``?status=a&status=b``) takes every value.

The declared parameters are read from the route's own dependency tree (query models expanded), the
same source FastAPI builds its OpenAPI parameters from, so the document and the check cannot
disagree. Every router is a ``strict_router`` (its routes are ``StrictRoute``s), and an app with a
route that is not refuses to start. Write routes run the check after authorization
(``resources.routers.GuardedRoute`` is a ``StrictRoute`` whose guard runs first): a caller without
the right learns nothing about the route first.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Collection, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from services.chassis import partners
from services.chassis.errors import QUERY_PARAMETER, Problem

SEQUENCES = (list, tuple, set, frozenset, Sequence, Collection, Iterable)


class QueryParameterProblem(Problem):
    problem_type = QUERY_PARAMETER


def is_multi_valued(annotation: Any) -> bool:
    """Whether a parameter declared with ``annotation`` takes repeated values (a list of them)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return is_multi_valued(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return any(is_multi_valued(arg) for arg in typing.get_args(annotation))
    if annotation in SEQUENCES:
        return True
    return isinstance(origin, type) and origin in SEQUENCES


@dataclass(frozen=True)
class QuerySpec:
    """The query parameters one route takes."""

    single: frozenset[str]
    multi: frozenset[str]

    @classmethod
    def of(cls, dependant: Dependant) -> QuerySpec:
        """The query parameters of a route's dependency tree; a query model (``Annotated[Model,
        Query()]``) contributes each of its fields."""
        single: set[str] = set()
        multi: set[str] = set()
        for field in _query_fields(dependant):
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for name, info in annotation.model_fields.items():
                    (multi if is_multi_valued(info.annotation) else single).add(info.alias or name)
            else:
                (multi if is_multi_valued(annotation) else single).add(field.alias)
        return cls(frozenset(single), frozenset(multi))

    @property
    def names(self) -> frozenset[str]:
        return self.single | self.multi

    def check(self, query_string: bytes | str) -> None:
        """Raise 400 for the first name not taken, or a single-valued name given more than once."""
        text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
        if not text:
            return
        seen: set[str] = set()
        for name, _value in parse_qsl(text, keep_blank_values=True):
            if name not in self.single and name not in self.multi:
                taken = ", ".join(sorted(self.names)) or "none"
                raise QueryParameterProblem(
                    f"unknown query parameter {name!r}; this operation takes: {taken}",
                    extra={"parameter": name},
                )
            if name in self.single:
                if name in seen:
                    raise QueryParameterProblem(
                        f"query parameter {name!r} takes one value and was given more than once",
                        extra={"parameter": name},
                    )
                seen.add(name)


def _query_fields(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


class StrictRoute(APIRoute):
    """An API route whose query is checked before its handler runs (``QuerySpec``). Built per
    inclusion of its router: the spec is the effective route's, router dependencies included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        spec = QuerySpec.of(self.dependant)

        async def checked(request: Request) -> Response:
            spec.check(request.scope.get("query_string", b""))
            return await partners.answer(request, handler)

        return checked


def strict_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes check their query: the only kind a service or the gateway uses."""
    return APIRouter(route_class=StrictRoute, **options)


def make_strict(app: FastAPI) -> None:
    """Routes added to ``app`` itself from now on check their query too."""
    app.router.route_class = StrictRoute


def unchecked_routes(routes: Sequence[BaseRoute], *, exempt: tuple[type[APIRoute], ...] = ()) -> list[str]:
    """API routes (included ones too) whose query is not checked; an app with any refuses to start.
    ``exempt``: route classes that take any query to pass it on (the gateway's proxy)."""
    found = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and not isinstance(route, (StrictRoute, *exempt)):
            found.append(f"{sorted(route.methods or ())} {context.path}")
    return found
