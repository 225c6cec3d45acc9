"""Rows that belong to a chain (teams, allocations): the chain's owner, or an admin, manages them."""

from typing import Any, TypeVar

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from services.chassis.auth import Principal
from services.chassis.errors import Conflict
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
    """Writes need the admin role, or the chain_owner role as the owner of the row's chain (for a
    new row: of the chain it is created under). Moving a row to another chain (a new ``chain_id``)
    needs ownership of both chains, and the target chain must not be archived."""

    write_roles = ("chain_owner",)

    def authorize(self, principal: Principal, action: str, *, record: CO | None, parent: Any | None) -> None:
        chain = parent if isinstance(parent, Chain) else record.chain if record is not None else None
        if chain is not None:
            ensure_manages(principal, chain, f"{VERBS.get(action, action)} the {self.name} of")

    async def validate(self, ctx: RequestContext, obj: CO | None, values: dict[str, Any]) -> None:
        chain_id = values.get("chain_id")
        if obj is None or chain_id is None or chain_id == obj.chain_id:
            return
        # Locked (on PostgreSQL) so that the chain cannot be archived between this check and the
        # commit: archiving it updates the same row and waits.
        chain = (await ctx.session.scalars(select(Chain).where(Chain.id == chain_id).with_for_update())).first()
        if chain is None:  # check_local_references has already answered 422
            return
        ensure_manages(ctx.principal, chain, f"move {self.name} into")
        chains_in_use(chain, self.name)


def chains_in_use(chain: Chain, what: str) -> None:
    """An archived chain takes no new teams, applications or allocations (409)."""
    if chain.status == ARCHIVED:
        raise Conflict(f"chain {chain.code} is archived: it takes no new {what}")
