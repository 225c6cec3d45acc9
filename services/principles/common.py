"""Small helpers the domains of this service share."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.db import Database, utcnow
from services.chassis.uow import RequestContext


@asynccontextmanager
async def read_session(ctx: RequestContext) -> AsyncIterator[AsyncSession]:
    """A short read-only transaction beside the request's own, for reads that must happen before
    calling another service (the request's write transaction must not be open during such calls)."""
    db: Database = ctx.require_request().app.state.db
    async with db.session(write=False) as session:
        yield session


def today() -> dt.date:
    return utcnow().date()
