"""The rules of chains: who may change them, that codes are unique, and owner reassignment."""

from collections.abc import Mapping, Sequence
from typing import Any

from services.chassis.concurrency import check_version, required_version
from services.chassis.db import utcnow
from services.chassis.errors import Forbidden
from services.chassis.resources import Collection
from services.chassis.uow import RequestContext
from services.valuechains.applications.figures import chain_figures
from services.valuechains.chains.models import Chain
from services.valuechains.chains.schemas import ChainCreate, ChainQuery, ChainRead, ChainUpdate, Owner


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

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Chain]) -> dict[str, dict[str, Any]]:
        """The foundation figures of every chain on the page, in one query."""
        return await chain_figures(ctx.session, [o.id for o in objs], utcnow().date())

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
        "(the ketenverantwoordelijke). Each shows the state of its foundation (technische schuld), derived "
        "from its applications."
    ),
)
