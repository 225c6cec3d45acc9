"""The items of a round: one initiative each, with its rank, decision, note and budget.

Items are resources of their own (version, ETag, change-feed events) with hrefs under their round,
``/portfolio/v1/rounds/<round>/items/<item>``. An item records the budget the round decided on (by
default its initiative's money in the round's year; a round started from a round of another year
starts from the money in its own year), and when the round closes also its initiative's kind,
funding and value chain, so that a closed round's figures stay as they were when the initiative
later changes. Whether a round's items may change at
all is the round's rule (``Rounds.check_children``: a closed round is frozen).

Need to know: an item exists for a caller only when they may see its initiative (as it is classified
now), also in closed rounds, and problems never name an item the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, select, update

from services.chassis.auth import Principal
from services.chassis.changes import append_event
from services.chassis.db import utcnow
from services.chassis.errors import Conflict
from services.chassis.ids import new_id
from services.chassis.resources import ARCHIVED, RefField
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.portfolio.common import PortfolioCollection
from services.portfolio.initiatives.budgets import money_in_year
from services.portfolio.initiatives.models import Initiative
from services.portfolio.initiatives.service import initiatives
from services.portfolio.refs import INITIATIVES_PATH, ROUNDS_PATH
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import RoundItemCreate, RoundItemRead, RoundItemUpdate, period_year


def visible_initiatives(principal: Principal) -> ColumnElement[bool] | None:
    """Need to know on initiatives, for queries that join them."""
    return initiatives.visibility(principal)


class RoundItems(PortfolioCollection[RoundItem]):
    def item_href(self, round_id: str, id_: str) -> str:
        return f"{ROUNDS_PATH}/{round_id}/items/{id_}"

    def href_of(self, obj: RoundItem) -> str:
        return self.item_href(obj.round_id, obj.id)

    def representation(self, obj: RoundItem) -> dict[str, Any]:
        data = super().representation(obj)
        data["href"] = self.href_of(obj)
        return data

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        # An item shows its initiative: it exists only for those cleared to see the initiative.
        cleared = visible_initiatives(principal)
        if cleared is None:
            return None
        return RoundItem.initiative_id.in_(select(Initiative.id).where(cleared))

    def hidden(self, principal: Principal) -> ColumnElement[bool] | None:
        hidden = initiatives.hidden(principal)
        if hidden is None:
            return None
        return RoundItem.initiative_id.in_(select(Initiative.id).where(hidden))

    def belongs_to(self, obj: RoundItem, parent: Any) -> bool:
        return obj.round_id == parent.id

    async def record(self, ctx: RequestContext, obj: RoundItem, action: str, changes: dict[str, list[Any]]) -> None:
        classification = await ctx.session.scalar(
            select(Initiative.data_classification).where(Initiative.id == obj.initiative_id)
        )
        await append_event(
            ctx.session,
            type=f"{self.name}.{action}",
            subject=self.href_of(obj),
            actor=ctx.principal.sub,
            version=obj.version,
            changes=changes,
            classification=classification,
        )

    def in_use_where(self) -> ColumnElement[bool]:
        """An item holds its initiative in use while its round is being planned (draft or open):
        a closed round's items are its record, and stay with an archived initiative."""
        planning = select(Round.id).where(Round.status.in_(("draft", "open")))
        return and_(RoundItem.status != ARCHIVED, RoundItem.round_id.in_(planning))

    def pointing_at(
        self, ctx: RequestContext, targets: Sequence[str], *, in_use: bool = False
    ) -> list[Select[str, str, str]]:
        columns = {
            INITIATIVES_PATH: ("initiative", RoundItem.initiative_id),
            ROUNDS_PATH: ("round", RoundItem.round_id),
        }
        if in_use:
            del columns[ROUNDS_PATH]  # a round's own items are part of it (``holds=False``)
        parsed = [p for p in map(parse_href, targets) if p is not None and p.id is not None]
        href = literal(ROUNDS_PATH + "/") + RoundItem.round_id + literal("/items/") + RoundItem.id
        selects = []
        for path, (field, column) in columns.items():
            ids = [p.id for p in parsed if p.collection_path == path]
            if ids:
                selects.append(
                    self.base_select(ctx.principal)
                    .with_only_columns(
                        href.label("href"),
                        literal(field).label("field"),
                        (literal(path + "/") + column).label("target"),
                    )
                    .where(column.in_(ids), *([self.in_use_where()] if in_use else []))
                )
        return selects

    async def visible_holder(
        self, ctx: RequestContext, round_id: str, match: ColumnElement[bool], obj: RoundItem | None
    ) -> str | None:
        """The href of an item of the round that matches and that the caller may see (not ``obj``)."""
        stmt = (
            self.base_select(ctx.principal).with_only_columns(RoundItem.id).where(RoundItem.round_id == round_id, match)
        )
        if obj is not None:
            stmt = stmt.where(RoundItem.id != obj.id)
        found = await ctx.session.scalar(stmt.order_by(RoundItem.id))
        return self.item_href(round_id, found) if found is not None else None

    async def holder(self, ctx: RequestContext, round_id: str, match: ColumnElement[bool]) -> tuple[bool, str | None]:
        """Whether an item of the round matches (whoever may see it: the constraint holds for all
        items), and its href only when the caller may see that item."""
        found = await ctx.session.scalar(select(RoundItem.id).where(RoundItem.round_id == round_id, match))
        if found is None:
            return False, None
        seen = await ctx.session.scalar(
            self.base_select(ctx.principal).with_only_columns(RoundItem.id).where(RoundItem.id == found)
        )
        return True, self.item_href(round_id, found) if seen is not None else None

    async def validate(self, ctx: RequestContext, obj: RoundItem | None, values: dict[str, Any]) -> None:
        round_id = str(values.get("round_id") or (obj.round_id if obj is not None else ""))
        rank = values.get("rank")
        if rank is not None and (obj is None or rank != obj.rank):
            # Unique among the items the caller may see: one they may not see neither stops them nor
            # is named (it may then share the rank, which only someone cleared for both sees).
            href = await self.visible_holder(ctx, round_id, RoundItem.rank == rank, obj)
            if href is not None:
                raise Conflict(
                    f"rank {rank} is already taken in this round (by {href}); ranks are unique within a round: "
                    "give this item a free rank, or move the other first",
                    extra={"taken_by": href},
                )
        if obj is None and values.get("initiative_id") is not None:
            # The caller sees the initiative (its reference was checked), so normally also its item.
            taken, href = await self.holder(ctx, round_id, RoundItem.initiative_id == values["initiative_id"])
            if taken and href is not None:
                raise Conflict(
                    f"this initiative is already in the round as {href}; change that item instead",
                    extra={"existing": href},
                )
            if taken:
                raise Conflict("this initiative is already in the round; an initiative appears once per round")
            if values.get("budget_eur") is None:
                # The budget the round decides on defaults to the initiative's money in the round's year now.
                year = period_year(str(await ctx.session.scalar(select(Round.period).where(Round.id == round_id))))
                money = await money_in_year(ctx.session, [values["initiative_id"]], year)
                values["budget_eur"] = money[values["initiative_id"]]

    async def freeze(self, ctx: RequestContext, round_id: str) -> None:
        """Record with each item of a closing round its initiative's kind, funding and value chain
        (one UPDATE from the initiatives, in the closing transaction): from now on the round's
        figures no longer follow its initiatives. Nothing the API shows changes, so no item event."""
        await ctx.session.execute(
            update(RoundItem)
            .where(RoundItem.round_id == round_id, RoundItem.initiative_id == Initiative.id)
            .values(kind=Initiative.kind, funding=Initiative.funding, value_chain=Initiative.value_chain)
            .execution_options(synchronize_session="fetch")
        )

    async def copy(self, ctx: RequestContext, source_id: str, target_id: str) -> None:
        """Copy a round's items (all of them, whoever may see them) except those it stopped. Their
        budgets are those decided in the source round when it plans the same year; a round of another
        year starts from each initiative's money in its own year."""
        sources = (
            await ctx.session.scalars(
                select(RoundItem)
                .where(RoundItem.round_id == source_id, RoundItem.decision != "stop")
                .order_by(RoundItem.rank, RoundItem.id)
            )
        ).all()
        periods = dict(
            (
                await ctx.session.execute(select(Round.id, Round.period).where(Round.id.in_([source_id, target_id])))
            ).all()
        )
        year = period_year(periods[target_id])
        money = None
        if period_year(periods[source_id]) != year:
            money = await money_in_year(ctx.session, [s.initiative_id for s in sources], year)
        now = utcnow()
        copies = [
            RoundItem(
                id=new_id(),
                round_id=target_id,
                initiative_id=s.initiative_id,
                rank=s.rank,
                decision=s.decision,
                note=s.note,
                budget_eur=s.budget_eur if money is None else money[s.initiative_id],
                # kind, funding and value chain: the copy is not closed, it follows its initiatives.
                status="active",
                created_at=now,
                updated_at=now,
            )
            for s in sources
        ]
        ctx.session.add_all(copies)
        await ctx.session.flush()
        for item in copies:
            await self.record(ctx, item, "created", {k: [None, v] for k, v in self.snapshot(item).items()})


round_items = RoundItems(
    service="portfolio",
    name="round_items",
    kind="round item",
    model=RoundItem,
    read=RoundItemRead,
    create=RoundItemCreate,
    update=RoundItemUpdate,
    references={
        "round": RefField(ROUNDS_PATH, column="round_id", local=True, holds=False),
        "initiative": RefField(INITIATIVES_PATH, column="initiative_id", local=True),
    },
    description="The items of a round: each an initiative with its rank, decision, note and budget.",
)
