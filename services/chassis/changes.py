"""The change feed: a transactional outbox that is also a tamper-evident audit trail.

Every create, update and archive appends one event in the same transaction as the change itself.
Events form a SHA-256 hash chain; appends are serialised through the single-row ``change_head``
table (its row lock on PostgreSQL, the write lock on SQLite), so no two writers ever take the
same predecessor. Signed checkpoints and witnesses anchor the chain outside the database, and
verification lives with them: ``services.chassis.audit``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.auth import CLEARANCES, Principal, clearance_rank
from services.chassis.canonical import canonical_digest, canonical_json
from services.chassis.change_stream import (
    STREAM_BATCH,
    STREAM_RESPONSE,
    ChangeStreamResponse,
    StreamItem,
    StreamSlots,
    follow,
)
from services.chassis.db import ChassisBase, Database, UTCDateTime, utcnow
from services.chassis.errors import ValidationProblem, problem_responses
from services.chassis.pagination import MAX_LIMIT
from services.chassis.queries import strict_router
from services.chassis.settings import ServiceSettings
from services.chassis.statements import StatementCache
from services.chassis.uow import CurrentPrincipal, ReadSession

GENESIS_HASH = "0" * 64
FEED_HEAD_HEADER = "X-Feed-Head"
"""The seq of the feed's newest event, on every page: how far behind a follower is."""
MAX_SEQ = 2**63 - 1


class ChangeEvent(ChassisBase):
    __tablename__ = "change_events"
    # The feed filtered by type, in seq order: one range of this index, no sort.
    __table_args__ = (Index("ix_change_events_type_seq", "type", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    type: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    changes: Mapped[str] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChangeSubject(ChassisBase):
    """Who may see each subject *now*. An event keeps the classification its resource had when it
    was written (it is part of the hash); a resource classified higher later must take its history
    along, so the feed also checks this row, kept current in every write's transaction."""

    __tablename__ = "change_subjects"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))


class ChainHead:
    """The columns of a hash chain's head: one row (id 1), the last entry's seq and hash. Updating
    it serialises appends (``take_head``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class ChangeHead(ChainHead, ChassisBase):
    """The change feed's head."""

    __tablename__ = "change_head"


_HEAD_STATEMENTS = StatementCache()


def _head_statements(head: type[ChainHead]) -> tuple[Any, Any]:
    """The two statements of a chain's head (taking the next seq; naming the entry appended),
    built once per head: every write runs them, and building them cost more than running them."""

    def build() -> tuple[Any, Any]:
        take = (
            update(head)
            .where(head.id == 1)
            .values(seq=head.seq + 1)
            .returning(head.seq, head.hash)
            .execution_options(synchronize_session=False)
        )
        name = (
            update(head)
            .where(head.id == 1)
            .values(hash=bindparam("new_hash", required=True))
            .execution_options(synchronize_session=False)
        )
        return take, name

    return _HEAD_STATEMENTS.get(f"{head.__module__}.{head.__qualname__}", build)


async def take_head(session: AsyncSession, head: type[ChainHead]) -> tuple[int, str]:
    """The next seq of a chain and its predecessor's hash, inside the caller's transaction. The
    head row's update holds its row lock on PostgreSQL (the write lock on SQLite) until the
    transaction ends, so no two writers, in any process, take the same predecessor."""
    taken = await session.execute(_head_statements(head)[0])
    row = taken.one_or_none()
    if row is None:
        raise RuntimeError(f"{getattr(head, '__tablename__', head)} is missing: the database was not migrated")
    return int(row[0]), str(row[1])


async def set_head(session: AsyncSession, head: type[ChainHead], hash: str) -> None:
    """The head names the entry just appended (``take_head`` gave it its seq)."""
    await session.execute(_head_statements(head)[1], {"new_hash": hash})


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class EventFields(Protocol):
    """What the hash covers: a ``ChangeEvent``, or a row of its columns (verification reads those)."""

    seq: int
    type: str
    subject: str
    actor: str
    at: dt.datetime
    version: int
    changes: str
    classification: str | None
    visible_to_unit: str | None
    prev_hash: str


def event_hash(event: EventFields) -> str:
    material = {
        "seq": event.seq,
        "type": event.type,
        "subject": event.subject,
        "actor": event.actor,
        "at": format_time(event.at),
        "version": event.version,
        "changes": json.loads(event.changes),
        "classification": event.classification,
        "visible_to_unit": event.visible_to_unit,
        "prev_hash": event.prev_hash,
    }
    return canonical_digest(material)


_SUBJECT_CLASSIFIED = (
    update(ChangeSubject)
    .where(ChangeSubject.subject == bindparam("of_subject", required=True))
    .values(classification=bindparam("new_classification"), visible_to_unit=bindparam("new_unit"))
    .execution_options(synchronize_session=False)
)
"""A subject's classification as of its latest event (``append_event``), built once."""


async def append_event(
    session: AsyncSession,
    *,
    type: str,
    subject: str,
    actor: str,
    version: int,
    changes: dict[str, list[Any]],
    classification: str | None = None,
    visible_to_unit: str | None = None,
) -> ChangeEvent:
    """Append one event to the chain inside the caller's transaction."""
    seq, prev_hash = await take_head(session, ChangeHead)
    event = ChangeEvent(
        seq=seq,
        type=type,
        subject=subject,
        actor=actor,
        at=utcnow(),
        version=version,
        changes=canonical_json(changes),
        classification=classification,
        visible_to_unit=visible_to_unit,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    await set_head(session, ChangeHead, event.hash)
    # Appends are serialised by the head row above, so update-then-insert cannot race.
    current = await session.execute(
        _SUBJECT_CLASSIFIED,
        {"of_subject": subject, "new_classification": classification, "new_unit": visible_to_unit},
    )
    if not current.rowcount:  # type: ignore[attr-defined]
        session.add(ChangeSubject(subject=subject, classification=classification, visible_to_unit=visible_to_unit))
        await session.flush()  # sessions do not autoflush: the next event about it must find the row
    return event


def _cleared(principal: Principal, classification: Any, unit: Any) -> ColumnElement[bool]:
    allowed = [c for c in CLEARANCES if clearance_rank(c) <= clearance_rank(principal.clearance)]
    clauses: list[ColumnElement[bool]] = [classification.is_(None), classification.in_(allowed)]
    if principal.unit:
        clauses.append(unit == principal.unit)
    return or_(*clauses)


def visible_events(principal: Principal) -> ColumnElement[bool] | None:
    """Need to know applies to the feed too: an event shows only if its resource was visible to the
    caller when it was written *and* is visible now (see ChangeSubject). Used with an outer join on
    ``change_subjects``."""
    if principal.is_admin:
        return None
    then = _cleared(principal, ChangeEvent.classification, ChangeEvent.visible_to_unit)
    now = or_(
        ChangeSubject.subject.is_(None),
        _cleared(principal, ChangeSubject.classification, ChangeSubject.visible_to_unit),
    )
    return and_(then, now)


class ChangeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 42,
                    "type": "chains.updated",
                    "subject": "/valuechains/v1/chains/0192f1b2-7c3d-7abc-8def-0123456789ab",
                    "actor": "u123456",
                    "at": "2026-11-28T10:15:00.000000Z",
                    "version": 3,
                    "changes": {"mission": ["Old mission", "New mission"]},
                    "prev_hash": "9f2c...",
                    "hash": "1a7b...",
                }
            ]
        }
    )

    seq: int
    type: str = Field(description="`<collection>.created`, `.updated` or `.archived`.")
    subject: str = Field(description="href of the resource that changed.")
    actor: str = Field(description="The `sub` of the token that made the change.")
    at: str = Field(description="When, UTC, ISO 8601.")
    version: int = Field(description="The resource's version after the change.")
    changes: dict[str, list[Any]] = Field(description="Each changed field as [old, new].")
    prev_hash: str
    hash: str = Field(description="SHA-256 over this event and prev_hash.")


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next: str | None


def to_read(event: ChangeEvent) -> ChangeRead:
    return ChangeRead(
        seq=event.seq,
        type=event.type,
        subject=event.subject,
        actor=event.actor,
        at=format_time(event.at),
        version=event.version,
        changes=json.loads(event.changes),
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def feed_query(principal: Principal, *, after: int, subject: str | None, type: str | None) -> Select[ChangeEvent]:
    """The events after ``after`` the caller may see (need to know), filtered, in seq order: what
    the feed pages through and the stream follows."""
    stmt = select(ChangeEvent).where(ChangeEvent.seq > after)
    visibility = visible_events(principal)
    if visibility is not None:
        stmt = stmt.outerjoin(ChangeSubject, ChangeSubject.subject == ChangeEvent.subject).where(visibility)
    if subject:
        stmt = stmt.where(ChangeEvent.subject == subject)
    if type:
        stmt = stmt.where(ChangeEvent.type == type)
    return stmt.order_by(ChangeEvent.seq)


async def feed_head(session: AsyncSession) -> int:
    """The seq of the newest event (0 for an empty feed)."""
    return await session.scalar(select(ChangeHead.seq).where(ChangeHead.id == 1)) or 0


def changes_router(public_prefix: str) -> APIRouter:
    router = strict_router(tags=["changes"])

    @router.get(
        "/v1/changes",
        response_model=ChangePage,
        summary="Read the change feed",
        responses=problem_responses(401, 403, 422),
        description=(
            "Every create, update and archive of this service, in order (the audit trail and the "
            "feed other systems follow instead of copying data). Page with `after` = the last "
            "`seq` you processed. Events of resources above your clearance are left out. "
            "`X-Feed-Head` carries the seq of the newest event: how far behind a follower is. "
            "`order=newest` reads it backwards instead, newest first (who changed what, lately): "
            "page with `before` = the last `seq` you read; `after` still bounds it from below."
        ),
    )
    async def read_changes(
        request: Request,
        response: Response,
        principal: CurrentPrincipal,
        session: ReadSession,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Return events with seq greater than this.")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        subject: Annotated[str | None, Query(max_length=200, description="Only events about this href.")] = None,
        type: Annotated[str | None, Query(max_length=80, description="Only events of this type.")] = None,
        order: Annotated[
            Literal["oldest", "newest"],
            Query(description="`oldest` (default): in seq order, paged with `after`; `newest`: newest first."),
        ] = "oldest",
        before: Annotated[
            int | None,
            Query(ge=1, le=MAX_SEQ, description="With `order=newest`: events with seq below this (the next page)."),
        ] = None,
    ) -> ChangePage:
        if before is not None and order != "newest":
            raise ValidationProblem.field(["query", "before"], "before pages a feed read with order=newest")
        stmt = feed_query(principal, after=after, subject=subject, type=type)
        if order == "newest":
            stmt = stmt.order_by(None).order_by(ChangeEvent.seq.desc())
            if before is not None:
                stmt = stmt.where(ChangeEvent.seq < before)
        rows = (await session.scalars(stmt.limit(limit + 1))).all()
        response.headers[FEED_HEAD_HEADER] = str(await feed_head(session))
        items = [to_read(e) for e in rows[:limit]]
        next_href = None
        if len(rows) > limit:
            cursor = "before" if order == "newest" else "after"
            params = [(k, v) for k, v in request.query_params.multi_items() if k != cursor]
            params.append((cursor, str(items[-1].seq)))
            next_href = f"{public_prefix}{request.url.path}?{urlencode(params)}"
        return ChangePage(items=items, next=next_href)

    slots = StreamSlots()  # of this app (each app includes a router of its own)

    @router.get(
        "/v1/changes/stream",
        summary="Follow the change feed live",
        response_class=ChangeStreamResponse,
        status_code=200,
        responses={**STREAM_RESPONSE, **problem_responses(400, 401, 403, 422, 429)},
        description=(
            "The change feed as server-sent events, as they happen: each event's `id` is its `seq`, "
            "`event` its `type` and `data` the event as `/v1/changes` lists it. Only events you may "
            "see are sent (as in `/v1/changes`). Without `after` the stream starts at the feed's "
            "head (only what happens from now on); `after=0` starts at the beginning. To resume, "
            "send `Last-Event-ID` with the last `id` you received (an `EventSource` does so "
            "itself): it takes precedence over `after`, and the stream goes on after that event "
            "with nothing repeated and nothing left out. A comment (`: keep-alive`) is sent every "
            "`IV_STREAM_HEARTBEAT_SECONDS` (15) while nothing happens. The stream ends when your "
            "token expires: come back with a new one and `Last-Event-ID`. One caller may hold "
            "`IV_STREAM_MAX_PER_CALLER` (3) streams at once per instance; the next is 429."
        ),
    )
    async def stream_changes(
        request: Request,
        principal: CurrentPrincipal,
        after: Annotated[
            int | None,
            Query(ge=0, le=MAX_SEQ, description="Send events with seq greater than this (default: the head, now)."),
        ] = None,
        subject: Annotated[str | None, Query(max_length=200, description="Only events about this href.")] = None,
        type: Annotated[str | None, Query(max_length=80, description="Only events of this type.")] = None,
        last_event_id: Annotated[
            int | None,
            Header(alias="Last-Event-ID", ge=0, le=MAX_SEQ, description="The last `id` received: resume after it."),
        ] = None,
    ) -> ChangeStreamResponse:
        settings: ServiceSettings = request.app.state.settings
        db: Database = request.app.state.db
        release = slots.take(principal.sub, settings.stream_max_per_caller)
        start = last_event_id if last_event_id is not None else after
        try:
            if start is None:
                async with db.session(write=False) as session:
                    start = await feed_head(session)
        except BaseException:
            release()
            raise

        async def read_batch(cursor: int) -> tuple[list[StreamItem], int]:
            # A short transaction per batch, never held while the stream waits. The head is read
            # first: every event up to it has committed, so none can appear behind the cursor.
            # A client going away ends the stream after the batch, not in the middle of its transaction.
            with anyio.CancelScope(shield=True):
                async with db.session(write=False) as session:
                    head = await feed_head(session)
                    stmt = feed_query(principal, after=cursor, subject=subject, type=type)
                    rows = (await session.scalars(stmt.where(ChangeEvent.seq <= head).limit(STREAM_BATCH))).all()
            items = [StreamItem(e.seq, e.type, to_read(e).model_dump_json()) for e in rows]
            full = len(items) == STREAM_BATCH
            return items, items[-1].seq if full else head

        return ChangeStreamResponse(
            follow(read_batch, start, settings.stream_poll_seconds, until=principal.expires_at),
            heartbeat=settings.stream_heartbeat_seconds,
            release=release,
        )

    return router
