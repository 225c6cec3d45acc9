"""The rules of allocations: the owner's split sums to 100, every revision is kept, PUT per period."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, select

from services.chassis.errors import NotFound, ValidationProblem
from services.chassis.pagination import Page, PageQuery, apply_keyset, next_link
from services.chassis.resources import ARCHIVED, ListQuery, Operation, Precondition, RefField
from services.chassis.resources.pipeline import put
from services.chassis.uow import RequestContext
from services.valuechains.allocations.models import Allocation, AllocationRevision
from services.valuechains.allocations.periods import parse_period
from services.valuechains.allocations.schemas import (
    Actor,
    AllocationPut,
    AllocationQuery,
    AllocationRead,
    AllocationRevisionRead,
)
from services.valuechains.chains.models import Chain
from services.valuechains.chains.service import chains
from services.valuechains.ownership import ChainScoped
from services.valuechains.refs import CHAINS_PATH

SPLIT = ("maintenance", "security", "renewal")
DECISION = (*SPLIT, "budget_eur", "rationale")


def check_split(values: Mapping[str, Any]) -> None:
    """422 unless maintenance + security + renewal is exactly 100."""
    parts = [values.get(name) for name in SPLIT]
    if any(not isinstance(p, int) for p in parts):
        return
    total = sum(p for p in parts if isinstance(p, int))
    if total != 100:
        msg = (
            f"maintenance, security and renewal must sum to 100; they sum to {total} "
            f"({' + '.join(str(p) for p in parts)})"
        )
        raise ValidationProblem(
            msg, errors=[{"loc": ["body", name], "msg": msg, "type": "split_sum"} for name in SPLIT]
        )


def revisions_path(chain_id: str, period: str) -> str:
    return f"{CHAINS_PATH}/{chain_id}/allocations/{period}/revisions"


class Allocations(ChainScoped[Allocation]):
    def order(self) -> tuple[Any, ...]:
        return (Allocation.period, Allocation.id)

    def representation(self, obj: Allocation) -> dict[str, Any]:
        data = super().representation(obj)
        data["revisions_href"] = revisions_path(obj.chain_id, obj.period)
        return data

    def snapshot(self, obj: Allocation) -> dict[str, Any]:
        data = super().snapshot(obj)
        data.pop("revisions_href", None)
        return data

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        year = getattr(query, "year", None)
        clauses = super().filter_clauses(query.model_copy(update={"year": None}))
        if year is not None:
            clauses.append(Allocation.period.like(f"{year}%"))
        return clauses

    async def validate(self, ctx: RequestContext, obj: Allocation | None, values: dict[str, Any]) -> None:
        await super().validate(ctx, obj, values)
        current = {name: getattr(obj, name) for name in SPLIT} if obj is not None else {}
        check_split({**current, **values})

    async def for_period(self, ctx: RequestContext, chain_id: str, period: str) -> Allocation | None:
        stmt = self.base_select(ctx.principal).where(Allocation.chain_id == chain_id, Allocation.period == period)
        return (await ctx.session.scalars(stmt)).first()

    async def get_for_period(self, ctx: RequestContext, chain: Chain, period: str) -> Allocation:
        allocation = await self.for_period(ctx, chain.id, period)
        if allocation is None:
            raise NotFound(f"chain {chain.code} has no allocation for {period}")
        return allocation

    async def locate(
        self, ctx: RequestContext, parent: Any | None, params: Mapping[str, str], id_param: str
    ) -> Allocation | None:
        if id_param != "period" or parent is None:
            return await super().locate(ctx, parent, params, id_param)
        # Under a chain an allocation is named by its period (PUT /v1/chains/{id}/allocations/{period}).
        return await self.for_period(ctx, parent.id, parse_period(params[id_param], ["path", "period"]))

    async def set(
        self,
        ctx: RequestContext,
        chain_id: str,
        period: str,
        body: AllocationPut,
        *,
        if_match: str | None,
        if_none_match: str | None,
        id_: str | None = None,
    ) -> tuple[Allocation, bool]:
        """Create or replace the chain's split for ``period``; a real change is a new revision.
        ``id_`` fixes the id of a new allocation (demo data)."""
        period = parse_period(period, ["path", "period"])
        decision = body.model_dump()
        check_split(decision)
        before: int | None = None

        async def decide(existing: Allocation | None) -> dict[str, Any]:
            nonlocal before
            values: dict[str, Any] = {"chain_id": chain_id, "period": period, **decision}
            if existing is None:
                values["revision"] = 1
                if id_ is not None:
                    values["id"] = id_
                return values
            before = existing.version
            changed = existing.status == ARCHIVED or any(getattr(existing, k) != v for k, v in decision.items())
            values["revision"] = existing.revision + 1 if changed else existing.revision
            values["status"] = "active"  # setting a split again revives an archived allocation
            return values

        allocation, created = await put(
            ctx,
            SET_FOR_PERIOD,
            decide,
            {"id": chain_id, "period": period},
            if_match=if_match,
            if_none_match=if_none_match,
        )
        if created or allocation.version != before:
            ctx.session.add(
                AllocationRevision(
                    allocation_id=allocation.id,
                    revision=allocation.revision,
                    version=allocation.version,
                    **{k: getattr(allocation, k) for k in DECISION},
                    actor_subject=ctx.principal.sub,
                    actor_name=ctx.principal.name,
                    at=allocation.updated_at,
                )
            )
            await ctx.session.flush()
        return allocation, created

    async def revisions(self, ctx: RequestContext, allocation: Allocation, query: PageQuery) -> Page[Any]:
        stmt = select(AllocationRevision).where(AllocationRevision.allocation_id == allocation.id)
        rows = list((await ctx.session.scalars(apply_keyset(stmt, [AllocationRevision.revision], query))).all())
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, [rows[-1].revision])
        items = [
            AllocationRevisionRead(
                revision=r.revision,
                version=r.version,
                **{k: getattr(r, k) for k in DECISION},
                by=Actor(subject=r.actor_subject, name=r.actor_name),
                at=r.at,
            )
            for r in rows
        ]
        return Page(items=items, next=next_href)


allocations = Allocations(
    service="valuechains",
    name="allocations",
    kind="allocation",
    model=Allocation,
    read=AllocationRead,
    query=AllocationQuery,
    references={"chain": RefField(CHAINS_PATH, column="chain_id", local=True, holds=False)},
    description=(
        "Each chain owner's investment split for a period: the weighing (afweging) between maintenance "
        "(beheer), security (beveiliging) and renewal (vernieuwing), with the budget and the rationale. "
        "Set with `PUT /v1/chains/{id}/allocations/{period}`; every earlier revision stays readable."
    ),
)

SET_FOR_PERIOD = Operation(
    allocations,
    "set",
    Precondition.PUT,
    parent=chains,
    parent_column="chain_id",
    id_param="period",
    lock_parent=True,
)
