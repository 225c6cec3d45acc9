"""The unit of work of one request: principal, session, idempotency key, and the reply.

Only this boundary commits: the session dependency commits a write after the handler returns and
before the response is sent (``scope="function"``), and rolls back on any error (and a read when it
ends: it has nothing to commit). Domain code only flushes.
Write routes are admitted before the body is read (``services.chassis.resources.pipeline``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.chassis.auth import CurrentPrincipal, Principal
from services.chassis.db import Database
from services.chassis.idempotency import Reservation
from services.chassis.references import Upstreams
from services.chassis.settings import S, ServiceSettings, settings_as

if TYPE_CHECKING:
    from services.chassis.resources.pipeline import Admission

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

__all__ = ["Ctx", "CurrentPrincipal", "DbSession", "ReadSession", "RequestContext"]


def _unit_of_work(request: Request) -> AbstractAsyncContextManager[AsyncSession]:
    """The request's session: a write transaction unless the method is safe."""
    db: Database = request.app.state.db
    return db.session(write=request.method not in SAFE_METHODS)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _unit_of_work(request) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSession = DbSession


@dataclass
class RequestContext:
    """Everything a handler (or a seed or background job) needs to do its work and answer."""

    principal: Principal
    session: AsyncSession
    settings: ServiceSettings
    upstreams: Upstreams
    request: Request | None = None
    reservation: Reservation | None = None
    admission: Admission | None = None
    """What the write guard established before the body was read (``resources.pipeline``)."""

    def settings_as(self, cls: type[S]) -> S:
        """The service's own settings, typed as its class: ``ctx.settings_as(PrinciplesSettings)``."""
        settings = settings_as(self.settings, cls)
        self.settings = settings  # completed once, not on every call
        return settings

    @property
    def public_prefix(self) -> str:
        return f"/{self.settings.service}"

    def require_request(self) -> Request:
        if self.request is None:
            raise RuntimeError("this operation needs an HTTP request")
        return self.request

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short read-only transaction beside the request's own, for reads that must happen before
        calling another service: the request's write transaction must not be open during such calls."""
        db: Database = self.require_request().app.state.db
        async with db.session(write=False) as session:
            yield session

    async def respond(
        self,
        content: BaseModel | Mapping[str, Any] | list[Any] | None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Build the reply; for an idempotent POST, store it with the work before commit."""
        if isinstance(content, BaseModel):
            body = content.model_dump_json().encode()
        else:
            import json

            body = json.dumps(jsonable_encoder(content), separators=(",", ":")).encode()
        response = Response(
            content=body if content is not None else b"",
            status_code=status,
            headers=dict(headers or {}),
            media_type="application/json",
        )
        if self.reservation is not None:
            await self.reservation.complete(self.session, response)
        return response


async def get_context(request: Request, principal: CurrentPrincipal) -> AsyncIterator[RequestContext]:
    # The write guard (services.chassis.resources.routers) took the Idempotency-Key and admitted the
    # operation before the body was read; the session commits when the handler returns, and the
    # guard then releases a key that was not completed. The context opens the session itself (as
    # ``get_session`` does), one dependant fewer to solve on every request.
    async with _unit_of_work(request) as session:
        yield request_context(request, principal, session)


def request_context(request: Request, principal: Principal, session: AsyncSession) -> RequestContext:
    """The context of a request in ``session`` (what the write guard established included)."""
    state = request.app.state
    return RequestContext(
        principal=principal,
        session=session,
        settings=state.settings,
        upstreams=state.upstreams,
        request=request,
        reservation=getattr(request.state, "reservation", None),
        admission=getattr(request.state, "admission", None),
    )


Ctx = Annotated[RequestContext, Depends(get_context, scope="function")]
