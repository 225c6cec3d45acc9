"""The rules of rounds: a target that adds up, one open round at a time, and a closed round never
changes. The rule that a closed round is frozen is ``Rounds.check_state``; the write pipeline asks it
for every change to a round and, through ``check_children``, to its items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from services.chassis.db import utcnow
from services.chassis.errors import Conflict
from services.chassis.pagination import Page, apply_keyset, next_link
from services.chassis.resources import Collection, Operation, Precondition, RefField
from services.chassis.resources.pipeline import act
from services.chassis.uow import RequestContext
from services.portfolio.common import PortfolioCollection, check_move
from services.portfolio.initiatives.models import Initiative
from services.portfolio.refs import ROUNDS_PATH
from services.portfolio.rounds.items import round_items
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import RoundCreate, RoundItemQuery, RoundQuery, RoundRead, RoundUpdate

ROUND_MOVES: dict[str, tuple[str, ...]] = {"draft": ("open",), "open": ("closed",), "closed": ()}
FROZEN = frozenset({"closed", "archived"})


class Rounds(PortfolioCollection[Round]):
    def check_state(self, obj: Round, action: str) -> None:
        if obj.status in FROZEN:
            raise Conflict(
                f"round {obj.name!r} is {obj.status}: it is frozen and never changes; start a new round from it "
                "(`POST /v1/rounds` with `from_round`)",
                extra={"round_status": obj.status},
            )

    def check_children(self, obj: Round, action: str, child: Collection[Any]) -> None:
        self.check_state(obj, action)

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Round]) -> dict[str, dict[str, Any]]:
        stmt = (
            round_items.base_select(ctx.principal)
            .where(RoundItem.round_id.in_([o.id for o in objs]))
            .order_by(RoundItem.round_id, RoundItem.rank, RoundItem.id)
        )
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in (await ctx.session.scalars(stmt)).all():
            grouped[item.round_id].append(round_items.representation(item))
        return {o.id: {"items": grouped.get(o.id, [])} for o in objs}

    async def after_insert(self, ctx: RequestContext, obj: Round) -> None:
        if obj.from_round_id is not None:
            await round_items.copy(ctx, obj.from_round_id, obj.id)

    async def change(
        self,
        ctx: RequestContext,
        obj: Round,
        values: dict[str, Any],
        *,
        action: str = "updated",
        notes: Mapping[str, Any] | None = None,
    ) -> Round:
        closing = values.get("status") == "closed" and obj.status != "closed"
        obj = await super().change(ctx, obj, values, action=action, notes=notes)
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

    async def open(self, ctx: RequestContext) -> Round:
        """draft → open. One open round at a time: checked here for a clear answer, and kept by a
        partial unique index, so that of two concurrent opens only one can commit."""
        round_id = ""

        async def decide(obj: Round) -> dict[str, Any]:
            nonlocal round_id
            round_id = obj.id
            check_move("round", obj.status, "open", ROUND_MOVES, allow_same=False)
            other = await self.other_open(ctx, obj.id)
            if other is not None:
                raise await self.already_open(ctx, other)
            return {"status": "open", "opened_at": utcnow()}

        try:
            opened: Round = await act(ctx, OPEN, decide, lock=True, savepoint=True)
        except Conflict as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            # Another round was opened and committed after the check above (PostgreSQL: the index
            # made this flush wait for it); the new statement sees it.
            raise await self.already_open(ctx, await self.other_open(ctx, round_id), meanwhile=True) from exc
        return opened

    async def close(self, ctx: RequestContext) -> Round:
        """open → closed; from then on the round is frozen."""

        async def decide(obj: Round) -> dict[str, Any]:
            check_move("round", obj.status, "closed", ROUND_MOVES, allow_same=False)
            return {"status": "closed", "closed_at": utcnow()}

        closed: Round = await act(ctx, CLOSE, decide, lock=True)
        return closed

    async def list_items(self, ctx: RequestContext, round_id: str, query: RoundItemQuery) -> Page[Any]:
        obj = await self.get(ctx, round_id)
        stmt = round_items.base_select(ctx.principal).where(RoundItem.round_id == obj.id)
        if query.decision:
            stmt = stmt.where(RoundItem.decision.in_(query.decision))
        if query.value_chain is not None:
            # A closed round's items serve the chain they served when it closed.
            live = RoundItem.initiative_id.in_(select(Initiative.id).where(Initiative.value_chain == query.value_chain))
            stmt = stmt.where(
                or_(RoundItem.value_chain == query.value_chain, and_(RoundItem.value_chain.is_(None), live))
            )
        # Two items share a rank only when no one caller may see both: the earlier one comes first.
        order = [RoundItem.rank, RoundItem.id]
        rows = list((await ctx.session.scalars(apply_keyset(stmt, order, query))).all())
        next_href = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_href = next_link(ctx.require_request(), ctx.public_prefix, [rows[-1].rank, rows[-1].id])
        return Page(items=await round_items.render_many(ctx, rows), next=next_href)


rounds = Rounds(
    service="portfolio",
    name="rounds",
    kind="round",
    model=Round,
    read=RoundRead,
    create=RoundCreate,
    update=RoundUpdate,
    query=RoundQuery,
    references={"from_round": RefField(ROUNDS_PATH, column="from_round_id", local=True, holds=False)},
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

# Writes on rounds beyond the standard ones; every one of them meets ``Rounds.check_state`` first.
OPEN = Operation(rounds, "open", Precondition.OPTIONAL)
CLOSE = Operation(rounds, "close", Precondition.OPTIONAL)
ADD_ITEM = Operation(round_items, "create", id_param=None, parent=rounds, parent_column="round_id", lock_parent=True)
UPDATE_ITEM = Operation(
    round_items, "update", Precondition.REQUIRED, parent=rounds, id_param="item_id", lock_parent=True
)
