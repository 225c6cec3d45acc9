"""The ratio report: sums and groups in SQL; Python only arranges the few aggregated rows and rounds.

An item's kind, funding and value chain are those recorded with it when its round closed, or, while
the round is draft or open, its initiative's now (``COALESCE``): a closed round never moves. Need to
know follows the initiative as classified now, in closed rounds too: an item whose initiative the
caller may no longer see is left out of every figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, func, select

from services.chassis.rounding import largest_remainder
from services.chassis.uow import RequestContext
from services.portfolio.common import KINDS, RUN_KINDS
from services.portfolio.initiatives.models import Initiative
from services.portfolio.refs import INITIATIVES_PATH
from services.portfolio.reports.schemas import ROUNDING, RatioReport
from services.portfolio.rounds.diff import resolve as resolve_round
from services.portfolio.rounds.items import visible_initiatives
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import LIVE_DECISIONS
from services.portfolio.rounds.service import rounds

# What an item counts as: frozen when its round closed, else its initiative's current facts.
item_kind = func.coalesce(RoundItem.kind, Initiative.kind)
item_funding = func.coalesce(RoundItem.funding, Initiative.funding)
item_chain = func.coalesce(RoundItem.value_chain, Initiative.value_chain)


def tenths(parts: Sequence[int]) -> list[int]:
    """Shares of ``parts`` in tenths of a percent, adding up to exactly 1000 (largest remainder)."""
    return largest_remainder(parts, 1000)


def split(budget: Mapping[str, int]) -> dict[str, Any]:
    """Budget per kind, its shares, and run:renewal, all from one rounding so they agree."""
    amounts = [int(budget.get(k, 0)) for k in KINDS]
    shares = dict(zip(KINDS, tenths(amounts), strict=True))
    run = sum(shares[k] for k in RUN_KINDS)
    return {
        "total_budget_eur": sum(amounts),
        "budget_eur": dict(zip(KINDS, amounts, strict=True)),
        "shares": {k: v / 10 for k, v in shares.items()},
        "ratio": {"run": run / 10, "renewal": shares["renewal"] / 10},
    }


def funding_split(structural: int, incidental: int) -> dict[str, Any]:
    s, i = tenths([structural, incidental])
    return {"structural_eur": structural, "incidental_eur": incidental, "structural": s / 10, "incidental": i / 10}


async def ratio_report(ctx: RequestContext, round_ref: str) -> RatioReport:
    target_round = await resolve_round(ctx, round_ref, "round")
    cleared = visible_initiatives(ctx.principal)
    visible = [cleared] if cleared is not None else []
    live = RoundItem.decision.in_(LIVE_DECISIONS)
    total = func.sum(RoundItem.budget_eur)

    grouped = (
        select(item_chain, item_kind, item_funding, total)
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(RoundItem.round_id == target_round.id, live, *visible)
        .group_by(item_chain, item_kind, item_funding)
    )
    overall: dict[str, int] = defaultdict(int)
    per_chain: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    funding: dict[str, dict[str, int]] = {k: {"structural": 0, "incidental": 0} for k in KINDS}
    for chain, kind, source, amount in (await ctx.session.execute(grouped)).all():
        overall[kind] += int(amount or 0)
        per_chain[chain][kind] += int(amount or 0)
        funding[kind][source] += int(amount or 0)

    def kind_sum(kind: str) -> Any:
        # Outer joins: a round without (visible, live) items sums to 0. An item whose initiative the
        # caller may not see has no joined initiative, and counts nowhere, though its kind is frozen.
        counts = and_(Initiative.id.is_not(None), item_kind == kind)
        return func.coalesce(func.sum(case((counts, RoundItem.budget_eur), else_=0)), 0)

    item_on = and_(RoundItem.round_id == Round.id, live)
    initiative_on = and_(Initiative.id == RoundItem.initiative_id, *visible)
    trend = (
        select(
            Round.id,
            Round.name,
            Round.period,
            Round.closed_at,
            Round.target_run,
            Round.target_renewal,
            *(kind_sum(k) for k in KINDS),
        )
        .select_from(Round)
        .outerjoin(RoundItem, item_on)
        .outerjoin(Initiative, initiative_on)
        .where(Round.status == "closed")
        .group_by(Round.id, Round.name, Round.period, Round.closed_at, Round.target_run, Round.target_renewal)
        .order_by(Round.closed_at, Round.id)
    )
    points = []
    for row in (await ctx.session.execute(trend)).all():
        figures = split(dict(zip(KINDS, (int(v) for v in row[6:]), strict=True)))
        points.append(
            {
                "round": {"href": rounds.href(row.id)},
                "name": row.name,
                "period": row.period,
                "closed_at": row.closed_at,
                "total_budget_eur": figures["total_budget_eur"],
                "ratio": figures["ratio"],
                "target": {"run": row.target_run, "renewal": row.target_renewal},
            }
        )

    flagged = (
        select(RoundItem.initiative_id, Initiative.name, item_chain, RoundItem.budget_eur)
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(
            RoundItem.round_id == target_round.id,
            live,
            item_kind == "renewal",
            item_funding == "incidental",
            *visible,
        )
        .order_by(RoundItem.budget_eur.desc(), RoundItem.initiative_id)
    )
    incidental = [
        {
            "initiative": {"href": f"{INITIATIVES_PATH}/{initiative_id}"},
            "name": name,
            "value_chain": {"href": chain},
            "budget_eur": budget,
        }
        for initiative_id, name, chain, budget in (await ctx.session.execute(flagged)).all()
    ]

    headline = split(overall)
    return RatioReport.model_validate(
        {
            "round": {"href": rounds.href(target_round.id)},
            "name": target_round.name,
            "period": target_round.period,
            "status": target_round.status,
            "rounding": ROUNDING,
            "overall": headline,
            "target": {"run": target_round.target_run, "renewal": target_round.target_renewal},
            "renewal_gap": round(headline["ratio"]["renewal"] - target_round.target_renewal, 1),
            "per_value_chain": [
                {"value_chain": {"href": chain}, **split(per_chain[chain])} for chain in sorted(per_chain)
            ],
            "trend": points,
            "funding": {k: funding_split(funding[k]["structural"], funding[k]["incidental"]) for k in KINDS},
            "renewal_funded_only_incidentally": incidental,
        }
    )
