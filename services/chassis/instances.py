"""Which processes of a service are alive: each instance writes a heartbeat into the service's own
database, so that work it holds (an Idempotency-Key in flight) is released within seconds of its
death instead of waiting for a timeout meant for slow requests.

An instance is identified as ``host:pid:random``; it beats every ``IV_INSTANCE_HEARTBEAT_SECONDS``
(default 2) while the service runs, and on every reservation it makes. One that has not beaten for
``IV_INSTANCE_LOST_SECONDS`` (default 6) is taken for dead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid

from sqlalchemy import String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import ChassisBase, Database, UTCDateTime, utcnow

logger = logging.getLogger("iv.instances")


class InstanceBeat(ChassisBase):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def new_instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def beat(session: AsyncSession, instance: str) -> None:
    """Say, in the caller's transaction, that ``instance`` is alive now."""
    now = utcnow()
    seen = await session.execute(
        update(InstanceBeat)
        .where(InstanceBeat.id == instance)
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if not seen.rowcount:  # type: ignore[attr-defined]
        session.add(InstanceBeat(id=instance, started_at=now, seen_at=now))
        await session.flush()


async def is_alive(session: AsyncSession, instance: str | None, lost_after: dt.timedelta) -> bool:
    """Whether ``instance`` has beaten recently (an unknown or missing one is not alive)."""
    if instance is None:
        return False
    seen = await session.scalar(select(InstanceBeat.seen_at).where(InstanceBeat.id == instance))
    return seen is not None and seen >= utcnow() - lost_after


async def keep_beating(db: Database, instance: str, every: float) -> None:
    """The background task: a heartbeat every ``every`` seconds, for as long as the service runs."""
    while True:
        try:
            async with db.session(write=True) as session:
                await beat(session, instance)
        except Exception:
            logger.exception("the heartbeat of %s failed", instance)
        await asyncio.sleep(every)
