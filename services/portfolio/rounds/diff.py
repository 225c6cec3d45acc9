"""What changed between two rounds, for the board memo: computed by joining their items."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from services.chassis.errors import ValidationProblem
from services.chassis.figures import Coverage, Tally, tally
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.portfolio.initiatives.models import Initiative
from services.portfolio.refs import INITIATIVES_PATH, ROUNDS_PATH
from services.portfolio.rounds.items import visible_initiatives
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import (
    LIVE_DECISIONS,
    BudgetMove,
    DecisionChange,
    DiffCoverage,
    DiffItem,
    DiffSummary,
    RankMove,
    RoundDiff,
)
from services.portfolio.rounds.service import rounds


async def resolve(ctx: RequestContext, id_or_href: str, field: str) -> Round:
    parsed = parse_href(id_or_href)
    if parsed is not None and (parsed.collection_path != ROUNDS_PATH or parsed.id is None):
        raise ValidationProblem.field(["query", field], f"not a round: {id_or_href}")
    id_ = parsed.id if parsed is not None and parsed.id is not None else id_or_href
    obj = await rounds.find(ctx, id_)
    if obj is None:
        raise ValidationProblem.field(["query", field], f"no such round: {id_or_href}", "reference_not_found")
    return obj


async def diff(ctx: RequestContext, round_id: str, against: str) -> RoundDiff:
    """What changed in this round compared with another: computed by joining their items."""
    after_round = await rounds.get(ctx, round_id)
    before_round = await resolve(ctx, against, "against")
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
    # Per round: the live budget of the items the caller may see, and how many items there are and
    # how many of them the caller may see (every figure of a diff is over the visible items).
    live = and_(RoundItem.decision.in_(LIVE_DECISIONS), *visible)
    per_round = (
        select(
            RoundItem.round_id,
            func.coalesce(func.sum(case((live, RoundItem.budget_eur), else_=0)), 0).label("live_budget"),
            *tally(RoundItem.id, cleared),
        )
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(RoundItem.round_id.in_([before_round.id, after_round.id]))
        .group_by(RoundItem.round_id)
    )

    # Each visible item's place in its round's ranking as the caller sees it (by rank, then the
    # earlier first, as a round lists its items): rank numbers may have gaps, places do not.
    places = (
        select(
            RoundItem.id,
            func.row_number().over(partition_by=RoundItem.round_id, order_by=(RoundItem.rank, RoundItem.id)),
        )
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(RoundItem.round_id.in_([before_round.id, after_round.id]), *visible)
    )
    place: dict[str, int] = {id_: int(n) for id_, n in (await ctx.session.execute(places)).all()}

    def ref(item: RoundItem) -> dict[str, str]:
        return {"href": f"{INITIATIVES_PATH}/{item.initiative_id}"}

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
            decisions.append(DecisionChange.model_validate({**common, "before": then.decision, "after": now.decision}))
        if now.rank != then.rank:
            moved = place[then.id] - place[now.id]
            ranks.append(
                RankMove.model_validate(
                    {
                        **common,
                        "before": then.rank,
                        "after": now.rank,
                        "position_before": place[then.id],
                        "position_after": place[now.id],
                        "places_up": max(moved, 0),
                        "places_down": max(-moved, 0),
                    }
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
    rounds_seen = {row.round_id: row for row in (await ctx.session.execute(per_round)).all()}

    def live_budget(round_: Round) -> int:
        row = rounds_seen.get(round_.id)
        return 0 if row is None else int(row.live_budget)

    def coverage(round_: Round) -> Coverage:
        row = rounds_seen.get(round_.id)
        return Coverage.visible(seen=0, total=0) if row is None else Tally.of(row).visible()

    before_total, after_total = live_budget(before_round), live_budget(after_round)
    return RoundDiff.model_validate(
        {
            "round": {"href": rounds.href(after_round.id)},
            "against": {"href": rounds.href(before_round.id)},
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
            "coverage": DiffCoverage(round=coverage(after_round), against=coverage(before_round)),
        }
    )
