"""Rows that belong to a chain (teams, allocations): the chain's owner, or an admin, manages them."""

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from services.chassis.errors import Conflict, Forbidden
from services.chassis.resources import ARCHIVED, Collection, ResourceMixin
from services.chassis.uow import RequestContext
from services.valuechains.chains.models import Chain
from services.valuechains.chains.rules import ensure_manages


class ChainOwnedMixin(ResourceMixin):
    """A ``chain_id`` foreign key, with the chain loaded alongside (its owner decides who may write)."""

    chain_id: Mapped[str] = mapped_column(String(36), ForeignKey("chains.id"), index=True)

    @declared_attr
    def chain(cls) -> Mapped[Chain]:  # noqa: N805
        return relationship(Chain, lazy="joined", innerjoin=True)


CO = TypeVar("CO", bound=ChainOwnedMixin)

VERBS = {"create": "add to", "update": "change", "archive": "archive"}


class ChainScoped(Collection[CO]):
    """Writes need the admin role, or the chain_owner role as the owner of the row's chain. Moving a
    row to another chain (a new ``chain_id``) needs ownership of both chains, and the target chain
    must not be archived."""

    write_roles = ("chain_owner",)

    def authorize(self, ctx: RequestContext, action: str, obj: CO | None, values: Mapping[str, Any]) -> None:
        principal = ctx.principal
        if principal.is_admin:
            return
        verb = VERBS.get(action, action)
        if obj is None:
            # Creating: the target chain is checked in ``validate`` once it is known to exist.
            if not principal.has_role(*self.write_roles):
                raise Forbidden(f"{action} on {self.name} needs the chain_owner role (as the chain's owner) or admin")
            return
        ensure_manages(principal, obj.chain, f"{verb} the {self.name} of")

    async def validate(self, ctx: RequestContext, obj: CO | None, values: dict[str, Any]) -> None:
        chain_id = values.get("chain_id")
        if chain_id is None or (obj is not None and chain_id == obj.chain_id):
            return
        # Locked (on PostgreSQL) so that the chain cannot be archived between this check and the
        # commit: archiving it updates the same row and waits.
        chain = (await ctx.session.scalars(select(Chain).where(Chain.id == chain_id).with_for_update())).first()
        if chain is None:  # check_local_references has already answered 422
            return
        ensure_manages(
            ctx.principal,
            chain,
            f"add {self.name} to" if obj is None else f"move {self.name} into",
        )
        if chain.status == ARCHIVED:
            raise Conflict(f"chain {chain.code} is archived: it takes no new {self.name}")
