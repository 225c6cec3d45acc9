"""Idempotent POSTs: the same ``Idempotency-Key`` and body replays the first response.

A key is a row with a unique (actor, key), inserted and committed as *in flight* before the work
starts, so a concurrent request with the key finds it (409). The row is completed with the stored
response inside the work's own transaction: either both the change and its stored response are
committed, or neither is. A failed request releases the key so that a retry can run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.responses import Response

from services.chassis.auth import Principal
from services.chassis.db import ChassisBase, Database, UTCDateTime, utcnow
from services.chassis.errors import BadRequest, Conflict, ValidationProblem
from services.chassis.instances import beat, is_alive

logger = logging.getLogger("iv.idempotency")
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADERS = ("location", "etag", "content-type")


class IdempotencyRecord(ChassisBase):
    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # The instance working on it while in flight: once that instance stops beating, a retry may
    # take the key over at once (services.chassis.instances), without waiting for locked_until.
    holder: Mapped[str | None] = mapped_column(String(100))


class IdempotentReplay(Exception):
    """Raised before the handler runs when a completed key is retried: answer as the first time."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("idempotent replay")
        # Copied out now: the session that loaded the record is gone when the reply is built.
        self.status_code = record.status_code or 200
        self.headers: dict[str, str] = json.loads(record.headers or "{}")
        self.body = record.body or b""

    def response(self) -> Response:
        headers = {**self.headers, "Idempotent-Replayed": "true"}
        media_type = headers.pop("content-type", "application/json")
        return Response(content=self.body, status_code=self.status_code, headers=headers, media_type=media_type)


async def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path, query and the JSON body's content."""
    raw = await request.body()
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")) if raw else ""
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        body = raw.decode("latin-1")
    material = "\n".join([request.method, request.url.path, str(request.url.query), body])
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class Reservation:
    """A key this request holds while it works."""

    db: Database
    actor: str
    key: str
    taken_at: dt.datetime
    """When this request took the key: a fence, so that a request whose key was taken over by a
    retry (it ran past the in-flight lock) neither completes nor releases the retry's key."""
    completed: bool = field(default=False)

    def _mine(self) -> list[Any]:
        return [
            IdempotencyRecord.actor == self.actor,
            IdempotencyRecord.key == self.key,
            IdempotencyRecord.state == "in_flight",
            IdempotencyRecord.created_at == self.taken_at,
        ]

    async def complete(self, session: AsyncSession, response: Response) -> None:
        """Store the response in the work's transaction (called just before it commits)."""
        headers = {k: v for k, v in response.headers.items() if k.lower() in REPLAYED_HEADERS}
        stored = await session.execute(
            update(IdempotencyRecord)
            .where(*self._mine())
            .values(
                state="completed",
                status_code=response.status_code,
                headers=json.dumps(headers),
                body=bytes(response.body),
            )
            .execution_options(synchronize_session=False)
        )
        if stored.rowcount != 1:  # type: ignore[attr-defined]
            # Raising rolls this request's work back: the retry that took the key does it once.
            raise Conflict(
                "this request ran so long that a retry with its Idempotency-Key took over; its work was undone"
            )
        self.completed = True

    async def release(self) -> None:
        """Forget an in-flight key whose request failed, so that a retry can do the work."""
        async with self.db.session(write=True) as session:
            await session.execute(delete(IdempotencyRecord).where(*self._mine()))


async def _record(session: AsyncSession, actor: str, key: str) -> IdempotencyRecord | None:
    """The caller's record of ``key``, if there is one."""
    found: IdempotencyRecord | None = await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)
    )
    return found


async def reserve(
    db: Database,
    request: Request,
    *,
    actor: str,
    key: str,
    ttl: dt.timedelta,
    in_flight: dt.timedelta,
    holder: str | None = None,
    lost_after: dt.timedelta = dt.timedelta(seconds=6),
) -> Reservation:
    """Take the key, or raise: replay (completed), 409 (in flight), 422 (another request). A key in
    flight whose holder is no longer alive, or whose lock has lapsed, is taken over."""
    if not KEY_PATTERN.match(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
    print_ = await fingerprint(request)
    now = utcnow()
    record = IdempotencyRecord(
        actor=actor,
        key=key,
        fingerprint=print_,
        state="in_flight",
        created_at=now,
        locked_until=now + in_flight,
        expires_at=now + ttl,
        holder=holder,
    )
    try:
        async with db.session(write=True) as session:
            if holder is not None:
                await beat(session, holder)
            session.add(record)
        return Reservation(db, actor, key, now)
    except IntegrityError:
        pass

    async with db.session(write=True) as session:
        existing = await _record(session, actor, key)
        if existing is None:  # released between our insert and this read: the key is free again
            raise Conflict("the Idempotency-Key was just released by a failing request; retry")
        abandoned = existing.state == "in_flight" and (
            existing.locked_until < now
            or (existing.holder is not None and not await is_alive(session, existing.holder, lost_after))
        )
        if existing.expires_at < now or abandoned:
            taken = await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.actor == actor,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.fingerprint == existing.fingerprint,
                    IdempotencyRecord.created_at == existing.created_at,
                )
                .values(
                    fingerprint=print_,
                    state="in_flight",
                    status_code=None,
                    headers=None,
                    body=None,
                    created_at=now,
                    locked_until=now + in_flight,
                    expires_at=now + ttl,
                    holder=holder,
                )
                .execution_options(synchronize_session=False)
            )
            if holder is not None:
                await beat(session, holder)
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return Reservation(db, actor, key, now)
            raise Conflict("another request with this Idempotency-Key is in flight")
        if existing.fingerprint != print_:
            raise ValidationProblem(
                "this Idempotency-Key was already used for a different request; use a new key",
                errors=[
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "key reused with a different body",
                        "type": "idempotency_key_reused",
                    }
                ],
            )
        if existing.state == "in_flight":
            raise Conflict(
                "a request with this Idempotency-Key is still in flight; retry when it has finished",
                headers={"Retry-After": "1"},
            )
        raise IdempotentReplay(existing)


_RELEASING: set[asyncio.Task[None]] = set()


def release_later(reservation: Reservation, *, every: float = 0.5, attempts: int = 240) -> None:
    """Release ``reservation`` in the background, retrying until the database takes it (fenced by
    when it was taken: a retry's key is never touched)."""

    async def keep_trying() -> None:
        for _ in range(attempts):
            await asyncio.sleep(every)
            try:
                await reservation.release()
                return
            except SQLAlchemyError:
                logger.warning("releasing Idempotency-Key %r failed; retrying", reservation.key)

    task = asyncio.get_running_loop().create_task(keep_trying())
    _RELEASING.add(task)
    task.add_done_callback(_RELEASING.discard)


async def replay_if_completed(request: Request, principal: Principal) -> None:
    """Raise the replay of a completed key of this caller and request, if there is one: a retried
    request replays even when the stored record's state has moved on since (a round it closed)."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None or not KEY_PATTERN.match(key):
        return
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        existing = await _record(session, principal.sub, key)
    if (
        existing is not None
        and existing.state == "completed"
        and existing.expires_at >= utcnow()
        and existing.fingerprint == await fingerprint(request)
    ):
        raise IdempotentReplay(existing)


async def purge_expired(db: Database) -> int:
    async with db.session(write=True) as session:
        result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def reserve_for(request: Request, principal: Principal) -> Reservation | None:
    """The key a POST carries, taken for its caller (None without one, and for other methods).
    Raises like ``reserve``: replay, 409 in flight, 422 reused with another body."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return None
    settings = request.app.state.settings
    return await reserve(
        request.app.state.db,
        request,
        actor=principal.sub,
        key=key,
        ttl=dt.timedelta(seconds=settings.idempotency_ttl_seconds),
        in_flight=dt.timedelta(seconds=settings.idempotency_in_flight_seconds),
        holder=request.app.state.instance_id,
        lost_after=dt.timedelta(seconds=settings.instance_lost_seconds),
    )
