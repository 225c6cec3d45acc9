"""A collection of one service: its declaration, how its rows look through the API, the queries on
it, and the hooks where a domain puts its rules.

The order in which a write runs those hooks is not decided here but in ``pipeline``: one function
per kind of write, the same for every collection. A collection only says *what* its rules are:

- ``roles(action)``: who may attempt an action at all (checked before anything else);
- ``authorize``: rules that read the stored record (ownership, four eyes);
- ``authorize_values``: rules that need the new values (classifying above one's own clearance);
- ``check_state``: whether the stored record's state allows the action (a closed round is frozen),
  and ``check_children`` for what is kept under it;
- ``validate``: domain rules on the values about to be written;
- ``prepare``: reads of other services before the transaction (references, subjects);
- ``after_insert``: what else the same transaction records about a new row (copies, versions).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from services.chassis.auth import Principal
from services.chassis.changes import append_event
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationProblem
from services.chassis.ids import new_id
from services.chassis.pagination import Page, apply_keyset, next_link
from services.chassis.references import Ref, archived_reference, reference_problem
from services.chassis.resources.model import ARCHIVED, META_FIELDS, M, RefField, ResourceRead
from services.chassis.resources.params import ListQuery
from services.chassis.routing import parse_href
from services.chassis.statements import ID, StatementCache, id_param
from services.chassis.visibility import NeedToKnow, viewer_key

if TYPE_CHECKING:
    from services.chassis.uow import RequestContext

COLLECTIONS: dict[str, Collection[Any]] = {}
"""Every declared collection by path; local references are checked through it."""

CLASSIFIED = NeedToKnow()
"""Rows with a ``data_classification`` column, visible by clearance alone."""


class Collection(Generic[M]):
    """One collection of one service: the declaration and the hooks its writes run."""

    write_roles: ClassVar[tuple[str, ...]] = ("admin",)
    """Who may create, update and archive (admins always may)."""
    action_roles: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Who may do an action other than ``write_roles`` say: custom actions, or a create open to more roles."""

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
        need_to_know: NeedToKnow | None = None,
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
        self.need_to_know = need_to_know or (CLASSIFIED if hasattr(model, "data_classification") else None)
        self.statements = StatementCache()
        """Hot statements by shape (``find``, and a collection's own ``read_one``)."""
        self._plans: dict[type, list[tuple[str, str, tuple[str, ...] | None]]] = {}
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
        for field, column, subs in self._fields_of(obj):
            if subs is not None:
                data[field] = {sub: getattr(obj, f"{field}_{sub}") for sub in subs}
            elif field in self.references:
                href = self.ref_href(field, getattr(obj, column))
                data[field] = {"href": href} if href is not None else None
            else:
                data[field] = getattr(obj, column)
        return data

    def _fields_of(self, obj: M) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """Where each API field of an object of this type is read: (field, attribute, the nested
        object's fields or None); worked out once per mapped class (``_plans``), not on every answer
        (anything else, whose attributes may vary from object to object, every time)."""
        plan = self._plans.get(type(obj))
        if plan is None:
            plan = []
            for field, info in self.read.model_fields.items():
                if field == "href":
                    continue
                if field in self.references:
                    plan.append((field, self.references[field].column_name(field), None))
                elif hasattr(obj, field):
                    plan.append((field, field, None))
                else:
                    nested = _nested_model(info.annotation)
                    if nested is not None and all(hasattr(obj, f"{field}_{sub}") for sub in nested.model_fields):
                        plan.append((field, field, tuple(nested.model_fields)))
            if isinstance(obj, self.model):
                self._plans[type(obj)] = plan
        return plan

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[M]) -> dict[str, dict[str, Any]]:
        """Derived fields computed for a batch of rows (by id), never stored. Default: none."""
        return {}

    async def render_many(self, ctx: RequestContext, objs: Sequence[M]) -> list[BaseModel]:
        extras = await self.extra_fields(ctx, objs) if objs else {}
        return [self.rendered(o, extras.get(o.id, {})) for o in objs]

    def rendered(self, obj: M, extras: Mapping[str, Any]) -> BaseModel:
        return self.read.model_validate({**self.representation(obj), **extras})

    async def read_one(self, ctx: RequestContext, id_: str) -> tuple[M, dict[str, Any]]:
        """A record for ``GET /v1/<collection>/{id}`` with its derived fields (404 when it does not
        exist for the caller). A collection may fold both into one statement."""
        obj = await self.get(ctx, id_)
        extras = await self.extra_fields(ctx, [obj])
        return obj, extras.get(obj.id, {})

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

    # --- need to know and authorization -----------------------------------------------------

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        """Need to know: rows the caller is not cleared for do not exist for them. Reads only what
        ``visibility.viewer_key`` holds of the caller (statements are cached by it)."""
        if self.need_to_know is None:
            return None
        return self.need_to_know.where(self.model, principal)

    def hidden(self, principal: Principal) -> ColumnElement[bool] | None:
        """The rows ``visibility`` leaves out for this caller (None: none), which a list's
        ``not_shown`` counts. A collection that overrides ``visibility`` overrides this with it."""
        if self.need_to_know is None:
            return None
        return self.need_to_know.hidden(self.model, principal)

    def event_visibility(self, obj: M) -> tuple[str | None, str | None]:
        """(classification, unit) recorded with each event so the feed honours need to know."""
        return self.need_to_know.of(obj) if self.need_to_know is not None else (None, None)

    def roles(self, action: str) -> tuple[str, ...]:
        return self.action_roles.get(action, self.write_roles)

    def require_role(self, principal: Principal, action: str) -> None:
        """403 unless the caller holds a role that may attempt ``action`` at all."""
        roles = self.roles(action)
        if not principal.has_role(*roles):
            raise Forbidden(f"{action} on {self.name} needs one of the roles: {', '.join(roles)}")

    def authorize(self, principal: Principal, action: str, *, record: M | None, parent: Any | None) -> None:
        """Rules that read the stored record (``record``, None on create) or the parent a new row is
        created under (``parent``): 403 when they forbid it. Default: the roles are enough."""

    def authorize_values(self, principal: Principal, action: str, record: M | None, values: Mapping[str, Any]) -> None:
        """Rules that need the values being written: 403 when they forbid it. Default: none."""

    def check_state(self, obj: M, action: str) -> None:
        """409 when the stored record's state does not allow ``action``. Default: anything goes."""

    def check_children(self, obj: M, action: str, child: Collection[Any]) -> None:
        """409 when this record's state does not allow ``action`` on a ``child`` kept under it (a
        row created under it, or changed through its path). Default: anything goes."""

    async def validate(self, ctx: RequestContext, obj: M | None, values: dict[str, Any]) -> None:
        """Domain rules on the column values about to be written (``obj`` None on create)."""

    async def prepare(
        self, ctx: RequestContext, action: str, record: M | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Before the transaction: check references with their owners (422/503), and read whatever
        else another service owns. Returns column values to add. Never called inside a transaction."""
        await self.check_references(ctx, data, record=record)
        return {}

    async def after_insert(self, ctx: RequestContext, obj: M) -> None:
        """Whatever else the transaction that created ``obj`` records. Default: nothing."""

    # --- queries --------------------------------------------------------------------------

    def base_select(self, principal: Principal) -> Select[M]:
        stmt = select(self.model)
        visibility = self.visibility(principal)
        return stmt.where(visibility) if visibility is not None else stmt

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        """Filters from the query model's own fields (beyond paging and batch): equality, or for a
        repeatable filter (``any_of``) any of its values."""
        clauses = []
        for field in type(query).model_fields:
            if field in ListQuery.model_fields:
                continue
            value = getattr(query, field)
            if value is None or value == []:
                continue
            if isinstance(value, list):
                column = getattr(self.model, field)
                # One value stays an equality, so the composite indexes serve it with their order.
                clauses.append(column == value[0] if len(value) == 1 else column.in_(value))
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

    async def find(self, ctx: RequestContext, id_: str, *, lock: bool = False) -> M | None:
        principal = ctx.principal

        def build() -> Select[M]:
            stmt = self.base_select(principal).where(self.model.id == id_param())
            if lock:
                stmt = stmt.with_for_update().execution_options(populate_existing=True)
            return stmt

        stmt = self.statements.get(("find", lock, viewer_key(principal)), build)
        return (await ctx.session.scalars(stmt, {ID: id_})).first()

    async def get(self, ctx: RequestContext, id_: str, *, lock: bool = False) -> M:
        obj = await self.find(ctx, id_, lock=lock)
        if obj is None:
            raise NotFound(f"no {self.kind} {id_}")
        return obj

    async def locate(
        self, ctx: RequestContext, parent: Any | None, params: Mapping[str, str], id_param: str
    ) -> M | None:
        """The resource a request's path names, None when it does not exist for the caller. With a
        parent, only one of the parent's (``belongs_to``)."""
        obj = await self.find(ctx, params[id_param])
        if obj is not None and parent is not None and not self.belongs_to(obj, parent):
            return None
        return obj

    def belongs_to(self, obj: M, parent: Any) -> bool:
        return True

    async def list_page(
        self, ctx: RequestContext, query: ListQuery, *, where: Sequence[ColumnElement[bool]] = ()
    ) -> Page[Any]:
        stmt = self.base_select(ctx.principal).where(*where)
        if query.id:
            rows = (await ctx.session.scalars(stmt.where(self.model.id.in_(query.id)).order_by(self.model.id))).all()
            # A batch get names its records: counting the hidden ones among them would tell which
            # ids exist. It counts what it does not show, hidden or unknown alike, as its items do.
            not_shown = len(set(query.id)) - len(rows) if query.count_not_shown else None
            return Page(items=await self.render_many(ctx, rows), next=None, not_shown=not_shown)
        conditions = [*where, *self.filter_clauses(query)]
        if not query.include_archived:
            conditions.append(self.model.status != ARCHIVED)
        stmt = stmt.where(*conditions)
        rows = list((await ctx.session.scalars(apply_keyset(stmt, self.order(), query))).all())
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, self.cursor_values(rows[-1]))
        not_shown = await self.count_hidden(ctx, conditions) if query.count_not_shown else None
        return Page(items=await self.render_many(ctx, rows), next=next_href, not_shown=not_shown)

    async def count_hidden(self, ctx: RequestContext, conditions: Sequence[ColumnElement[bool]]) -> int:
        """How many rows meet ``conditions`` (a list's filters) that the caller may not see: one
        ``count(*)`` of the rows the need-to-know condition removes (none asked for an admin)."""
        hidden = self.hidden(ctx.principal)
        if hidden is None:
            return 0
        count = select(func.count()).select_from(self.model).where(*conditions, hidden)
        return int(await ctx.session.scalar(count) or 0)

    def in_use_where(self) -> ColumnElement[bool]:
        """The rows that still hold what they point at in use (``RefField.holds``): by default every
        row that is not archived."""
        return self.model.status != ARCHIVED

    def pointing_at(
        self, ctx: RequestContext, targets: Sequence[str], *, in_use: bool = False
    ) -> list[Select[str, str, str]]:
        """Selects of (href, field, target) for rows of this collection that reference one of
        ``targets``; with ``in_use`` only the live rows that hold it in use (``RefField.holds``,
        ``in_use_where``). One select per reference field, whatever the number of targets."""
        selects = []
        parsed = [p for p in map(parse_href, targets) if p is not None and p.id is not None]
        for field, spec in self.references.items():
            if in_use and not spec.holds:
                continue
            column = getattr(self.model, spec.column_name(field))
            if spec.local:  # the id is stored: the target is the id under the collection's path
                ids = [p.id for p in parsed if p.collection_path == spec.target]
                if not ids:
                    continue
                match, target = column.in_(ids), literal(spec.target + "/") + column
            else:
                match, target = column.in_(list(targets)), column
            selects.append(
                self.base_select(ctx.principal)
                .with_only_columns(
                    (literal(self.path + "/") + self.model.id).label("href"),
                    literal(field).label("field"),
                    target.label("target"),
                )
                .where(match, *([self.in_use_where()] if in_use else []))
            )
        return selects

    async def check_unique(self, ctx: RequestContext, obj: M | None, values: Mapping[str, Any]) -> None:
        """409 when a value of a ``unique`` column is already taken (the constraint backs this up)."""
        for column in self.unique:
            value = values.get(column)
            if value is None or (obj is not None and getattr(obj, column) == value):
                continue
            taken = await ctx.session.scalar(select(self.model.id).where(getattr(self.model, column) == value))
            if taken is not None:
                raise Conflict(f"{self.kind} {column} {value!r} is already taken (by {self.href(taken)})")

    async def check_references(
        self, ctx: RequestContext, data: Mapping[str, Any], loc: str = "body", record: M | None = None
    ) -> None:
        """External references are checked with their owner (one batch per collection, the caller's
        token) before any transaction starts. A new reference must point at a live resource (an
        archived one is 422); one the stored ``record`` already holds stays as it is."""
        external = [
            ([loc, field], value["href"])
            for field, value in data.items()
            if field in self.references and not self.references[field].local and isinstance(value, Mapping)
        ]
        kept = {
            value["href"]
            for field, value in data.items()
            if record is not None
            and field in self.references
            and isinstance(value, Mapping)
            and getattr(record, self.references[field].column_name(field)) == value["href"]
        }
        await ctx.upstreams.check(external, ctx.principal, live=True, kept=kept)

    async def check_local_references(
        self, ctx: RequestContext, values: Mapping[str, Any], obj: M | None = None
    ) -> None:
        """Local references in the write transaction: unknown (or hidden) 422; a new one to an
        archived resource 422 too (one ``obj`` already holds stays)."""
        errors = []
        for field, spec in self.references.items():
            if not spec.local:
                continue
            column = spec.column_name(field)
            value = values.get(column)
            if value is None:
                continue
            target = COLLECTIONS.get(spec.target)
            found = await target.find(ctx, value) if target is not None else None
            if found is None:
                errors.append(
                    {
                        "loc": ["body", field],
                        "msg": f"no such resource: {spec.target}/{value}",
                        "type": "reference_not_found",
                    }
                )
            elif found.status == ARCHIVED and (obj is None or getattr(obj, column) != value):
                errors.append(archived_reference(["body", field], f"{spec.target}/{value}"))
        if errors:
            fields = ", ".join(e["loc"][1] for e in errors)
            raise ValidationProblem(f"{reference_problem(errors)} in {fields}", errors=errors)

    # --- the write step, inside the request's transaction ------------------------------------

    async def record(self, ctx: RequestContext, obj: M, action: str, changes: dict[str, list[Any]]) -> None:
        """The change-feed event of a write, in the same transaction."""
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
        """Create a row from column values: local references, uniqueness and domain rules, then the
        row and its event. Who may do it was decided before (the pipeline, or the service's own work)."""
        values = {**values}
        values.setdefault("id", new_id())
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
        await self.after_insert(ctx, obj)
        return obj

    async def apply(self, ctx: RequestContext, obj: M, values: dict[str, Any], *, action: str = "updated") -> M:
        """Change a loaded row under the domain rules: local references, uniqueness, ``validate``,
        then the compare-and-swap and its event."""
        await self.check_local_references(ctx, values, obj)
        await self.check_unique(ctx, obj, values)
        await self.validate(ctx, obj, values)
        return await self.change(ctx, obj, values, action=action)

    async def change(
        self,
        ctx: RequestContext,
        obj: M,
        values: dict[str, Any],
        *,
        action: str = "updated",
        notes: Mapping[str, Any] | None = None,
    ) -> M:
        """Apply column values to a loaded row as one audited compare-and-swap (no rules). ``notes``
        are recorded in the event beside the changes, as ``[null, value]`` (why it was archived)."""
        before = self.snapshot(obj)
        for column, value in values.items():
            setattr(obj, column, value)
        after = self.snapshot(obj)
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return obj
        changes.update({k: [None, _jsonable(v)] for k, v in (notes or {}).items()})
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
