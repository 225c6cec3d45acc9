"""The rules of chains: who may change them, that codes are unique, owner reassignment, and that an
archived chain takes nothing new."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select

from services.chassis.auth import Principal
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound
from services.chassis.resources import ARCHIVED, Collection, Operation, Precondition
from services.chassis.resources.pipeline import act
from services.chassis.statements import ID, TODAY, id_param, today_param
from services.chassis.uow import RequestContext
from services.chassis.visibility import viewer_key
from services.valuechains.applications.figures import chain_figures, chains_figures_query, figures_of, with_figures
from services.valuechains.applications.service import applications
from services.valuechains.chains.models import Chain
from services.valuechains.chains.schemas import ChainCreate, ChainQuery, ChainRead, ChainUpdate, Owner

LIMIT = "external_share_limit"


class Chains(Collection[Chain]):
    action_roles = {"update": ("chain_owner",), "reassign_owner": ("admin",)}

    def representation(self, obj: Chain) -> dict[str, Any]:
        data = super().representation(obj)
        tenths = obj.external_share_limit_tenths
        data[LIMIT] = None if tenths is None else tenths / 10
        return data

    def to_columns(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = super().to_columns({k: v for k, v in data.items() if k != LIMIT})
        if LIMIT in data:
            limit = data[LIMIT]
            values[f"{LIMIT}_tenths"] = None if limit is None else int(Decimal(str(limit)) * 10)
        return values

    def authorize_values(
        self, principal: Principal, action: str, record: Chain | None, values: Mapping[str, Any]
    ) -> None:
        column = f"{LIMIT}_tenths"
        if (
            action == "update"
            and record is not None
            and column in values
            and values[column] != record.external_share_limit_tenths
            and not principal.is_admin
        ):
            raise Forbidden(f"only an admin may set or clear the external-share limit of chain {record.code}")

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
        principal = ctx.principal

        def build() -> Select[str, int, int, int, int, int]:
            return chains_figures_query(today_param(), applications.visibility(principal))

        stmt = self.statements.get(("figures", viewer_key(principal)), build)
        return await chain_figures(ctx.session, stmt, [o.id for o in objs])

    async def read_one(self, ctx: RequestContext, id_: str) -> tuple[Chain, dict[str, Any]]:
        """The chain and its figures in one statement (the row and the aggregate joined)."""
        principal = ctx.principal

        def build() -> Select[Any]:
            chain_id = id_param()
            visible = applications.visibility(principal)
            return with_figures(
                self.base_select(principal).where(Chain.id == chain_id), chain_id, today_param(), visible
            )

        stmt = self.statements.get(("read_one", viewer_key(principal)), build)
        row = (await ctx.session.execute(stmt, {ID: id_, TODAY: utcnow().date()})).first()
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
