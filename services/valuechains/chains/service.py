"""The rules of chains: who may change them, that codes are unique, and owner reassignment."""

from collections.abc import Mapping
from typing import Any

from services.chassis.auth import Principal
from services.chassis.concurrency import check_version, required_version
from services.chassis.errors import Forbidden
from services.chassis.resources import Collection
from services.chassis.uow import RequestContext
from services.valuechains.chains.models import Chain
from services.valuechains.chains.schemas import ChainCreate, ChainQuery, ChainRead, ChainUpdate, Owner


def owns(principal: Principal, chain: Chain) -> bool:
    """The caller is this chain's owner (ketenverantwoordelijke) acting as chain_owner."""
    return "chain_owner" in principal.roles and chain.owner_subject == principal.sub


def ensure_manages(principal: Principal, chain: Chain, doing: str) -> None:
    """403 unless the caller is an admin or this chain's owner. ``doing``: "change teams of"."""
    if principal.is_admin or owns(principal, chain):
        return
    if not principal.has_role("chain_owner"):
        raise Forbidden(f"to {doing} chain {chain.code} needs the chain_owner role (as its owner) or admin")
    raise Forbidden(f"only the owner of chain {chain.code} ({chain.owner_name}) or an admin may {doing} it")


class Chains(Collection[Chain]):
    write_roles = ("admin",)

    def authorize(self, ctx: RequestContext, action: str, obj: Chain | None, values: Mapping[str, Any]) -> None:
        principal = ctx.principal
        if principal.is_admin:
            return
        if action == "update" and obj is not None and principal.has_role("chain_owner"):
            if obj.owner_subject == principal.sub:
                return
            raise Forbidden(f"only the chain's owner ({obj.owner_name}) or an admin may change chain {obj.code}")
        raise Forbidden(
            f"{action} on chains needs the admin role"
            + ("" if action != "update" else ", or the chain_owner role as this chain's owner")
        )

    async def reassign_owner(self, ctx: RequestContext, id_: str, owner: Owner, if_match: str | None) -> Chain:
        """Hand the chain to another accountable person: admin only, If-Match required, audited."""
        expected = required_version(if_match)
        chain = await self.get(ctx, id_)
        if not ctx.principal.is_admin:
            raise Forbidden(f"only an admin may reassign the owner of chain {chain.code}")
        check_version(chain.version, expected)
        return await self.change(ctx, chain, self.to_columns({"owner": owner.model_dump()}))


chains = Chains(
    service="valuechains",
    name="chains",
    kind="chain",
    model=Chain,
    read=ChainRead,
    create=ChainCreate,
    update=ChainUpdate,
    unique=("code",),
    query=ChainQuery,
    description=(
        'IT value chains ("IV-waardeketens"): each equips one part of police work with good IT '
        "and owns both its renewal and its maintenance, steered by one accountable owner from operations "
        "(the ketenverantwoordelijke)."
    ),
)
