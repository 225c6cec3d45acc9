"""The access log: every read by a chain partner, recorded by the service that owns the data.

Where a partner's read is let through and narrowed (``partners.answer``, run by every
``StrictRoute``), the service appends one entry to its access log before the answer is sent: who
(``sub``), which organisation (``partner_org``), what was read (method, public path and query),
which records (the hrefs on the page, or of the member) and which fields were shown, the status, when
(UTC) and the request's trace id. A read the partner was refused (403, 404, 422, ...) is recorded
too, with its status and no records: an auditor wants the attempts as well. Reads by anyone who is
not a partner are not recorded. The entry is written in its own short write transaction; when that
fails the read fails (a problem answer), so no read passes unrecorded.

The log is a hash chain like the change feed and anchored the same way (``audit.Chain``): its
head row serialises appends (``changes.take_head``), the service signs its head in checkpoints of
its own (``access_log_checkpoints``, feed ``<service>.access-log``), the other services witness
them, and ``GET /v1/access-log/verify`` runs the change feed's verification on it, with the same
findings. ``GET /v1/access-log`` is for auditors and admins: paged, filtered by partner, subject and
period, as JSON or CSV.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import BigInteger, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.responses import Response

from services.chassis.audit import Chain, Checkpoint
from services.chassis.auth import AUDITOR_ROLES, Principal, require_role
from services.chassis.canonical import canonical_digest, canonical_json
from services.chassis.changes import ChainHead, format_time, set_head, take_head
from services.chassis.db import ChassisBase, Database, UTCDateTime, utcnow
from services.chassis.errors import ValidationProblem
from services.chassis.exports import Accepted, Export
from services.chassis.pagination import Page, PageQuery, apply_keyset, next_link
from services.chassis.partners import Shown
from services.chassis.queries import strict_router
from services.chassis.telemetry import current_trace_id
from services.chassis.uow import Ctx

PATH = "/v1/access-log"


class AccessLogEntry(ChassisBase):
    """One read by a chain partner (or one refused), as the hash chain holds it."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_partner_org_seq", "partner_org", "seq"),
        Index("ix_access_log_subject_seq", "subject", "seq"),
        Index("ix_access_log_at", "at"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(200))
    partner_org: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    records: Mapped[str] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AccessLogHead(ChainHead, ChassisBase):
    """The access log's head."""

    __tablename__ = "access_log_head"


class AccessLogCheckpoint(Checkpoint, ChassisBase):
    """A signed statement of the access log's head."""

    __tablename__ = "access_log_checkpoints"


_HASHED = ("seq", "subject", "partner_org", "method", "path", "query", "status", "trace_id", "prev_hash")


def _values(entry: Any) -> dict[str, Any]:
    """Every column of an entry but its own hash, as the API shows it (and the hash covers it)."""
    values = {name: getattr(entry, name) for name in _HASHED}
    values.update(at=format_time(entry.at), records=json.loads(entry.records), fields=json.loads(entry.fields))
    return values


def entry_hash(entry: Any) -> str:
    """SHA-256 over the canonical JSON of every column of the entry but its own hash."""
    return canonical_digest(_values(entry))


ACCESS_LOG = Chain(
    name="access-log",
    title="the access log",
    entries=AccessLogEntry,
    head=AccessLogHead,
    checkpoints=AccessLogCheckpoint,
    digest=entry_hash,
    state="access_log",
    suffix=".access-log",
)


class AccessLog:
    """A service's access log (``app.state.access_log``): ``partners.answer`` records through it."""

    def __init__(self, service: str) -> None:
        self.prefix = f"/{service}"

    async def record(self, request: Request, principal: Principal, status: int, shown: Shown | None) -> None:
        """Append the entry in a short transaction of its own, committed before the answer is sent."""
        db: Database = request.app.state.db
        async with db.session(write=True) as session:
            seq, prev_hash = await take_head(session, AccessLogHead)
            entry = AccessLogEntry(
                seq=seq,
                at=utcnow(),
                subject=principal.sub,
                partner_org=principal.partner_org or "",
                method=request.method,
                path=self.prefix + request.url.path,
                query=request.url.query,
                status=status,
                records=canonical_json(list(shown.records) if shown else []),
                fields=canonical_json(list(shown.fields) if shown else []),
                trace_id=current_trace_id(),
                prev_hash=prev_hash,
            )
            entry.hash = entry_hash(entry)
            session.add(entry)
            await set_head(session, AccessLogHead, entry.hash)


# --- the API -----------------------------------------------------------------------------------------

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def _instant_text(value: Any) -> Any:
    """An instant as ISO 8601 with its offset: pydantic would also take ``0`` as seconds since 1970."""
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return value
    raise PydanticCustomError("datetime_format", "Input should be a time with its offset, e.g. 2026-11-28T10:00:00Z")


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise PydanticCustomError("datetime_range", "Input is outside the years a time can be in UTC") from exc


Instant = Annotated[dt.datetime, BeforeValidator(_instant_text), AfterValidator(_in_utc)]


class AccessLogQuery(PageQuery):
    partner: str | None = Field(default=None, max_length=120, description="Only reads by this organisation.")
    subject: str | None = Field(default=None, max_length=200, description="Only reads by this `sub`.")
    from_: Instant | None = Field(
        default=None, alias="from", description="Only reads at or after this time (ISO 8601 with offset)."
    )
    to: Instant | None = Field(default=None, description="Only reads before this time (ISO 8601 with offset).")


class AccessLogRead(BaseModel):
    seq: int = Field(description="The entry's place in the log's hash chain.")
    at: str = Field(description="When, UTC, ISO 8601.")
    subject: str = Field(description="The partner's `sub`.")
    partner_org: str = Field(description="The partner's organisation (`partner_org`).")
    method: str
    path: str = Field(description="What was read: the public path (through the gateway).")
    query: str = Field(description="The query string as sent.")
    status: int = Field(description="The answer's status; a refused read has no records.")
    records: list[str] = Field(description="The hrefs of the records shown: the page of a list, or the member.")
    fields: list[str] = Field(description="The fields shown (the partner's scope).")
    trace_id: str | None = Field(description="The request's trace (its `X-Trace-Id`).")
    prev_hash: str
    hash: str = Field(description="SHA-256 over this entry and prev_hash.")


class AccessLogPage(Page[AccessLogRead]):
    pass


def to_read(entry: AccessLogEntry) -> AccessLogRead:
    return AccessLogRead(**_values(entry), hash=entry.hash)


EXPORT = Export(filename="access-log", sections=("items",), coverage=False)


def access_log_router(public_prefix: str) -> APIRouter:
    router = strict_router(tags=["changes"])

    @router.get(
        PATH,
        response_model=AccessLogPage,
        summary="Read the access log of partner reads",
        dependencies=[Depends(require_role(*AUDITOR_ROLES))],
        description=(
            "For auditors and admins. Every read a chain partner made of this service's data, oldest "
            "first: who (`subject`, `partner_org`), what (`method`, `path`, `query`), which records and "
            "fields were shown, the status (refused reads are there too, with no records), when, and "
            "the request's trace id. Filters, combined with AND: `partner` (organisation), `subject`, "
            "and the period `from` (inclusive) and `to` (exclusive), times with their offset. The log is "
            "a hash chain anchored like the change feed: `/v1/access-log/verify`."
        )
        + EXPORT.note,
        responses=EXPORT.responses(AccessLogPage, 400, 401, 403, 422, description="A page of the log."),
    )
    async def read_access_log(
        ctx: Ctx, request: Request, query: Annotated[AccessLogQuery, Query()], media: Accepted
    ) -> Response:
        if query.from_ is not None and query.to is not None and query.from_ > query.to:
            raise ValidationProblem.field(["query", "from"], "the period's `from` lies after its `to`")
        stmt = select(AccessLogEntry)
        if query.partner is not None:
            stmt = stmt.where(AccessLogEntry.partner_org == query.partner)
        if query.subject is not None:
            stmt = stmt.where(AccessLogEntry.subject == query.subject)
        if query.from_ is not None:
            stmt = stmt.where(AccessLogEntry.at >= query.from_)
        if query.to is not None:
            stmt = stmt.where(AccessLogEntry.at < query.to)
        rows = (await ctx.session.scalars(apply_keyset(stmt, [AccessLogEntry.seq], query))).all()
        items = [to_read(row) for row in rows[: query.limit]]
        more = next_link(request, public_prefix, [items[-1].seq]) if len(rows) > query.limit else None
        return await EXPORT.respond(ctx, media, AccessLogPage(items=items, next=more))

    return router
