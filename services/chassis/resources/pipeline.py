"""The write pipeline: one order for every create, update, archive and custom action.

1. authenticate (401)
2. authorize: the role (403), then the stored record it acts on, or the parent it is kept under,
   is read (404 when it does not exist for the caller) and the collection's rules on it run (403)
3. the stored record's state: a closed round is frozen, an archived chain takes nothing new (409)
4. idempotency: a retried POST with a completed ``Idempotency-Key`` replays its first answer
5. preconditions: ``If-Match`` / ``If-None-Match`` against the stored version (428, 400, 412)
6. the body is validated (422), and the rules that need it to authorize (403)
7. references are checked with their owners, before any transaction (422, 503); an archive asks
   every other service what still holds the record in use (503 when one cannot be reached)
8. in the write transaction: the record again, then the domain rules on the values (422, 409); an
   archive asks this service too, and what holds the record in use makes it 409 unless forced
9. the write, as a compare-and-swap, and its change-feed event in the same transaction
10. commit, at the request boundary, before the answer is sent

Steps 1-5 run before FastAPI reads the body (``routers.guarded``), so a caller without the right
learns nothing about the schema and costs no call to another service, and a request that cannot
succeed whatever its body (a frozen round, a stale version) says so first. A service's own work
(demo data, following feeds) calls the same functions without an HTTP request: they then admit the
operation themselves. Step 8 re-reads the record in the write transaction; if it moved since it was
admitted, authorization, its state and the precondition are checked again on what is there now.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from services.chassis.auth import Principal
from services.chassis.concurrency import (
    check_version,
    etag,
    optional_version,
    required_version,
    wants_create_only,
)
from services.chassis.errors import Conflict, NotFound, PreconditionFailed, ValidationProblem
from services.chassis.resources.collection import Collection, reject_nulls
from services.chassis.resources.model import ARCHIVED
from services.chassis.resources.referrers import InUse

if TYPE_CHECKING:
    from services.chassis.uow import RequestContext


class Precondition(enum.Enum):
    NONE = "none"
    """Creates: there is nothing to be stale."""
    REQUIRED = "required"
    """PATCH and replacing actions: ``If-Match`` must name the current version (428 without)."""
    OPTIONAL = "optional"
    """DELETE and custom actions: when ``If-Match`` is sent it must match."""
    PUT = "put"
    """Create or replace: none needed to create (``If-None-Match: *`` honoured), required to replace."""


@dataclass(frozen=True)
class Operation:
    """One kind of write on a collection, as the pipeline runs it."""

    collection: Collection[Any]
    action: str
    """``create``, ``update``, ``archive``, or a custom action (``open``, ``decide``, ...)."""
    precondition: Precondition = Precondition.NONE
    parent: Collection[Any] | None = None
    """The collection of the resource the path names first, which this one is created or kept under."""
    parent_column: str | None = None
    """The column of this collection that holds the parent's id."""
    parent_param: str = "id"
    id_param: str | None = "id"
    """The path parameter naming the record acted on; None when there is none (creates)."""
    lock_parent: bool = False
    """Lock the parent row in the write transaction (writes under it serialise on it)."""

    @property
    def acts_on_record(self) -> bool:
        return self.id_param is not None


@dataclass
class Admission:
    """What steps 1-4 established; the write steps build on it."""

    operation: Operation
    principal: Principal
    record: Any | None = None
    parent: Any | None = None
    expected: int | None = None
    """The version ``If-Match`` named, when one was given."""


async def authorize(ctx: RequestContext, op: Operation, params: Mapping[str, str]) -> Admission:
    """Steps 2 and 3: the role, then the stored record (or parent), the rules on it and its state.
    ``ctx.session`` is a read session; nothing is written."""
    coll, principal = op.collection, ctx.principal
    coll.require_role(principal, op.action)
    parent = await op.parent.get(ctx, params[op.parent_param]) if op.parent is not None else None
    record = None
    if op.acts_on_record:
        assert op.id_param is not None
        record = await coll.locate(ctx, parent, params, op.id_param)
        if record is None and op.precondition is not Precondition.PUT:
            raise NotFound(f"no {coll.kind} {params[op.id_param]}")
    coll.authorize(principal, op.action, record=record, parent=parent)
    admission = Admission(op, principal, record=record, parent=parent)
    check_state(admission, parent, record)
    return admission


def check_state(admission: Admission, parent: Any | None, record: Any | None) -> None:
    """Step 3: the state of the parent and of the record allow the action (archiving what is already
    archived is allowed: it changes nothing)."""
    op = admission.operation
    if parent is not None and op.parent is not None:
        op.parent.check_children(parent, op.action, op.collection)
    if record is not None and not (op.action == "archive" and record.status == ARCHIVED):
        op.collection.check_state(record, op.action)


def check_preconditions(admission: Admission, if_match: str | None, if_none_match: str | None) -> None:
    """Step 4, against the version that was authorized."""
    record, kind = admission.record, admission.operation.precondition
    if kind is Precondition.REQUIRED:
        admission.expected = required_version(if_match)
    elif kind is Precondition.OPTIONAL:
        admission.expected = optional_version(if_match)
    elif kind is Precondition.PUT:
        create_only = wants_create_only(if_none_match)
        noun = admission.operation.collection.kind
        if record is None:
            if if_match is not None:
                raise PreconditionFailed(f"there is no {noun} here yet, so If-Match cannot match")
            return
        if create_only:
            raise PreconditionFailed(
                f"If-None-Match: * but this {noun} already exists (version {record.version})",
                headers={"ETag": etag(record.version)},
            )
        admission.expected = required_version(if_match)
    if admission.expected is not None and record is not None:
        check_version(record.version, admission.expected)


async def admit(
    ctx: RequestContext,
    op: Operation,
    params: Mapping[str, str] | None = None,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> Admission:
    """The admission of this request, made by the route's guard; or, for a service's own work
    without a request, steps 2 and 4 now."""
    admitted = ctx.admission
    if admitted is not None and admitted.operation is op:
        return admitted
    admission = await authorize(ctx, op, params or {})
    check_preconditions(admission, if_match, if_none_match)
    return admission


async def _now(ctx: RequestContext, adm: Admission, *, lock: bool = False) -> Any | None:
    """Step 8: the parent and the record in the write transaction. What moved since it was admitted
    is authorized, its state and the precondition checked, again on what is there now. Returns the
    record (None for a create)."""
    op = adm.operation
    parent = None
    if op.parent is not None and adm.parent is not None:
        parent = await op.parent.get(ctx, adm.parent.id, lock=op.lock_parent)
    obj = None
    if adm.record is not None:
        obj = await op.collection.get(ctx, adm.record.id, lock=lock)
    moved = (parent is not None and parent.version != getattr(adm.parent, "version", None)) or (
        obj is not None and obj.version != getattr(adm.record, "version", None)
    )
    if moved:
        op.collection.authorize(adm.principal, op.action, record=obj, parent=parent)
        if obj is not None and adm.expected is not None:
            check_version(obj.version, adm.expected)
        check_state(adm, parent, obj)
    return obj


async def create(ctx: RequestContext, op: Operation, body: BaseModel, params: Mapping[str, str] | None = None) -> Any:
    """Create from a request body (under the parent the path names, for a nested collection)."""
    adm = await admit(ctx, op, params)
    coll = op.collection
    data = body.model_dump(exclude_unset=False)
    values = coll.to_columns(data)
    if adm.parent is not None and op.parent_column is not None:
        values[op.parent_column] = adm.parent.id
    coll.authorize_values(adm.principal, op.action, None, values)
    values.update(await coll.prepare(ctx, op.action, None, data))
    await _now(ctx, adm)
    return await coll.insert(ctx, values)


async def update(
    ctx: RequestContext,
    op: Operation,
    body: BaseModel,
    params: Mapping[str, str] | None = None,
    *,
    if_match: str | None = None,
) -> Any:
    """Change the fields a body sends (PATCH)."""
    adm = await admit(ctx, op, params, if_match=if_match)
    coll = op.collection
    data = body.model_dump(exclude_unset=True)
    reject_nulls(coll, data)
    values = coll.to_columns(data)
    coll.authorize_values(adm.principal, op.action, adm.record, values)
    values.update(await coll.prepare(ctx, op.action, adm.record, data))
    obj = await _now(ctx, adm)
    return await coll.apply(ctx, obj, values)


async def archive(
    ctx: RequestContext,
    op: Operation,
    params: Mapping[str, str] | None = None,
    *,
    if_match: str | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Any:
    """Archive (DELETE never deletes); archiving an archived resource changes nothing.

    What still holds the record in use is asked after authorization: the other services before the
    write transaction (503 when one cannot be reached), this one in it, with the record locked. Any
    active referrer makes it 409 listing them, unless ``force`` (which needs a ``reason``): then they
    stay, and the event records ``forced``, ``archive_reason`` and how many there were."""
    adm = await admit(ctx, op, params, if_match=if_match)
    coll = op.collection
    if force and not reason:
        raise ValidationProblem.field(["query", "reason"], "force=true needs a reason", "missing")
    assert adm.record is not None, "archive acts on a record"
    in_use = None
    if adm.record.status != ARCHIVED:
        in_use = await InUse.ask_elsewhere(ctx, coll.href(adm.record.id), force=force)
    obj = await _now(ctx, adm, lock=True)
    assert obj is not None, "archive acts on a record"
    if obj.status == ARCHIVED:
        return obj
    if in_use is None:  # archived when admitted, restored since: ask now, still before any write
        raise Conflict(f"this {coll.kind} changed while it was being archived; try again")
    holders = await in_use.refuse_or_count(ctx, force=force, kind=coll.kind)
    notes: dict[str, Any] = {}
    if reason:
        notes["archive_reason"] = reason
    if force and holders:
        notes["forced"] = True
        notes["referrers"] = holders
    return await coll.change(ctx, obj, {"status": ARCHIVED}, action="archived", notes=notes)


Decision = Callable[[Any], Awaitable[dict[str, Any]]]
"""Given the record as it is in the write transaction, the column values an action sets (or a
409/422 when the domain forbids it)."""


async def act(
    ctx: RequestContext,
    op: Operation,
    decide: Decision,
    params: Mapping[str, str] | None = None,
    *,
    if_match: str | None = None,
    lock: bool = False,
    savepoint: bool = False,
) -> Any:
    """A custom action on one record (open a round, decide on an EBO, reassign an owner): the same
    steps as an update, with the values decided by the action from the record as it is now.

    ``savepoint`` runs the write in a savepoint, so that a unique constraint that catches a race
    leaves the transaction usable for saying who won (the ``Conflict`` it raises keeps the
    ``IntegrityError`` as its cause)."""
    adm = await admit(ctx, op, params, if_match=if_match)
    obj = await _now(ctx, adm, lock=lock)
    values = await decide(obj)
    if not savepoint:
        return await op.collection.change(ctx, obj, values)
    async with ctx.session.begin_nested():
        return await op.collection.change(ctx, obj, values)


async def put(
    ctx: RequestContext,
    op: Operation,
    decide: Callable[[Any | None], Awaitable[dict[str, Any]]],
    params: Mapping[str, str] | None = None,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> tuple[Any, bool]:
    """Create or replace the record the path names (PUT). Returns it and whether it was created."""
    adm = await admit(ctx, op, params, if_match=if_match, if_none_match=if_none_match)
    coll = op.collection
    obj = await _now(ctx, adm)
    if obj is None:
        values = await decide(None)
        coll.authorize_values(adm.principal, op.action, None, values)
        try:
            return await coll.insert(ctx, values), True
        except Conflict as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            # A concurrent PUT created it first: "it does not exist yet" no longer holds.
            raise PreconditionFailed(
                f"this {coll.kind} was created by someone else meanwhile; read it and send If-Match to replace it"
            ) from exc
    values = await decide(obj)
    coll.authorize_values(adm.principal, op.action, obj, values)
    return await coll.apply(ctx, obj, values), False


def operations(collection: Collection[Any], **nested: Any) -> dict[str, Operation]:
    """The standard operations of a collection: ``create``, ``update`` and ``archive``."""
    return {
        "create": Operation(collection, "create", id_param=None, **nested),
        "update": Operation(collection, "update", Precondition.REQUIRED, **nested),
        "archive": Operation(collection, "archive", Precondition.OPTIONAL, **nested),
    }
