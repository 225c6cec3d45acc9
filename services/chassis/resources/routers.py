"""The standard endpoints of a collection, the guard every write route has, and ``/v1/references``.

Every route that writes (POST, PUT, PATCH, DELETE) is declared with ``@write(router, method, path,
operation=...)``: its guard authenticates, authorizes (role, then the stored record and its state),
takes the ``Idempotency-Key`` and checks ``If-Match`` *before* FastAPI reads and validates the body,
so that a caller without the right gets 403 whatever they send. ``create_service_app`` refuses to
start a service with a write route declared any other way.
"""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Query, Request
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.chassis.auth import principal_of
from services.chassis.concurrency import etag
from services.chassis.errors import Conflict, problem_responses
from services.chassis.idempotency import Reservation, release_later, replay_if_completed, reserve_for
from services.chassis.pagination import Page, apply_keyset, next_link
from services.chassis.queries import StrictRoute, strict_router
from services.chassis.resources.collection import Collection
from services.chassis.resources.model import ResourceMixin
from services.chassis.resources.params import (
    ETAG_HEADER,
    LOCATION_HEADER,
    ArchiveForce,
    ArchiveReason,
    IfMatch,
    IfMatchOptional,
    ListQuery,
    ReferencesQuery,
    ResourceId,
)
from services.chassis.resources.pipeline import Operation, Precondition, authorize, check_preconditions
from services.chassis.resources.pipeline import archive as archive_record
from services.chassis.resources.pipeline import create as create_record
from services.chassis.resources.pipeline import update as update_record
from services.chassis.resources.referrers import referencing
from services.chassis.uow import Ctx, RequestContext

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class GuardedRoute(StrictRoute):
    """A write route: steps 1-5 of the pipeline run before FastAPI's own request handling, the
    query's check (``StrictRoute``) after them."""

    operation: ClassVar[Operation]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        op = self.operation

        async def guard(request: Request) -> Response:
            principal = await principal_of(request)
            state = request.app.state
            try:
                async with state.db.session(write=False) as session:
                    reading = RequestContext(
                        principal=principal,
                        session=session,
                        settings=state.settings,
                        upstreams=state.upstreams,
                        request=request,
                    )
                    admission = await authorize(reading, op, request.path_params)
            except Conflict:
                # The state moved on (a round closed): a retry of the request that moved it replays.
                await replay_if_completed(request, principal)
                raise
            reservation = await reserve_for(request, principal)
            if reservation is not None:
                # Released after the request's transaction has committed or rolled back (the
                # function-scoped dependencies, the session among them, exit before this callback).
                request.scope["fastapi_function_astack"].push_async_exit(_releaser(reservation))
            check_preconditions(admission, request.headers.get("If-Match"), request.headers.get("If-None-Match"))
            request.state.admission = admission
            request.state.reservation = reservation
            return await handler(request)

        return guard


def _releaser(reservation: Reservation) -> Callable[..., Coroutine[Any, Any, bool]]:
    async def release(exc_type: type[BaseException] | None, *_: object) -> bool:
        # A request that failed (its commit included) or never stored its answer frees the key.
        if exc_type is not None or not reservation.completed:
            try:
                await reservation.release()
            except SQLAlchemyError:
                # The database refused even this (its lock held elsewhere): the key would stay in
                # flight for its live holder for IV_IDEMPOTENCY_IN_FLIGHT_SECONDS. Keep trying.
                release_later(reservation)
                raise
        return False

    return release


def guarded(operation: Operation) -> type[APIRoute]:
    """The route class for a write route running ``operation``."""
    name = f"Guarded_{operation.collection.name}_{operation.action}".replace("-", "_").replace(" ", "_")
    return type(name, (GuardedRoute,), {"operation": operation})


Endpoint = Callable[..., Coroutine[Any, Any, Any]]


def write(
    router: APIRouter, method: str, path: str, *, operation: Operation, **options: Any
) -> Callable[[Endpoint], Endpoint]:
    """Declare a write route that runs ``operation`` through the pipeline: ``@write(router, "POST",
    "/v1/rounds/{id}/open", operation=OPEN, response_model=...)``; ``options`` as for ``router.post``."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=[method], route_class_override=guarded(operation), **options)
        return endpoint

    return decorate


def unguarded_writes(routes: Sequence[BaseRoute]) -> list[str]:
    """Write routes not declared with ``write`` (a service with any refuses to start)."""
    found = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        methods = getattr(route, "methods", None) or set()
        if isinstance(route, APIRoute) and methods & WRITE_METHODS and not isinstance(route, GuardedRoute):
            found.append(f"{sorted(methods)} {context.path}")
    return found


def single_headers(obj: ResourceMixin) -> dict[str, str]:
    return {"ETag": etag(obj.version)}


READS_ONE = "iv_reads_one_of"
"""The attribute naming the collection on the endpoint of a collection's ``GET /v1/<name>/{id}``."""


async def read_item(c: Collection[Any], ctx: RequestContext, id: str) -> Response:
    """``GET /v1/<name>/{id}``'s answer: the resource as ``ctx.principal`` may see it, with its ETag."""
    obj, extras = await c.read_one(ctx, id)
    return await ctx.respond(c.rendered(obj, extras), headers=single_headers(obj))


def created_headers(obj: ResourceMixin, href: str) -> dict[str, str]:
    return {"ETag": etag(obj.version), "Location": href}


def crud_router(
    collection: Collection[Any],
    *,
    create: bool = True,
    update: bool = True,
    archive: bool = True,
    descriptions: Mapping[str, str] | None = None,
) -> APIRouter:
    """The standard endpoints of a collection, each documented with its headers and problems.

    ``descriptions`` puts domain text before the generic explanation of an operation; keys are
    ``list``, ``get``, ``create``, ``update`` and ``archive``.
    """
    c = collection
    texts = dict(descriptions or {})

    def text(operation: str, generic: str = "") -> str:
        return "\n\n".join(part for part in (texts.get(operation, ""), generic) if part)

    router = strict_router(tags=[c.name])
    page_model = Page[c.read]  # type: ignore[name-defined]
    base = f"/v1/{c.name}"

    @router.get(
        base,
        response_model=page_model,
        summary=f"List {c.name}",
        description=text(
            "list",
            f"{c.description}\n\nFilters combine with AND. Archived {c.name} are left out unless "
            "`include_archived=true`. With `id` (repeatable, up to 100) this is a batch get: "
            "exactly those resources, archived included, in one page.",
        ),
        responses=problem_responses(401, 403, 422),
    )
    async def list_items(ctx: Ctx, query: Annotated[c.query, Query()]) -> Any:  # type: ignore[name-defined]
        return await c.list_page(ctx, query)

    @router.get(
        base + "/{id}",
        response_model=c.read,
        summary=f"Get one {c.kind}",
        description=text("get", "The `ETag` header carries the version to send as `If-Match` when changing it."),
        responses={200: {"headers": ETAG_HEADER}, **problem_responses(401, 403, 404, 422)},
    )
    async def get_item(ctx: Ctx, id: ResourceId) -> Response:
        return await read_item(c, ctx, id)

    setattr(get_item, READS_ONE, c)  # the front door's read lane serves it too (resources/lane.py)

    if create and c.create_schema is not None:
        create_schema = c.create_schema
        creating = Operation(c, "create", id_param=None)

        @write(
            router,
            "POST",
            base,
            operation=creating,
            response_model=c.read,
            status_code=201,
            summary=f"Create a {c.kind}",
            description=text("create", "Send `Idempotency-Key` to make a retry safe."),
            responses={
                201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
                **problem_responses(400, 401, 403, 409, 413, 422, 503),
            },
        )
        async def create_item(ctx: Ctx, body: create_schema) -> Response:  # type: ignore[valid-type]
            obj = await create_record(ctx, creating, body)
            return await ctx.respond(await c.render(ctx, obj), status=201, headers=created_headers(obj, c.href(obj.id)))

    if update and c.update_schema is not None:
        update_schema = c.update_schema
        updating = Operation(c, "update", Precondition.REQUIRED)

        @write(
            router,
            "PATCH",
            base + "/{id}",
            operation=updating,
            response_model=c.read,
            summary=f"Change a {c.kind}",
            description=text("update", "Send only the fields to change, with `If-Match` set to the ETag you read."),
            responses={
                200: {"headers": ETAG_HEADER},
                **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428, 503),
            },
        )
        async def update_item(ctx: Ctx, id: ResourceId, body: update_schema, if_match: IfMatch = None) -> Response:  # type: ignore[valid-type]
            obj = await update_record(ctx, updating, body)
            return await ctx.respond(await c.render(ctx, obj), headers=single_headers(obj))

    if archive:
        archiving = Operation(c, "archive", Precondition.OPTIONAL)

        @write(
            router,
            "DELETE",
            base + "/{id}",
            operation=archiving,
            response_model=c.read,
            summary=f"Archive a {c.kind}",
            description=text(
                "archive",
                "Nothing is ever deleted: this sets `status` to `archived`. The resource stays "
                "readable by id and batch get, and leaves lists unless `include_archived=true`; "
                "references to it stay readable, but a new reference to it is 422.\n\n"
                "While active resources of any service still point at it (`GET /references?target="
                "<href>&in_use=true`) the answer is 409 listing them (`referrers`, and "
                "`referrers_not_visible`: how many you may not see), unless you send `force=true` "
                "with a `reason`: then they stay, and the change-feed event records `forced`, "
                "`archive_reason` and how many `referrers` there were. A `reason` alone is recorded "
                "too. A service that cannot be asked makes it 503, and nothing changes.",
            ),
            responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 422, 503)},
        )
        async def archive_item(
            ctx: Ctx,
            id: ResourceId,
            force: ArchiveForce = False,
            reason: ArchiveReason = None,
            if_match: IfMatchOptional = None,
        ) -> Response:
            obj = await archive_record(ctx, archiving, force=force, reason=reason)
            return await ctx.respond(await c.render(ctx, obj), headers=single_headers(obj))

    return router


def nested_router(
    parent: Collection[Any],
    child: Collection[Any],
    *,
    column: str,
    query: type[ListQuery],
    create: type[BaseModel] | None = None,
    list_description: str = "",
    create_summary: str = "",
    create_description: str = "",
) -> APIRouter:
    """``/v1/<parent>/{id}/<child>``: list a parent's children and create one under it.

    The child's own collection stays the place to read and change it (``/v1/<child>/{id}``). Who may
    create under this parent is the child collection's rule (its ``authorize`` sees the parent, and
    the parent's ``check_state`` whether it takes new children); the parent must exist for the
    caller (404 otherwise).
    """
    router = strict_router(tags=[child.name])
    path = f"/v1/{parent.name}/{{id}}/{child.name}"

    @router.get(
        path,
        response_model=Page[child.read],  # type: ignore[name-defined]
        summary=f"List a {parent.kind}'s {child.name}",
        description=list_description
        or f"The {child.name} of this {parent.kind}, with the filters and paging of `GET /v1/{child.name}`.",
        responses=problem_responses(401, 404, 422),
    )
    async def list_children(ctx: Ctx, id: ResourceId, params: Annotated[query, Query()]) -> Any:  # type: ignore[valid-type]
        owner = await parent.get(ctx, id)
        return await child.list_page(ctx, params, where=[getattr(child.model, column) == owner.id])

    if create is not None:
        create_schema = create
        creating = Operation(child, "create", id_param=None, parent=parent, parent_column=column, lock_parent=True)

        @write(
            router,
            "POST",
            path,
            operation=creating,
            response_model=child.read,
            status_code=201,
            summary=create_summary or f"Add a {child.kind} to a {parent.kind}",
            description="\n\n".join(
                part for part in (create_description, "Send `Idempotency-Key` to make a retry safe.") if part
            ),
            responses={
                201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
                **problem_responses(400, 401, 403, 404, 409, 413, 422),
            },
        )
        async def create_child(ctx: Ctx, id: ResourceId, body: create_schema) -> Response:  # type: ignore[valid-type]
            obj = await create_record(ctx, creating, body)
            return await ctx.respond(
                await child.render(ctx, obj), status=201, headers=created_headers(obj, child.href(obj.id))
            )

    return router


class ReferencingItem(BaseModel):
    href: str = Field(description="A resource of this service that points at the target.")
    field: str = Field(description="The field through which it points.")
    target: str = Field(description="The target it points at (one of those asked for).")


def references_router(collections: Sequence[Collection[Any]]) -> APIRouter:
    router = strict_router(tags=["references"])

    @router.get(
        "/v1/references",
        response_model=Page[ReferencingItem],
        summary="Who points at this?",
        description=(
            "This service's resources (archived included) that reference `target`; with "
            "`in_use=true` only the active ones that hold it in use, which is what archiving asks. "
            "The gateway's `/references` asks every service at once."
        ),
        responses=problem_responses(401, 422),
    )
    async def references(ctx: Ctx, query: Annotated[ReferencesQuery, Query()]) -> Page[ReferencingItem]:
        stmt = referencing(collections, ctx, list(dict.fromkeys(query.target)), in_use=query.in_use)
        if stmt is None:
            return Page(items=[], next=None)
        union = stmt.order_by(None).subquery()
        order = [union.c.href, union.c.field, union.c.target]
        rows = (await ctx.session.execute(apply_keyset(select(*order), order, query))).all()
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            last = rows[-1]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, [last.href, last.field, last.target])
        return Page(items=[ReferencingItem(href=r.href, field=r.field, target=r.target) for r in rows], next=next_href)

    return router
