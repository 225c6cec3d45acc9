"""Allocation and foundation reports: aggregates computed by the database, exact on every dialect.
The reports over teams (staffing, its history, maturity) are in ``teams``."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from services.chassis.db import utcnow
from services.chassis.figures import CountsAndDetails, Tally, read_tally, tally
from services.chassis.resources import ARCHIVED
from services.chassis.rounding import largest_remainder
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.valuechains.allocations.models import Allocation
from services.valuechains.allocations.service import allocations
from services.valuechains.applications import figures
from services.valuechains.applications.models import Application
from services.valuechains.applications.service import applications
from services.valuechains.chains.models import Chain
from services.valuechains.refs import ALLOCATIONS_PATH, CHAINS_PATH
from services.valuechains.reports.addressing import attention
from services.valuechains.reports.schemas import (
    AllocationReport,
    ChainAllocation,
    ChainFoundation,
    DebtWeights,
    FlaggedApplication,
    FoundationReport,
    FoundationTotals,
    MissingChain,
    WeightedSplit,
)

SPLIT = ("maintenance", "security", "renewal")


def chain_ids(values: Sequence[str]) -> list[str]:
    """Ids from a mix of chain hrefs and bare ids."""
    ids = []
    for value in values:
        parsed = parse_href(value)
        ids.append(parsed.id if parsed is not None and parsed.id else value)
    return ids


def chain_filter(values: Sequence[str]) -> list[ColumnElement[bool]]:
    clauses = [Chain.status != ARCHIVED]
    if values:
        clauses.append(Chain.id.in_(chain_ids(values)))
    return clauses


def shares_in_tenths(weighted: Sequence[int], budget: int) -> list[float] | None:
    """Percentages with one decimal that add up to exactly 100.0 (largest remainder)."""
    if budget <= 0:
        return None
    # weighted[i] = sum(budget * percent), and every split sums to 100 (a check constraint), so the
    # weighted parts sum to 100 * budget: the exact share in tenths is weighted[i] * 10 / budget.
    return [t / 10 for t in largest_remainder(weighted, 1000)]


async def allocation_report(ctx: RequestContext, period: str, chains: Sequence[str]) -> AllocationReport:
    """Budgets and their split: money, so over the allocations the caller may see (basis `visible`)."""
    where = chain_filter(chains)
    current = and_(Allocation.chain_id == Chain.id, Allocation.period == period, Allocation.status != ARCHIVED)
    visible = allocations.visibility(ctx.principal)
    joined = current if visible is None else and_(current, visible)
    per_chain = (
        select(
            Chain.id,
            Chain.code,
            Chain.name,
            Allocation.id.label("allocation_id"),
            Allocation.budget_eur,
            Allocation.maintenance,
            Allocation.security,
            Allocation.renewal,
        )
        .select_from(Chain)
        .outerjoin(Allocation, joined)
        .where(*where)
        .order_by(Chain.code)
    )
    overall = (
        select(
            func.count(Allocation.id).label("chains"),
            func.coalesce(func.sum(Allocation.budget_eur), 0).label("budget"),
            *(
                func.coalesce(func.sum(Allocation.budget_eur * getattr(Allocation, part)), 0).label(part)
                for part in SPLIT
            ),
        )
        .select_from(Chain)
        .join(Allocation, joined)
        .where(*where)
    )
    counted = select(*tally(Allocation.id, visible)).select_from(Chain).join(Allocation, current).where(*where)
    rows = (await ctx.session.execute(per_chain)).all()
    sums = (await ctx.session.execute(overall)).one()
    coverage = (await read_tally(ctx.session, counted)).visible()
    budget = int(sums.budget)
    shares = shares_in_tenths([int(getattr(sums, part)) for part in SPLIT], budget)
    return AllocationReport(
        period=period,
        chains=[
            ChainAllocation(
                chain={"href": f"{CHAINS_PATH}/{r.id}"},
                code=r.code,
                name=r.name,
                allocation={"href": f"{ALLOCATIONS_PATH}/{r.allocation_id}"},
                budget_eur=r.budget_eur,
                maintenance=r.maintenance,
                security=r.security,
                renewal=r.renewal,
            )
            for r in rows
            if r.allocation_id is not None
        ],
        missing=[
            MissingChain(chain={"href": f"{CHAINS_PATH}/{r.id}"}, code=r.code, name=r.name)
            for r in rows
            if r.allocation_id is None
        ],
        overall=WeightedSplit(
            chains=int(sums.chains),
            budget_eur=budget,
            **{part: (shares[i] if shares is not None else None) for i, part in enumerate(SPLIT)},
        ),
        coverage=coverage,
    )


def foundation_values(row: Any, as_of: dt.date) -> dict[str, Any]:
    applications, score = int(row.applications), int(row.score)
    oldest = row.oldest_release
    return {
        "applications": applications,
        "applications_past_support": int(row.past_support),
        "applications_support_ending": int(row.support_ending),
        "applications_without_recent_release": int(row.without_recent_release),
        "oldest_release": oldest,
        "max_release_age_days": None if oldest is None else max((as_of - oldest).days, 0),
        "open_critical_findings": int(row.critical),
        "open_high_findings": int(row.high),
        "eliminate_with_critical_findings": int(row.eliminate_with_critical),
        "technical_debt_score": score,
        # One decimal, half up, in integers: the same on every database and platform.
        "technical_debt_per_application": (
            None if applications == 0 else ((score * 20 + applications) // (2 * applications)) / 10
        ),
    }


async def foundation_report(ctx: RequestContext, as_of: dt.date | None, chains: Sequence[str]) -> FoundationReport:
    day = as_of or utcnow().date()
    where = chain_filter(chains)
    # Every active application counts, whatever its classification (see the endpoint's description);
    # the oldest release and the list of flagged applications, which describe them, honour need to know.
    joined = and_(Application.chain_id == Chain.id, figures.active())
    visible = applications.visibility(ctx.principal)
    columns = figures.foundation_columns(day, visible)
    per_chain = (
        select(Chain.id, Chain.code, Chain.name, *columns)
        .select_from(Chain)
        .outerjoin(Application, joined)
        .where(*where)
        .group_by(Chain.id, Chain.code, Chain.name)
        .order_by(Chain.code)
    )
    overall = (
        select(func.count(func.distinct(Chain.id)).label("chains"), *columns, *tally(Application.id, visible))
        .select_from(Chain)
        .outerjoin(Application, joined)
        .where(*where)
    )
    flagged = (
        applications.base_select(ctx.principal)
        .with_only_columns(
            Application.id, Application.name, Application.chain_id, Application.findings_critical, Chain.code
        )
        .join(Chain, Application.chain_id == Chain.id)
        .where(*where, figures.active(), figures.eliminate_with_critical())
        .order_by(Chain.code, Application.name, Application.id)
    )
    rows = (await ctx.session.execute(per_chain)).all()
    totals = (await ctx.session.execute(overall)).one()
    shown = (await ctx.session.execute(flagged)).all()
    needing = await attention(ctx, day, where)
    return FoundationReport(
        as_of=day,
        weights=DebtWeights(**figures.DEBT_WEIGHTS),
        chains=[
            ChainFoundation(
                chain={"href": f"{CHAINS_PATH}/{r.id}"}, code=r.code, name=r.name, **foundation_values(r, day)
            )
            for r in rows
        ],
        overall=FoundationTotals(chains=int(totals.chains), **foundation_values(totals, day)),
        flagged=[
            FlaggedApplication(
                application={"href": applications.href(r.id)},
                name=r.name,
                chain={"href": f"{CHAINS_PATH}/{r.chain_id}"},
                code=r.code,
                open_critical_findings=r.findings_critical,
            )
            for r in shown
        ],
        flagged_not_shown=int(totals.eliminate_with_critical) - len(shown),
        attention=needing.applications,
        unaddressed=needing.unaddressed,
        incomplete=needing.incomplete,
        coverage=CountsAndDetails.of(Tally.of(totals)),
    )
