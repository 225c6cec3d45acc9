"""Who still holds a resource in use: asked by the write pipeline before it archives anything.

Every service answers for its own data (``GET /v1/references?target=<href>&in_use=true``); the
service that archives asks the others through its upstream client with its own identity (so that
classified referrers count too), and itself in its write transaction, after the record is locked.
An unreachable service makes the archive 503: an answer with a service missing would read as
"nobody points at it" and archive what is still in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select, union_all

from services.chassis.auth import Principal
from services.chassis.credentials import ServiceCredentials
from services.chassis.errors import Conflict
from services.chassis.resources.collection import Collection
from services.chassis.tasks import gather

if TYPE_CHECKING:
    from services.chassis.uow import RequestContext


def referencing(
    collections: Sequence[Collection[Any]], ctx: RequestContext, targets: Sequence[str], *, in_use: bool = False
) -> Select[Any] | None:
    """One select of (href, field, target) over every row of ``collections`` that points at one of
    ``targets`` (as ``ctx.principal`` may see them); None when no collection can point at any."""
    selects = [s for c in collections for s in c.pointing_at(ctx, targets, in_use=in_use)]
    if not selects:
        return None
    union = union_all(*selects).subquery()
    return select(union.c.href, union.c.field, union.c.target).order_by(union.c.href, union.c.field, union.c.target)


@dataclass(frozen=True)
class Referrer:
    href: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {"href": self.href, "field": self.field}


def own_collections(ctx: RequestContext) -> list[Collection[Any]]:
    """The collections this service's app serves (those its ``/v1/references`` answers for)."""
    served: dict[str, Collection[Any]] = ctx.require_request().app.state.collections
    return list(served.values())


async def service_principal(ctx: RequestContext) -> Principal:
    """This service's own identity (cleared for everything: it counts, it does not show)."""
    credentials: ServiceCredentials = ctx.require_request().app.state.credentials
    return await credentials.principal()


async def elsewhere(ctx: RequestContext, target: str, principal: Principal) -> list[Referrer]:
    """What the other services hold in use of ``target``, as ``principal`` may see it; every
    service at once, every page; 503 when one cannot be reached."""
    own = f"/{ctx.settings.service}"
    prefixes = [prefix for prefix in ctx.upstreams.table if prefix != own]
    params = [("target", target), ("in_use", "true")]
    pages = await gather(*(ctx.upstreams.list_all(f"{prefix}/v1/references", principal, params) for prefix in prefixes))
    return [
        Referrer(item["href"], item["field"])
        for page in pages
        for item in page
        if isinstance(item.get("href"), str) and isinstance(item.get("field"), str)
    ]


async def here(ctx: RequestContext, target: str, principal: Principal) -> list[Referrer]:
    """What this service holds in use of ``target``, as ``principal`` may see it (in ``ctx``'s
    session: the write transaction)."""
    stmt = referencing(own_collections(ctx), dataclasses.replace(ctx, principal=principal), [target], in_use=True)
    if stmt is None:
        return []
    return [Referrer(row.href, row.field) for row in (await ctx.session.execute(stmt)).all()]


@dataclass
class InUse:
    """What holds a resource in use: everything (counted with the service's identity), and what
    the caller may see of it (listed in the 409)."""

    target: str
    remote: list[Referrer]
    remote_visible: list[Referrer]

    @classmethod
    async def ask_elsewhere(cls, ctx: RequestContext, target: str, *, force: bool) -> InUse:
        """Before the write transaction: the other services. A forced archive asks once (it only
        counts); one that may be refused also asks what the caller may see, to list it."""
        everything = await elsewhere(ctx, target, await service_principal(ctx))
        visible = everything if force or not everything else await elsewhere(ctx, target, ctx.principal)
        return cls(target, everything, visible)

    async def refuse_or_count(self, ctx: RequestContext, *, force: bool, kind: str) -> int:
        """In the write transaction: this service's own referrers too. 409 listing what the caller
        may see unless ``force``; returns how many resources hold the target in use."""
        local = await here(ctx, self.target, await service_principal(ctx))
        total = len(self.remote) + len(local)
        if total == 0 or force:
            return total
        shown = [*self.remote_visible, *(await here(ctx, self.target, ctx.principal))]
        listed = ", ".join(r.href for r in shown[:5]) + (" ..." if len(shown) > 5 else "")
        raise Conflict(
            f"this {kind} is still in use by {total} active resource(s)"
            + (f" ({listed})" if shown else "")
            + ": archive or move them first, or archive with force=true and a reason",
            extra={
                "referrers": [r.as_dict() for r in shown],
                "referrers_not_visible": max(total - len(shown), 0),
            },
        )
