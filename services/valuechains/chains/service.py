"""The rules of chains: who may change them, that codes are unique, owner reassignment, and that an
archived chain takes nothing new."""

from collections.abc import Sequence
from typing import Any

from services.chassis.auth import Principal
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound
from services.chassis.resources import ARCHIVED, Collection, Operation, Precondition
from services.chassis.resources.pipeline import act
from services.chassis.uow import RequestContext
from services.valuechains.applications.figures import chain_figures, figures_of, with_figures
from services.valuechains.applications.service import applications
from services.valuechains.chains.models import Chain
from services.valuechains.chains.schemas import ChainCreate, ChainQuery, ChainRead, ChainUpdate, Owner


class Chains(Collection[Chain]):
    action_roles = {"update": ("chain_owner",), "reassign_owner": ("admin",)}

    def authorize(self, principal: Principal, action: str, *, record: Chain | None, parent: Any | None) -> None:
        if (
            action == "update"
            and record is not None
            and not principal.is_admin
            and record.owner_subject != principal.sub
        ):
            raise Forbidden(f"only the chain's owner ({record.owner_name}) or an admin may change chain {record.code}")

    def check_children(self, obj: Chain, action: str, child: Collection[Any]) -> None:
        if obj.status == ARCHIVED:
            if child.name == "allocations":
                raise Conflict(f"chain {obj.code} is archived: its allocations are frozen")
            raise Conflict(f"chain {obj.code} is archived: it takes no new {child.name}")

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Chain]) -> dict[str, dict[str, Any]]:
        """The foundation figures of every chain on the page, in one query."""
        visible = applications.visibility(ctx.principal)
        return await chain_figures(ctx.session, [o.id for o in objs], utcnow().date(), visible)

    async def read_one(self, ctx: RequestContext, id_: str) -> tuple[Chain, dict[str, Any]]:
        """The chain and its figures in one statement (the row and the aggregate joined)."""
        visible = applications.visibility(ctx.principal)
        stmt = with_figures(self.base_select(ctx.principal).where(Chain.id == id_), id_, utcnow().date(), visible)
        row = (await ctx.session.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no {self.kind} {id_}")
        return row[0], figures_of(row)

    async def reassign_owner(self, ctx: RequestContext, owner: Owner) -> Chain:
        """Hand the chain to another accountable person: admin only, If-Match required, audited."""
        columns = self.to_columns({"owner": owner.model_dump()})

        async def decide(_chain: Chain) -> dict[str, Any]:
            return columns

        chain: Chain = await act(ctx, REASSIGN_OWNER, decide)
        return chain


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

REASSIGN_OWNER = Operation(chains, "reassign_owner", Precondition.REQUIRED)
