"""The ratio reports: sums and groups in SQL; Python only arranges the few aggregated rows and rounds.

By round: the budgets its live items decided on. An item's kind, funding and value chain are those
recorded with it when its round closed, or, while the round is draft or open, its initiative's now
(``COALESCE``): a closed round never moves. By year: every counted initiative's money in that year
(``initiative_budgets``), held against the open round's target.

Need to know (``services.chassis.figures``): money is computed over the initiatives the caller may
see as classified now, in closed rounds too, and every answer says over how many records
(``coverage``): an item or initiative the caller may not see is left out of every figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from services.chassis.figures import Coverage, tally
from services.chassis.rounding import largest_remainder
from services.chassis.uow import RequestContext
from services.portfolio.common import KINDS, RUN_KINDS
from services.portfolio.initiatives.models import Initiative, InitiativeBudget
from services.portfolio.refs import INITIATIVES_PATH
from services.portfolio.reports.schemas import ROUNDING, RatioReport, YearRatioReport
from services.portfolio.rounds.diff import resolve as resolve_round
from services.portfolio.rounds.items import visible_initiatives
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.schemas import LIVE_DECISIONS
from services.portfolio.rounds.service import rounds

COUNTED_STATUSES = ("proposed", "approved", "active", "delivered")
"""Whose money counts in a year: every initiative not stopped (archived ones are gone)."""

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


@dataclass
class Money:
    """Money by value chain, kind and funding, as summed by the database."""

    overall: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_chain: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    funding: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: {"structural": 0, "incidental": 0} for k in KINDS}
    )

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> Money:
        """From rows of (value chain, kind, funding, amount)."""
        money = cls()
        for chain, kind, source, amount in rows:
            money.overall[kind] += int(amount or 0)
            money.per_chain[chain][kind] += int(amount or 0)
            money.funding[kind][source] += int(amount or 0)
        return money

    def figures(self, incidental: list[dict[str, Any]], coverage: Coverage) -> dict[str, Any]:
        """The fields every ratio report has."""
        return {
            "rounding": ROUNDING,
            "overall": split(self.overall),
            "per_value_chain": [
                {"value_chain": {"href": chain}, **split(self.per_chain[chain])} for chain in sorted(self.per_chain)
            ],
            "funding": {k: funding_split(self.funding[k]["structural"], self.funding[k]["incidental"]) for k in KINDS},
            "renewal_funded_only_incidentally": incidental,
            "coverage": coverage,
        }


def incidental_renewal(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of (initiative id, name, value chain, amount) as the flagged list."""
    return [
        {
            "initiative": {"href": f"{INITIATIVES_PATH}/{initiative_id}"},
            "name": name,
            "value_chain": {"href": chain},
            "budget_eur": budget,
        }
        for initiative_id, name, chain, budget in rows
    ]


async def ratio_report(ctx: RequestContext, round_ref: str) -> RatioReport:
    target_round = await resolve_round(ctx, round_ref, "round")
    cleared = visible_initiatives(ctx.principal)
    visible = [cleared] if cleared is not None else []
    live = RoundItem.decision.in_(LIVE_DECISIONS)
    in_round = and_(RoundItem.round_id == target_round.id, live)

    grouped = (
        select(item_chain, item_kind, item_funding, func.sum(RoundItem.budget_eur))
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(in_round, *visible)
        .group_by(item_chain, item_kind, item_funding)
    )
    money = Money.of((await ctx.session.execute(grouped)).all())
    coverage = select(*tally(RoundItem.id, cleared)).join(Initiative, Initiative.id == RoundItem.initiative_id)
    total, seen = (await ctx.session.execute(coverage.where(in_round))).one()

    def kind_sum(kind: str) -> Any:
        # Outer joins: a round without (visible, live) items sums to 0. An item whose initiative the
        # caller may not see has no joined initiative, and counts nowhere, though its kind is frozen.
        counted = and_(Initiative.id.is_not(None), item_kind == kind)
        return func.coalesce(func.sum(case((counted, RoundItem.budget_eur), else_=0)), 0)

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
            func.count(RoundItem.id).label("items"),
            func.count(Initiative.id).label("seen"),
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
        figures = split(dict(zip(KINDS, (int(v) for v in row[8:]), strict=True)))
        points.append(
            {
                "round": {"href": rounds.href(row.id)},
                "name": row.name,
                "period": row.period,
                "closed_at": row.closed_at,
                "total_budget_eur": figures["total_budget_eur"],
                "ratio": figures["ratio"],
                "target": {"run": row.target_run, "renewal": row.target_renewal},
                "coverage": Coverage.visible(seen=int(row.seen), total=int(row.items)),
            }
        )

    flagged = (
        select(RoundItem.initiative_id, Initiative.name, item_chain, RoundItem.budget_eur)
        .join(Initiative, Initiative.id == RoundItem.initiative_id)
        .where(in_round, item_kind == "renewal", item_funding == "incidental", *visible)
        .order_by(RoundItem.budget_eur.desc(), RoundItem.initiative_id)
    )
    figures = money.figures(
        incidental_renewal((await ctx.session.execute(flagged)).all()),
        Coverage.visible(seen=int(seen), total=int(total)),
    )
    return RatioReport.model_validate(
        {
            **figures,
            "round": {"href": rounds.href(target_round.id)},
            "name": target_round.name,
            "period": target_round.period,
            "status": target_round.status,
            "target": {"run": target_round.target_run, "renewal": target_round.target_renewal},
            "renewal_gap": round(figures["overall"]["ratio"]["renewal"] - target_round.target_renewal, 1),
            "trend": points,
        }
    )


def money_in(year: int) -> ColumnElement[bool]:
    """An initiative's row of money in ``year``, when it has money then and its status counts."""
    return and_(
        InitiativeBudget.initiative_id == Initiative.id,
        InitiativeBudget.year == year,
        InitiativeBudget.budget_eur > 0,
        Initiative.status.in_(COUNTED_STATUSES),
    )


async def year_money(ctx: RequestContext, year: int) -> tuple[Money, Coverage]:
    """Every counted initiative's money in ``year`` that the caller may see, by chain, kind and
    funding, and how many initiatives with money that year it counts and leaves out."""
    cleared = visible_initiatives(ctx.principal)
    visible = [cleared] if cleared is not None else []
    grouped = (
        select(Initiative.value_chain, Initiative.kind, Initiative.funding, func.sum(InitiativeBudget.budget_eur))
        .join(InitiativeBudget, money_in(year))
        .where(*visible)
        .group_by(Initiative.value_chain, Initiative.kind, Initiative.funding)
    )
    money = Money.of((await ctx.session.execute(grouped)).all())
    coverage = select(*tally(Initiative.id, cleared)).join(InitiativeBudget, money_in(year))
    total, seen = (await ctx.session.execute(coverage)).one()
    return money, Coverage.visible(seen=int(seen), total=int(total))


async def year_ratio_report(ctx: RequestContext, year: int) -> YearRatioReport:
    money, coverage = await year_money(ctx, year)
    cleared = visible_initiatives(ctx.principal)
    flagged = (
        select(Initiative.id, Initiative.name, Initiative.value_chain, InitiativeBudget.budget_eur)
        .join(InitiativeBudget, money_in(year))
        .where(
            Initiative.kind == "renewal",
            Initiative.funding == "incidental",
            *([cleared] if cleared is not None else []),
        )
        .order_by(InitiativeBudget.budget_eur.desc(), Initiative.id)
    )
    figures = money.figures(incidental_renewal((await ctx.session.execute(flagged)).all()), coverage)
    open_round = (await ctx.session.scalars(rounds.base_select(ctx.principal).where(Round.status == "open"))).first()
    target = None if open_round is None else {"run": open_round.target_run, "renewal": open_round.target_renewal}
    return YearRatioReport.model_validate(
        {
            **figures,
            "year": year,
            "counted_statuses": list(COUNTED_STATUSES),
            "round": None if open_round is None else {"href": rounds.href(open_round.id)},
            "target": target,
            "renewal_gap": None
            if target is None
            else round(figures["overall"]["ratio"]["renewal"] - target["renewal"], 1),
        }
    )
