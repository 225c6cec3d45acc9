"""The rules of rounds: a target that adds up, unique ranks, one open round, and a closed round never changes.

Items are resources of their own (version, ETag, change-feed events) with hrefs under their round,
``/portfolio/v1/rounds/<round>/items/<item>``. An item records the budget the round decided on, and
when the round closes also its initiative's kind, funding and value chain, so that a closed round's
figures stay as they were when the initiative later changes.

Need to know: an item exists for a caller only when they may see its initiative (as it is classified
now), also in closed rounds, and problems never name an item the caller may not see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from services.chassis.auth import Principal
from services.chassis.changes import append_event
from services.chassis.concurrency import check_version, optional_version, required_version
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, NotFound, ValidationProblem
from services.chassis.ids import new_id
from services.chassis.pagination import Page, apply_keyset, next_link
from services.chassis.resources import RefField, reject_nulls
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.portfolio.common import INITIATIVES, ROUNDS, PortfolioCollection, check_move
from services.portfolio.initiatives.models import Initiative
from services.portfolio.initiatives.service import initiatives
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import (
    LIVE_DECISIONS,
    BudgetMove,
    DecisionChange,
    DiffItem,
    DiffSummary,
    RankMove,
    RoundCreate,
    RoundDiff,
    RoundItemCreate,
    RoundItemQuery,
    RoundItemRead,
    RoundItemUpdate,
    RoundQuery,
    RoundRead,
    RoundUpdate,
)

ROUND_MOVES: dict[str, tuple[str, ...]] = {"draft": ("open",), "open": ("closed",), "closed": ()}
FROZEN = frozenset({"closed", "archived"})


def visible_initiatives(principal: Principal) -> ColumnElement[bool] | None:
    """Need to know on initiatives, for queries that join them."""
    return initiatives.visibility(principal)


def ensure_not_frozen(obj: Round) -> None:
    if obj.status in FROZEN:
        raise Conflict(
            f"round {obj.name!r} is {obj.status}: it is frozen and never changes; start a new round from it "
            "(`POST /v1/rounds` with `from_round`)",
            extra={"round_status": obj.status},
        )


class RoundItems(PortfolioCollection[RoundItem]):
    write_roles = ("portfolio_manager",)

    def item_href(self, round_id: str, id_: str) -> str:
        return f"{ROUNDS}/{round_id}/items/{id_}"

    def representation(self, obj: RoundItem) -> dict[str, Any]:
        data = super().representation(obj)
        data["href"] = self.item_href(obj.round_id, obj.id)
        return data

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        # An item shows its initiative: it exists only for those cleared to see the initiative.
        cleared = visible_initiatives(principal)
        if cleared is None:
            return None
        return RoundItem.initiative_id.in_(select(Initiative.id).where(cleared))

    async def record(self, ctx: RequestContext, obj: RoundItem, action: str, changes: dict[str, list[Any]]) -> None:
        classification = await ctx.session.scalar(
            select(Initiative.data_classification).where(Initiative.id == obj.initiative_id)
        )
        await append_event(
            ctx.session,
            type=f"{self.name}.{action}",
            subject=self.item_href(obj.round_id, obj.id),
            actor=ctx.principal.sub,
            version=obj.version,
            changes=changes,
            classification=classification,
        )

    def pointing_at(self, ctx: RequestContext, target: str) -> list[Select[str, str]]:
        parsed = parse_href(target)
        if parsed is None or parsed.id is None:
            return []
        columns = {INITIATIVES: ("initiative", RoundItem.initiative_id), ROUNDS: ("round", RoundItem.round_id)}
        if parsed.collection_path not in columns:
            return []
        field, column = columns[parsed.collection_path]
        href = literal(ROUNDS + "/") + RoundItem.round_id + literal("/items/") + RoundItem.id
        return [
            self.base_select(ctx.principal)
            .with_only_columns(href.label("href"), literal(field).label("field"))
            .where(column == parsed.id)
        ]

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
            taken, href = await self.holder(ctx, round_id, RoundItem.rank == rank)
            if taken and href is not None:
                raise Conflict(
                    f"rank {rank} is already taken in this round (by {href}); ranks are unique within a round: "
                    "give this item a free rank, or move the other first",
                    extra={"taken_by": href},
                )
            if taken:
                raise Conflict(
                    f"rank {rank} is not free in this round; ranks are unique within a round: give this item "
                    "another rank"
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

    async def find_in_round(self, ctx: RequestContext, round_id: str, item_id: str) -> RoundItem:
        stmt = self.base_select(ctx.principal).where(RoundItem.id == item_id, RoundItem.round_id == round_id)
        obj = (await ctx.session.scalars(stmt)).first()
        if obj is None:
            raise NotFound(f"no item {item_id} in round {round_id}")
        return obj

    async def copy(self, ctx: RequestContext, source_id: str, target_id: str) -> None:
        """Copy a round's items (all of them, whoever may see them) except those it stopped."""
        sources = (
            await ctx.session.scalars(
                select(RoundItem)
                .where(RoundItem.round_id == source_id, RoundItem.decision != "stop")
                .order_by(RoundItem.rank)
            )
        ).all()
        now = utcnow()
        copies = [
            RoundItem(
                id=new_id(),
                round_id=target_id,
                initiative_id=s.initiative_id,
                rank=s.rank,
                decision=s.decision,
                note=s.note,
                budget_eur=s.budget_eur,
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
        "round": RefField(ROUNDS, column="round_id", local=True),
        "initiative": RefField(INITIATIVES, column="initiative_id", local=True),
    },
    description="The items of a round: each an initiative with its rank, decision, note and budget.",
)


class Rounds(PortfolioCollection[Round]):
    write_roles = ("portfolio_manager",)

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Round]) -> dict[str, dict[str, Any]]:
        stmt = (
            round_items.base_select(ctx.principal)
            .where(RoundItem.round_id.in_([o.id for o in objs]))
            .order_by(RoundItem.round_id, RoundItem.rank)
        )
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in (await ctx.session.scalars(stmt)).all():
            grouped[item.round_id].append(round_items.representation(item))
        return {o.id: {"items": grouped.get(o.id, [])} for o in objs}

    async def validate(self, ctx: RequestContext, obj: Round | None, values: dict[str, Any]) -> None:
        if obj is not None:
            ensure_not_frozen(obj)

    async def create(self, ctx: RequestContext, body: BaseModel) -> Round:
        obj = await super().create(ctx, body)
        if obj.from_round_id is not None:
            await round_items.copy(ctx, obj.from_round_id, obj.id)
        return obj

    async def update(self, ctx: RequestContext, id_: str, body: BaseModel, if_match: str | None) -> Round:
        # Frozen comes first: any change to a closed round is 409, whatever the preconditions say.
        ensure_not_frozen(await self.get(ctx, id_))
        return await super().update(ctx, id_, body, if_match)

    async def archive(self, ctx: RequestContext, id_: str, if_match: str | None) -> Round:
        obj = await self.get(ctx, id_)
        if obj.status == "closed":
            ensure_not_frozen(obj)
        return await super().archive(ctx, id_, if_match)

    async def lock(self, ctx: RequestContext, id_: str) -> Round:
        """The round, locked for this transaction: item writes and open/close serialise on it."""
        stmt = (
            self.base_select(ctx.principal)
            .where(Round.id == id_)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        obj = (await ctx.session.scalars(stmt)).first()
        if obj is None:
            raise NotFound(f"no round {id_}")
        return obj

    async def change(
        self, ctx: RequestContext, obj: Round, values: dict[str, Any], *, action: str = "updated"
    ) -> Round:
        closing = values.get("status") == "closed" and obj.status != "closed"
        obj = await super().change(ctx, obj, values, action=action)
        if closing:
            await round_items.freeze(ctx, obj.id)
        return obj

    async def other_open(self, ctx: RequestContext, id_: str) -> str | None:
        """The id of the open round other than ``id_``, whoever may see it."""
        return await ctx.session.scalar(select(Round.id).where(Round.status == "open", Round.id != id_))

    async def already_open(self, ctx: RequestContext, other: str | None, *, meanwhile: bool = False) -> Conflict:
        """409 for opening a round while ``other`` is open, naming it only when the caller may see it."""
        when = " meanwhile" if meanwhile else ""
        if other is not None and await self.find(ctx, other) is not None:
            return Conflict(
                f"round {self.href(other)} is open{when}; only one round is open at a time: close it before "
                "opening another",
                extra={"open_round": self.href(other)},
            )
        return Conflict(
            f"another round is open{when}; only one round is open at a time: close it before opening another"
        )

    async def move(self, ctx: RequestContext, id_: str, new: str, if_match: str | None) -> Round:
        """Open or close a round. One open round at a time: checked here for a clear answer, and kept
        by a partial unique index, so that of two concurrent opens only one can commit."""
        expected = optional_version(if_match)
        obj = await self.lock(ctx, id_)
        self.authorize(ctx, "update", obj, {"status": new})
        if expected is not None:
            check_version(obj.version, expected)
        check_move("round", obj.status, new, ROUND_MOVES, allow_same=False)
        if new == "closed":
            return await self.change(ctx, obj, {"status": new, "closed_at": utcnow()})
        round_id = obj.id
        other = await self.other_open(ctx, round_id)
        if other is not None:
            raise await self.already_open(ctx, other)
        try:
            # A savepoint, so that a lost race leaves the transaction usable to name the winner.
            async with ctx.session.begin_nested():
                return await self.change(ctx, obj, {"status": new, "opened_at": utcnow()})
        except Conflict as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            # Another round was opened and committed after the check above (PostgreSQL: the index
            # made this flush wait for it); the new statement sees it.
            raise await self.already_open(ctx, await self.other_open(ctx, round_id), meanwhile=True) from exc

    # --- items ------------------------------------------------------------------------------

    async def add_item(self, ctx: RequestContext, round_id: str, body: RoundItemCreate) -> RoundItem:
        obj = await self.lock(ctx, round_id)
        round_items.authorize(ctx, "create", None, {})
        ensure_not_frozen(obj)
        values = round_items.to_columns(body.model_dump())
        values["round_id"] = obj.id
        if values.get("budget_eur") is None:
            initiative = await initiatives.find(ctx, values["initiative_id"])
            if initiative is None:
                raise ValidationProblem.field(
                    ["body", "initiative"], f"no such resource: {body.initiative.href}", "reference_not_found"
                )
            values["budget_eur"] = initiative.budget_eur
        return await round_items.insert(ctx, values)

    async def update_item(
        self, ctx: RequestContext, round_id: str, item_id: str, body: RoundItemUpdate, if_match: str | None
    ) -> RoundItem:
        data = body.model_dump(exclude_unset=True)
        reject_nulls(round_items, data)
        obj = await self.lock(ctx, round_id)
        item = await round_items.find_in_round(ctx, obj.id, item_id)
        values = round_items.to_columns(data)
        round_items.authorize(ctx, "update", item, values)
        ensure_not_frozen(obj)
        check_version(item.version, required_version(if_match))
        await round_items.validate(ctx, item, values)
        return await round_items.change(ctx, item, values)

    async def list_items(self, ctx: RequestContext, round_id: str, query: RoundItemQuery) -> Page[Any]:
        obj = await self.get(ctx, round_id)
        stmt = round_items.base_select(ctx.principal).where(RoundItem.round_id == obj.id)
        if query.decision is not None:
            stmt = stmt.where(RoundItem.decision == query.decision)
        if query.value_chain is not None:
            # A closed round's items serve the chain they served when it closed.
            live = RoundItem.initiative_id.in_(select(Initiative.id).where(Initiative.value_chain == query.value_chain))
            stmt = stmt.where(
                or_(RoundItem.value_chain == query.value_chain, and_(RoundItem.value_chain.is_(None), live))
            )
        rows = list((await ctx.session.scalars(apply_keyset(stmt, [RoundItem.rank], query))).all())
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, [rows[-1].rank])
        return Page(items=await round_items.render_many(ctx, rows), next=next_href)

    # --- diff -------------------------------------------------------------------------------

    async def resolve(self, ctx: RequestContext, id_or_href: str, field: str) -> Round:
        parsed = parse_href(id_or_href)
        if parsed is not None and (parsed.collection_path != ROUNDS or parsed.id is None):
            raise ValidationProblem.field(["query", field], f"not a round: {id_or_href}")
        id_ = parsed.id if parsed is not None and parsed.id is not None else id_or_href
        obj = await self.find(ctx, id_)
        if obj is None:
            raise ValidationProblem.field(["query", field], f"no such round: {id_or_href}", "reference_not_found")
        return obj

    async def diff(self, ctx: RequestContext, round_id: str, against: str) -> RoundDiff:
        """What changed in this round compared with another: computed by joining their items."""
        after_round = await self.get(ctx, round_id)
        before_round = await self.resolve(ctx, against, "against")
        after, before = aliased(RoundItem, name="after"), aliased(RoundItem, name="before")
        cleared = visible_initiatives(ctx.principal)
        visible = [cleared] if cleared is not None else []
        same_initiative_before = and_(before.initiative_id == after.initiative_id, before.round_id == before_round.id)
        same_initiative_after = and_(after.initiative_id == before.initiative_id, after.round_id == after_round.id)

        changed = (
            select(after, before, Initiative.name)
            .join(before, same_initiative_before)
            .join(Initiative, Initiative.id == after.initiative_id)
            .where(
                after.round_id == after_round.id,
                or_(
                    after.decision != before.decision,
                    after.rank != before.rank,
                    after.budget_eur != before.budget_eur,
                ),
                *visible,
            )
            .order_by(after.rank)
        )
        added = (
            select(after, Initiative.name)
            .join(Initiative, Initiative.id == after.initiative_id)
            .outerjoin(before, same_initiative_before)
            .where(after.round_id == after_round.id, before.id.is_(None), *visible)
            .order_by(after.rank)
        )
        removed = (
            select(before, Initiative.name)
            .join(Initiative, Initiative.id == before.initiative_id)
            .outerjoin(after, same_initiative_after)
            .where(before.round_id == before_round.id, after.id.is_(None), *visible)
            .order_by(before.rank)
        )
        live = RoundItem.decision.in_(LIVE_DECISIONS)
        totals = (
            select(
                func.coalesce(
                    func.sum(case((RoundItem.round_id == before_round.id, RoundItem.budget_eur), else_=0)), 0
                ),
                func.coalesce(func.sum(case((RoundItem.round_id == after_round.id, RoundItem.budget_eur), else_=0)), 0),
            )
            .join(Initiative, Initiative.id == RoundItem.initiative_id)
            .where(RoundItem.round_id.in_([before_round.id, after_round.id]), live, *visible)
        )

        def ref(item: RoundItem) -> dict[str, str]:
            return {"href": f"{INITIATIVES}/{item.initiative_id}"}

        def listed(item: RoundItem, name: str) -> DiffItem:
            return DiffItem.model_validate(
                {
                    "initiative": ref(item),
                    "name": name,
                    "rank": item.rank,
                    "decision": item.decision,
                    "budget_eur": item.budget_eur,
                    "note": item.note,
                }
            )

        decisions: list[DecisionChange] = []
        ranks: list[RankMove] = []
        budgets: list[BudgetMove] = []
        for now, then, name in (await ctx.session.execute(changed)).all():
            common = {"initiative": ref(now), "name": name, "note": now.note, "previous_note": then.note}
            if now.decision != then.decision:
                decisions.append(
                    DecisionChange.model_validate({**common, "before": then.decision, "after": now.decision})
                )
            if now.rank != then.rank:
                ranks.append(
                    RankMove.model_validate(
                        {**common, "before": then.rank, "after": now.rank, "places_up": then.rank - now.rank}
                    )
                )
            if now.budget_eur != then.budget_eur:
                budgets.append(
                    BudgetMove.model_validate(
                        {
                            **common,
                            "before_eur": then.budget_eur,
                            "after_eur": now.budget_eur,
                            "delta_eur": now.budget_eur - then.budget_eur,
                        }
                    )
                )
        added_items = [listed(item, name) for item, name in (await ctx.session.execute(added)).all()]
        removed_items = [listed(item, name) for item, name in (await ctx.session.execute(removed)).all()]
        before_total, after_total = (await ctx.session.execute(totals)).one()
        return RoundDiff.model_validate(
            {
                "round": {"href": self.href(after_round.id)},
                "against": {"href": self.href(before_round.id)},
                "summary": DiffSummary(
                    added=len(added_items),
                    removed=len(removed_items),
                    decisions_changed=len(decisions),
                    rank_moves=len(ranks),
                    budget_moves=len(budgets),
                    live_budget_before_eur=int(before_total),
                    live_budget_after_eur=int(after_total),
                    live_budget_delta_eur=int(after_total) - int(before_total),
                ),
                "added": added_items,
                "removed": removed_items,
                "decisions_changed": decisions,
                "rank_moves": ranks,
                "budget_moves": budgets,
            }
        )


rounds = Rounds(
    service="portfolio",
    name="rounds",
    kind="round",
    model=Round,
    read=RoundRead,
    create=RoundCreate,
    update=RoundUpdate,
    query=RoundQuery,
    references={"from_round": RefField(ROUNDS, column="from_round_id", local=True)},
    description=(
        'The rolling portfolio: the whole portfolio is remade several times a year ("rolling"), each '
        "round a ranked list of initiatives with a decision per item (start, continue, adjust, stop, "
        "defer) and a note saying why, against a target split run (beheer) : renewal (vernieuwing). "
        "A round is created as draft (optionally from the previous round, whose items become its "
        "starting point), opened (one round at a time), and closed; a closed round is frozen: any change is "
        "409, and its figures keep the kind, funding and value chain its initiatives had when it closed. "
        "Rounds and their items are written by portfolio managers."
    ),
)
