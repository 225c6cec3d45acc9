"""The resource contract, declared once and shared by every collection of every service.

A service declares a model (``ResourceMixin`` + its columns), pydantic schemas and a ``Collection``;
``crud_router`` then gives it list with filters and keyset pagination, batch get, get by id with
ETag, idempotent create, PATCH with If-Match, archive on DELETE, reference checks, need-to-know
and the change feed. Domain rules plug in by overriding the ``Collection`` hooks.
"""

import datetime as dt
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Integer, Select, String, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from services.chassis.auth import CLEARANCES, Principal, clearance_rank
from services.chassis.changes import append_event
from services.chassis.concurrency import check_version, etag, optional_version, required_version, wants_create_only
from services.chassis.db import UTCDateTime, utcnow
from services.chassis.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationProblem,
    problem_responses,
)
from services.chassis.ids import new_id
from services.chassis.pagination import MAX_BATCH, Page, PageQuery, apply_keyset, next_link
from services.chassis.references import Ref
from services.chassis.routing import parse_href
from services.chassis.text import check_text_tree
from services.chassis.uow import Ctx, RequestContext

ARCHIVED = "archived"
META_FIELDS = frozenset({"id", "href", "version", "created_at", "updated_at"})


class ResourceMixin:
    """Columns every resource has: opaque time-sortable id, version, status, timestamps."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        # The ORM turns every flush of a changed row into a compare-and-swap:
        # UPDATE ... SET version = v + 1 WHERE id = :id AND version = v, and raises on 0 rows.
        return {"version_id_col": cls.version}


M = TypeVar("M", bound=ResourceMixin)


class Input(BaseModel):
    """Base of every request body: unknown fields are rejected, and text must be storable."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return check_text_tree(value)


class Person(Input):
    """A person as the identity provider knows them; stored as ``<field>_subject`` etc. columns."""

    subject: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The person's identity: the `sub` of their token.", examples=["u100231"]
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["J. de Vries"])
    unit: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        description="Their unit (eenheid or dienst).", examples=["Eenheid Rotterdam"]
    )


class ResourceRead(BaseModel):
    """Fields every representation carries."""

    id: str = Field(description="Server-generated, opaque, time-sortable (UUIDv7).")
    href: str = Field(description="This resource's path through the gateway.")
    version: int = Field(description="Increases with every change; sent as the ETag.")
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ListQuery(PageQuery):
    """Paging, batch get and archive visibility; collections extend it with their filters."""

    id: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Batch get: up to 100 ids (`?id=a&id=b`); archived resources included, filters ignored.",
    )
    include_archived: bool = Field(default=False, description="Also list archived resources.")


@dataclass(frozen=True)
class RefField:
    """A field of a collection that points at another resource."""

    target: str
    """Collection path of what it points at, e.g. ``/valuechains/v1/chains``."""
    column: str | None = None
    """Model attribute holding it (default: the field's name)."""
    local: bool = False
    """Stored as the id of a row in this service (a foreign key) instead of a full href."""

    def column_name(self, field: str) -> str:
        return self.column or field


COLLECTIONS: dict[str, "Collection[Any]"] = {}
"""Every declared collection by path; local references are checked through it."""


class Collection(Generic[M]):
    """One collection of one service: the declaration and the operations on it.

    Override the hooks (``authorize``, ``validate``, ``visibility``, ``to_columns``,
    ``representation``, ``extra_fields``) for domain rules; the operations stay shared.
    """

    write_roles: ClassVar[tuple[str, ...]] = ("admin",)

    def __init__(
        self,
        *,
        service: str,
        name: str,
        kind: str,
        model: type[M],
        read: type[ResourceRead],
        create: type[BaseModel] | None = None,
        update: type[BaseModel] | None = None,
        query: type[ListQuery] = ListQuery,
        references: Mapping[str, RefField] | None = None,
        unique: Sequence[str] = (),
        description: str = "",
    ) -> None:
        self.service = service
        self.name = name
        self.kind = kind
        self.model = model
        self.read = read
        self.create_schema = create
        self.update_schema = update
        self.query = query
        self.references = dict(references or {})
        self.unique = tuple(unique)
        self.description = description
        self.path = f"/{service}/v1/{name}"
        self.classified = hasattr(model, "data_classification")
        COLLECTIONS[self.path] = self

    # --- representation -------------------------------------------------------------------

    def href(self, id_: str) -> str:
        return f"{self.path}/{id_}"

    def ref_href(self, field: str, value: str | None) -> str | None:
        if value is None:
            return None
        spec = self.references[field]
        return f"{spec.target}/{value}" if spec.local else value

    def representation(self, obj: M) -> dict[str, Any]:
        """The API fields of ``obj`` as plain values; nested objects from ``<field>_<sub>`` columns."""
        data: dict[str, Any] = {"href": self.href(obj.id)}
        for field, info in self.read.model_fields.items():
            if field == "href":
                continue
            if field in self.references:
                value = getattr(obj, self.references[field].column_name(field))
                href = self.ref_href(field, value)
                data[field] = {"href": href} if href is not None else None
            elif hasattr(obj, field):
                data[field] = getattr(obj, field)
            else:
                nested = _nested_model(info.annotation)
                if nested is not None and all(hasattr(obj, f"{field}_{sub}") for sub in nested.model_fields):
                    data[field] = {sub: getattr(obj, f"{field}_{sub}") for sub in nested.model_fields}
        return data

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[M]) -> dict[str, dict[str, Any]]:
        """Derived fields computed for a batch of rows (by id), never stored. Default: none."""
        return {}

    async def render_many(self, ctx: RequestContext, objs: Sequence[M]) -> list[BaseModel]:
        extras = await self.extra_fields(ctx, objs) if objs else {}
        return [self.read.model_validate({**self.representation(o), **extras.get(o.id, {})}) for o in objs]

    async def render(self, ctx: RequestContext, obj: M) -> BaseModel:
        return (await self.render_many(ctx, [obj]))[0]

    def snapshot(self, obj: M) -> dict[str, Any]:
        """JSON-ready stored fields, for the change feed's [old, new] pairs."""
        data = self.representation(obj)
        return {k: _jsonable(v) for k, v in data.items() if k not in META_FIELDS}

    def to_columns(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """API fields (as given in a body) to column values: references and nested objects flattened."""
        values: dict[str, Any] = {}
        for field, value in data.items():
            if field in self.references:
                spec = self.references[field]
                href = value["href"] if isinstance(value, Mapping) else value
                if href is not None and spec.local:
                    parsed = parse_href(href)
                    href = parsed.id if parsed else href
                values[spec.column_name(field)] = href
            elif isinstance(value, Mapping) and not hasattr(self.model, field):
                for sub, sub_value in value.items():
                    values[f"{field}_{sub}"] = sub_value
            else:
                values[field] = value
        return values

    # --- policy hooks ---------------------------------------------------------------------

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        """Need to know: rows above the caller's clearance do not exist for them."""
        if not self.classified or principal.is_admin:
            return None
        allowed = [c for c in CLEARANCES if clearance_rank(c) <= clearance_rank(principal.clearance)]
        return self.model.data_classification.in_(allowed)  # type: ignore[attr-defined]

    def event_visibility(self, obj: M) -> tuple[str | None, str | None]:
        """(classification, unit) recorded with each event so the feed honours need to know."""
        classification = getattr(obj, "data_classification", None) if self.classified else None
        return classification, None

    def authorize(self, ctx: RequestContext, action: str, obj: M | None, values: Mapping[str, Any]) -> None:
        """Raise Forbidden unless the caller may ``action`` (create, update, archive) this."""
        if not ctx.principal.has_role(*self.write_roles):
            raise Forbidden(f"{action} on {self.name} needs one of the roles: {', '.join(self.write_roles)}")

    async def validate(self, ctx: RequestContext, obj: M | None, values: dict[str, Any]) -> None:
        """Domain rules on the column values about to be written (``obj`` None on create)."""

    async def check_unique(self, ctx: RequestContext, obj: M | None, values: Mapping[str, Any]) -> None:
        """409 when a value of a ``unique`` column is already taken (the constraint backs this up)."""
        for column in self.unique:
            value = values.get(column)
            if value is None or (obj is not None and getattr(obj, column) == value):
                continue
            taken = await ctx.session.scalar(select(self.model.id).where(getattr(self.model, column) == value))
            if taken is not None:
                raise Conflict(f"{self.kind} {column} {value!r} is already taken (by {self.href(taken)})")

    # --- queries --------------------------------------------------------------------------

    def base_select(self, principal: Principal) -> Select[M]:
        stmt = select(self.model)
        visibility = self.visibility(principal)
        return stmt.where(visibility) if visibility is not None else stmt

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        """Equality filters from the query model's own fields (beyond paging and batch)."""
        clauses = []
        for field in type(query).model_fields:
            if field in ListQuery.model_fields:
                continue
            value = getattr(query, field)
            if value is None:
                continue
            if field in self.references:
                spec = self.references[field]
                column = getattr(self.model, spec.column_name(field))
                if spec.local:
                    parsed = parse_href(value)
                    value = parsed.id if parsed and parsed.id else value
                clauses.append(column == value)
            else:
                clauses.append(getattr(self.model, field) == value)
        return clauses

    def order(self) -> tuple[Any, ...]:
        return (self.model.id,)

    def cursor_values(self, obj: M) -> list[Any]:
        return [getattr(obj, c.key) for c in self.order()]

    async def find(self, ctx: RequestContext, id_: str) -> M | None:
        return (await ctx.session.scalars(self.base_select(ctx.principal).where(self.model.id == id_))).first()

    async def get(self, ctx: RequestContext, id_: str) -> M:
        obj = await self.find(ctx, id_)
        if obj is None:
            raise NotFound(f"no {self.kind} {id_}")
        return obj

    async def list_page(
        self, ctx: RequestContext, query: ListQuery, *, where: Sequence[ColumnElement[bool]] = ()
    ) -> Page[Any]:
        stmt = self.base_select(ctx.principal).where(*where)
        if query.id:
            rows = (await ctx.session.scalars(stmt.where(self.model.id.in_(query.id)).order_by(self.model.id))).all()
            return Page(items=await self.render_many(ctx, rows), next=None)
        stmt = stmt.where(*self.filter_clauses(query))
        if not query.include_archived:
            stmt = stmt.where(self.model.status != ARCHIVED)
        rows = list((await ctx.session.scalars(apply_keyset(stmt, self.order(), query))).all())
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, self.cursor_values(rows[-1]))
        return Page(items=await self.render_many(ctx, rows), next=next_href)

    def pointing_at(self, ctx: RequestContext, target: str) -> list[Select[str, str]]:
        """Selects of (href, field) for rows of this collection that reference ``target``."""
        selects = []
        parsed = parse_href(target)
        for field, spec in self.references.items():
            column = getattr(self.model, spec.column_name(field))
            if spec.local:
                if parsed is None or parsed.id is None or parsed.collection_path != spec.target:
                    continue
                match = column == parsed.id
            else:
                match = column == target
            selects.append(
                self.base_select(ctx.principal)
                .with_only_columns(
                    (literal(self.path + "/") + self.model.id).label("href"),
                    literal(field).label("field"),
                )
                .where(match)
            )
        return selects

    # --- writes ---------------------------------------------------------------------------

    async def check_references(self, ctx: RequestContext, data: Mapping[str, Any], loc: str = "body") -> None:
        """External references are checked with their owner before any transaction starts."""
        external = [
            ([loc, field], value["href"])
            for field, value in data.items()
            if field in self.references and not self.references[field].local and isinstance(value, Mapping)
        ]
        await ctx.upstreams.check(external, ctx.principal)

    async def check_local_references(self, ctx: RequestContext, values: Mapping[str, Any]) -> None:
        errors = []
        for field, spec in self.references.items():
            if not spec.local:
                continue
            value = values.get(spec.column_name(field))
            if value is None:
                continue
            target = COLLECTIONS.get(spec.target)
            if target is None or await target.find(ctx, value) is None:
                errors.append(
                    {
                        "loc": ["body", field],
                        "msg": f"no such resource: {spec.target}/{value}",
                        "type": "reference_not_found",
                    }
                )
        if errors:
            raise ValidationProblem(f"unknown reference in {', '.join(e['loc'][1] for e in errors)}", errors=errors)

    async def record(self, ctx: RequestContext, obj: M, action: str, changes: dict[str, list[Any]]) -> None:
        classification, unit = self.event_visibility(obj)
        await append_event(
            ctx.session,
            type=f"{self.name}.{action}",
            subject=self.href(obj.id),
            actor=ctx.principal.sub,
            version=obj.version,
            changes=changes,
            classification=classification,
            visible_to_unit=unit,
        )

    async def insert(self, ctx: RequestContext, values: dict[str, Any]) -> M:
        """Create a row from column values: authorize, validate, store and record the event."""
        values = {**values}
        values.setdefault("id", new_id())
        self.authorize(ctx, "create", None, values)
        await self.check_local_references(ctx, values)
        await self.check_unique(ctx, None, values)
        await self.validate(ctx, None, values)
        now = utcnow()
        obj = self.model(**values, created_at=now, updated_at=now)  # type: ignore[call-arg]
        if getattr(obj, "status", None) is None:
            obj.status = _column_default(self.model, "status")
        ctx.session.add(obj)
        await self._flush(ctx, f"{self.kind} {values['id']}")
        after = self.snapshot(obj)
        await self.record(ctx, obj, "created", {k: [None, v] for k, v in after.items()})
        return obj

    async def create(self, ctx: RequestContext, body: BaseModel) -> M:
        """Create from a request body."""
        return await self._create(ctx, body, None)

    async def create_under(
        self, ctx: RequestContext, body: BaseModel, parent: "Collection[Any]", parent_id: str, column: str
    ) -> M:
        """Create from a request body as a child of ``parent`` (404 when it does not exist for the caller)."""
        return await self._create(ctx, body, (parent, parent_id, column))

    async def _create(
        self, ctx: RequestContext, body: BaseModel, under: "tuple[Collection[Any], str, str] | None"
    ) -> M:
        data = body.model_dump(exclude_unset=False)
        values = self.to_columns(data)
        # Who may create is known without the database: answer 403 before asking other services,
        # and ask them before the transaction starts.
        self.authorize(ctx, "create", None, values)
        await self.check_references(ctx, data)
        if under is not None:
            parent, parent_id, column = under
            values[column] = (await parent.get(ctx, parent_id)).id
        return await self.insert(ctx, values)

    async def change(self, ctx: RequestContext, obj: M, values: dict[str, Any], *, action: str = "updated") -> M:
        """Apply column values to a loaded row as one audited compare-and-swap."""
        before = self.snapshot(obj)
        for column, value in values.items():
            setattr(obj, column, value)
        after = self.snapshot(obj)
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return obj
        obj.updated_at = utcnow()
        await self._flush(ctx, f"{self.kind} {obj.id}")
        await self.record(ctx, obj, action, changes)
        return obj

    async def _flush(self, ctx: RequestContext, label: str) -> None:
        """Flush, turning a lost race into a problem. ``label`` is computed before: the row is
        unreadable once a failed flush has rolled the transaction back."""
        try:
            await ctx.session.flush()
        except StaleDataError as exc:
            raise PreconditionFailed(f"{label} was changed by someone else meanwhile; read it again") from exc
        except IntegrityError as exc:
            raise Conflict(f"{label} conflicts with data stored meanwhile (a unique value is taken)") from exc

    async def update(self, ctx: RequestContext, id_: str, body: BaseModel, if_match: str | None) -> M:
        expected = required_version(if_match)
        data = body.model_dump(exclude_unset=True)
        reject_nulls(self, data)
        await self.check_references(ctx, data)
        obj = await self.get(ctx, id_)
        values = self.to_columns(data)
        self.authorize(ctx, "update", obj, values)
        check_version(obj.version, expected)
        await self.check_local_references(ctx, values)
        await self.check_unique(ctx, obj, values)
        await self.validate(ctx, obj, values)
        return await self.change(ctx, obj, values)

    async def put(
        self,
        ctx: RequestContext,
        existing: M | None,
        values: dict[str, Any],
        *,
        if_match: str | None,
        if_none_match: str | None,
    ) -> tuple[M, bool]:
        """PUT semantics: create when ``existing`` is None (``If-None-Match: *`` honoured), else
        replace it, which needs ``If-Match``. Returns the row and whether it was created."""
        create_only = wants_create_only(if_none_match)
        if existing is None:
            if if_match is not None:
                raise PreconditionFailed(f"there is no {self.kind} here yet, so If-Match cannot match")
            try:
                return await self.insert(ctx, values), True
            except Conflict as exc:
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
                # A concurrent PUT created it first: "it does not exist yet" no longer holds.
                raise PreconditionFailed(
                    f"this {self.kind} was created by someone else meanwhile; read it and send If-Match to replace it"
                ) from exc
        if create_only:
            raise PreconditionFailed(
                f"If-None-Match: * but this {self.kind} already exists (version {existing.version})",
                headers={"ETag": etag(existing.version)},
            )
        expected = required_version(if_match)
        self.authorize(ctx, "update", existing, values)
        check_version(existing.version, expected)
        await self.check_local_references(ctx, values)
        await self.check_unique(ctx, existing, values)
        await self.validate(ctx, existing, values)
        return await self.change(ctx, existing, values), False

    async def archive(self, ctx: RequestContext, id_: str, if_match: str | None) -> M:
        expected = optional_version(if_match)
        obj = await self.get(ctx, id_)
        self.authorize(ctx, "archive", obj, {"status": ARCHIVED})
        if expected is not None:
            check_version(obj.version, expected)
        if obj.status == ARCHIVED:
            return obj
        return await self.change(ctx, obj, {"status": ARCHIVED}, action="archived")


def _column_default(model: type[Any], column: str) -> Any:
    default = model.__table__.c[column].default
    return default.arg if default is not None and not callable(default.arg) else None


def reject_nulls(coll: Collection[Any], data: Mapping[str, Any]) -> None:
    """PATCH may clear optional fields with null, never required ones."""
    table = coll.model.__table__
    errors = []
    for field, value in data.items():
        if value is not None:
            continue
        columns = coll.to_columns({field: None})
        if any(col not in table.c or not table.c[col].nullable for col in columns):
            errors.append({"loc": ["body", field], "msg": "may not be null", "type": "null_not_allowed"})
    if errors:
        raise ValidationProblem("; ".join(f"{e['loc'][1]}: may not be null" for e in errors), errors=errors)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and not issubclass(candidate, Ref):
            return candidate
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "as_tuple"):  # Decimal
        return str(value)
    return value


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag you last read, e.g. `"3"`. Required; stale gives 412.'),
]
IfMatchOptional = Annotated[
    str | None,
    Header(alias="If-Match", description='Optional ETag, e.g. `"3"`; when given and stale, 412.'),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="`*` to create only: when the resource already exists the answer is 412 and nothing changes.",
    ),
]
ResourceId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The resource's id.")]

ETAG_HEADER = {"ETag": {"description": 'The version, quoted: `"3"`.', "schema": {"type": "string"}}}
LOCATION_HEADER = {"Location": {"description": "href of the new resource.", "schema": {"type": "string"}}}


def single_headers(obj: ResourceMixin, collection: Collection[Any]) -> dict[str, str]:
    return {"ETag": etag(obj.version)}


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

    router = APIRouter(tags=[c.name])
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
        obj = await c.get(ctx, id)
        return await ctx.respond(await c.render(ctx, obj), headers=single_headers(obj, c))

    if create and c.create_schema is not None:
        create_schema = c.create_schema

        @router.post(
            base,
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
            obj = await c.create(ctx, body)
            return await ctx.respond(
                await c.render(ctx, obj),
                status=201,
                headers={**single_headers(obj, c), "Location": c.href(obj.id)},
            )

    if update and c.update_schema is not None:
        update_schema = c.update_schema

        @router.patch(
            base + "/{id}",
            response_model=c.read,
            summary=f"Change a {c.kind}",
            description=text("update", "Send only the fields to change, with `If-Match` set to the ETag you read."),
            responses={
                200: {"headers": ETAG_HEADER},
                **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428, 503),
            },
        )
        async def update_item(ctx: Ctx, id: ResourceId, body: update_schema, if_match: IfMatch = None) -> Response:  # type: ignore[valid-type]
            obj = await c.update(ctx, id, body, if_match)
            return await ctx.respond(await c.render(ctx, obj), headers=single_headers(obj, c))

    if archive:

        @router.delete(
            base + "/{id}",
            response_model=c.read,
            summary=f"Archive a {c.kind}",
            description=text(
                "archive",
                "Nothing is ever deleted: this sets `status` to `archived`. The resource stays "
                "readable by id and batch get, and leaves lists unless `include_archived=true`. "
                "Ask `GET /v1/references?target=<href>` first who still points at it.",
            ),
            responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 422)},
        )
        async def archive_item(ctx: Ctx, id: ResourceId, if_match: IfMatchOptional = None) -> Response:
            obj = await c.archive(ctx, id, if_match)
            return await ctx.respond(await c.render(ctx, obj), headers=single_headers(obj, c))

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
    create under this parent is the child collection's rule (its ``authorize`` and ``validate`` see
    the parent's id in ``column``); the parent must exist for the caller (404 otherwise).
    """
    router = APIRouter(tags=[child.name])
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

        @router.post(
            path,
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
            obj = await child.create_under(ctx, body, parent, id, column)
            return await ctx.respond(
                await child.render(ctx, obj),
                status=201,
                headers={**single_headers(obj, child), "Location": child.href(obj.id)},
            )

    return router


class ReferencingItem(BaseModel):
    href: str = Field(description="A resource of this service that points at the target.")
    field: str = Field(description="The field through which it points.")


class ReferencesQuery(PageQuery):
    target: str = Field(max_length=200, description="The href to look for, e.g. `/valuechains/v1/chains/<id>`.")


def references_router(collections: Sequence[Collection[Any]]) -> APIRouter:
    router = APIRouter(tags=["references"])

    @router.get(
        "/v1/references",
        response_model=Page[ReferencingItem],
        summary="Who points at this?",
        description=(
            "This service's resources (archived included) that reference `target`: ask before "
            "archiving something. The gateway's `/references` asks every service at once."
        ),
        responses=problem_responses(401, 422),
    )
    async def references(ctx: Ctx, query: Annotated[ReferencesQuery, Query()]) -> Page[ReferencingItem]:
        if parse_href(query.target) is None:
            raise ValidationProblem.field(["query", "target"], "not an href of this platform")
        selects = [s for c in collections for s in c.pointing_at(ctx, query.target)]
        if not selects:
            return Page(items=[], next=None)
        from sqlalchemy import union_all

        union = union_all(*selects).subquery()
        stmt = select(union.c.href, union.c.field)
        rows = (await ctx.session.execute(apply_keyset(stmt, [union.c.href, union.c.field], query))).all()
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, [rows[-1].href, rows[-1].field])
        return Page(items=[ReferencingItem(href=r.href, field=r.field) for r in rows], next=next_href)

    return router


def or_all(clauses: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*clauses)
