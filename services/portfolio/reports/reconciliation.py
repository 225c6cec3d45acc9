"""The reconciliation of a year: each chain owner's allocation split (read by reference from the
valuechains service, with the caller's token, never stored) beside the portfolio's money for that
chain and year by kind, the difference in points and euros, and the chains whose difference exceeds
the threshold flagged.

A chain's allocation for a year is the one for the whole year (period ``2026``) when its owner set
one; otherwise the allocations of the year's parts (``2026-H1``, ``2026-Q3``, ...), combined weighted
by their budgets. The portfolio's side is the ratio report's money of the year (``year_money``):
summed in SQL, over the initiatives the caller may see, with its ``coverage``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.chassis.rounding import largest_remainder
from services.chassis.uow import RequestContext
from services.portfolio.common import KINDS, RUN_KINDS
from services.portfolio.refs import ALLOCATIONS_PATH
from services.portfolio.reports.schemas import RECONCILIATION_ROUNDING, ReconciliationReport
from services.portfolio.reports.service import COUNTED_STATUSES, split, tenths, year_money
from services.portfolio.settings import PortfolioSettings

RUN = [KINDS.index(k) for k in RUN_KINDS]


@dataclass(frozen=True)
class Allocated:
    """One or more allocations taken together: their budget and their split in tenths of a percent."""

    budget: int
    tenths: list[int]
    used: list[dict[str, Any]]

    @classmethod
    def of(cls, allocations: Sequence[Mapping[str, Any]]) -> Allocated:
        """Weighted by budget (every split sums to 100, so the weighted parts sum to 100 times the
        budget); allocations that all have no budget count alike."""
        budget = sum(int(a["budget_eur"]) for a in allocations)
        weights = [int(a["budget_eur"]) if budget > 0 else 1 for a in allocations]
        weighted = [sum(w * int(a[kind]) for w, a in zip(weights, allocations, strict=True)) for kind in KINDS]
        used = [{"allocation": {"href": a["href"]}, "period": a["period"]} for a in allocations]
        return cls(budget=budget, tenths=largest_remainder(weighted, 1000), used=used)

    def shown(self, *, listed: bool) -> dict[str, Any]:
        shares = dict(zip(KINDS, self.tenths, strict=True))
        run = sum(self.tenths[i] for i in RUN)
        shown = {
            "budget_eur": self.budget,
            "shares": {k: v / 10 for k, v in shares.items()},
            "ratio": {"run": run / 10, "renewal": shares["renewal"] / 10},
        }
        return {**shown, "allocations": self.used} if listed else shown


def for_year(allocations: Sequence[Mapping[str, Any]], year: int) -> dict[str, list[Mapping[str, Any]]]:
    """Per chain href, the allocations that make its split for ``year``: the whole year's, or its parts."""
    by_chain: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for allocation in allocations:
        if str(allocation.get("period", "")).split("-")[0] == str(year):
            by_chain[allocation["chain"]["href"]].append(allocation)
    return {
        chain: [a for a in found if a["period"] == str(year)] or sorted(found, key=lambda a: str(a["period"]))
        for chain, found in by_chain.items()
    }


def reconcile(
    allocated: Allocated | None, money: Mapping[str, int] | None, threshold_tenths: int, *, listed: bool
) -> dict[str, Any]:
    """One line of the report: both sides, their difference, and whether it is flagged."""
    difference: dict[str, Any] | None = None
    largest = 0
    if allocated is not None and money:
        # In tenths of a point, on the same rounded tenths both sides show. run's difference is
        # renewal's with the sign turned, so the largest of the three kinds is the largest of all.
        own = tenths([int(money.get(k, 0)) for k in KINDS])
        points = [p - a for p, a in zip(own, allocated.tenths, strict=True)]
        largest = max(abs(d) for d in points)
        difference = {
            "points": {
                **{k: d / 10 for k, d in zip(KINDS, points, strict=True)},
                "run": sum(points[i] for i in RUN) / 10,
            },
            "largest_points": largest / 10,
            "budget_eur": sum(int(v) for v in money.values()) - allocated.budget,
        }
    return {
        "allocation": allocated.shown(listed=listed) if allocated is not None else None,
        "portfolio": split(money) if money else None,
        "difference": difference,
        "flagged": largest > threshold_tenths,
    }


async def reconciliation_report(ctx: RequestContext, year: int) -> ReconciliationReport:
    threshold: Decimal = ctx.settings_as(PortfolioSettings).reconciliation_threshold_points
    threshold_tenths = int(threshold * 10)
    # Read from the owner before the portfolio's own figures: 503 when valuechains cannot answer.
    listed = await ctx.upstreams.list_all(ALLOCATIONS_PATH, ctx.principal, [("year", str(year))])
    allocations = for_year(listed, year)
    per_chain = {chain: Allocated.of(found) for chain, found in allocations.items()}
    money, coverage = await year_money(ctx, year)

    chains = []
    for chain in sorted(set(per_chain) | set(money.per_chain)):
        allocated, own = per_chain.get(chain), money.per_chain.get(chain)
        status = "compared" if allocated and own else "no_allocation" if own else "no_portfolio_money"
        chains.append(
            {
                "value_chain": {"href": chain},
                "status": status,
                **reconcile(allocated, own, threshold_tenths, listed=True),
            }
        )
    everything = [a for found in allocations.values() for a in found]
    overall = reconcile(Allocated.of(everything) if everything else None, money.overall, threshold_tenths, listed=False)
    return ReconciliationReport.model_validate(
        {
            "year": year,
            "threshold_points": float(threshold),
            "counted_statuses": list(COUNTED_STATUSES),
            "rounding": RECONCILIATION_ROUNDING,
            "overall": overall,
            "chains": chains,
            "flagged_chains": sum(1 for c in chains if c["flagged"]),
            "coverage": coverage,
        }
    )
