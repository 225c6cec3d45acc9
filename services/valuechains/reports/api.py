"""Reports for chain owners and the portfolio: staffing mix, investment split and the foundation."""

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from services.chassis.exports import Accepted, Export
from services.chassis.queries import strict_router
from services.chassis.uow import Ctx
from services.valuechains.applications.figures import DEBT_WEIGHTS
from services.valuechains.reports.history_schemas import (
    MaturityQuery,
    MaturityReport,
    StaffingHistory,
    StaffingHistoryQuery,
)
from services.valuechains.reports.schemas import (
    AllocationReport,
    AllocationReportQuery,
    FoundationQuery,
    FoundationReport,
    StaffingQuery,
    StaffingReport,
)
from services.valuechains.reports.service import allocation_report, foundation_report
from services.valuechains.reports.teams import maturity_report, staffing_history, staffing_report
from services.valuechains.settings import ValuechainsSettings

router = strict_router(tags=["reports"])

STAFFING = Export(filename="staffing", sections=("", "chains", "totals"))
ALLOCATIONS = Export(filename="allocations", sections=("", "chains", "missing", "overall"))
FOUNDATION = Export(filename="foundation", sections=("", "chains", "overall", "flagged"))
HISTORY = Export(filename="staffing-history", sections=("", "periods", "periods.chains"))
LEVELS = tuple(
    f"{part}.{moment}.levels" for part in ("chains", "overall") for moment in ("current", "previous", "change")
)
MATURITY = Export(filename="maturity", sections=("", "chains", "overall", *LEVELS))


LIMITS = (
    "Each chain is held to its own limit on its external share (`external_share_limit` on the chain, set by an "
    "admin) or, without one, to the service's default (`IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT`, default 30); a chain "
    "above its limit is flagged (`above_limit`; at the limit is not above it). The strategy asks for a better "
    "internal/external ratio, with a flexible shell (flexibele schil) of hired staff (inhuur) and partners."
)


@router.get(
    "/v1/reports/staffing",
    response_model=StaffingReport,
    summary="Staffing per chain: internal, hired and partner FTE",
    description=(
        "Per value chain (IV-waardeketen): active teams, internal FTE (eigen personeel), hired FTE (inhuur), partner "
        "FTE (partners), external FTE (hired + partner: the flexible shell) and the external share in percent. "
        f"{LIMITS}\n\n"
        "Archived chains and teams are left out. The `totals` are over the same rows, so the rows add "
        "up to them exactly. Teams and FTE are counts: every team counts, and `coverage` (basis `all`) says "
        "over how many teams and how many of them you may not see. Computed in the database."
    )
    + STAFFING.note,
    responses=STAFFING.responses(StaffingReport, 401, 422),
)
async def staffing(ctx: Ctx, query: Annotated[StaffingQuery, Query()], media: Accepted) -> Response:
    limit = ctx.settings_as(ValuechainsSettings).external_share_limit
    return await STAFFING.respond(ctx, media, await staffing_report(ctx, limit, query.chain))


@router.get(
    "/v1/reports/staffing/history",
    response_model=StaffingHistory,
    response_model_by_alias=True,
    summary="Staffing per chain over time: internal, hired and partner FTE per month or quarter",
    description=(
        "The staffing report for every calendar month or quarter (`period`) from the one that holds `from` to the "
        "one that holds `to` (at most 120 periods): per period and chain the teams that were active at the end of "
        "the period (`as_of`; for the period under way: now) with their internal, hired and partner FTE and the "
        f"external share then, so the internal/external ratio can be followed over time. {LIMITS} The limits are "
        "those of today (a limit has no history).\n\n"
        "The history is every version of every team (each change of its FTE, its maturity, its chain, and its "
        "archiving), kept from the moment the change was made; a team counts in the chain it was in then. Chains "
        "archived now are left out. Teams and FTE are counts (basis `all`): each period's `coverage` says how many "
        "teams it counts and how many of them you may not see, the answer's `coverage` the same over every team "
        "that counts in any period. Computed in the database, every period in one query."
    )
    + HISTORY.note,
    responses=HISTORY.responses(StaffingHistory, 401, 422),
)
async def staffing_over_time(ctx: Ctx, query: Annotated[StaffingHistoryQuery, Query()], media: Accepted) -> Response:
    limit = ctx.settings_as(ValuechainsSettings).external_share_limit
    return await HISTORY.respond(ctx, media, await staffing_history(ctx, limit, query))


@router.get(
    "/v1/reports/maturity",
    response_model=MaturityReport,
    summary="Agile maturity per chain: the teams per level, and the change since the previous period",
    description=(
        "Over every active team: per value chain and overall, how many teams are at each agile maturity level (1 "
        "starting to 5 leading) and their average, at the end of `as_of` (default: now) and at the end of the "
        "previous `period` (the calendar month or quarter before the one that holds `as_of`), with the change "
        "between the two: per level, of the average, and how many teams that were active at both moments rose or "
        "fell (`teams_up`, `teams_down`; a team counts in the chain it is in now).\n\n"
        "The history is every version of every team, kept from the moment the change was made. Chains archived "
        "now are left out. Levels are counts of teams (basis `all`): `coverage` says how many teams were counted "
        "(active at either moment) and how many of them you may not see. Computed in the database."
    )
    + MATURITY.note,
    responses=MATURITY.responses(MaturityReport, 401, 422),
)
async def maturity(ctx: Ctx, query: Annotated[MaturityQuery, Query()], media: Accepted) -> Response:
    return await MATURITY.respond(ctx, media, await maturity_report(ctx, query.period, query.as_of, query.chain))


@router.get(
    "/v1/reports/allocations",
    response_model=AllocationReport,
    summary="Investment split per chain for a period",
    description=(
        "For one period: each chain owner's split between maintenance (beheer), security "
        "(beveiliging) and renewal (vernieuwing) with its budget, the overall split weighted by budget, "
        "and the chains (not archived) that have no allocation for the period yet (`missing`). "
        "Archived chains and allocations are left out. Budgets and shares are money: they are computed over "
        "the allocations you may see, and `coverage` (basis `visible`) says over how many and how many were "
        "left out. Computed in the database."
    )
    + ALLOCATIONS.note,
    responses=ALLOCATIONS.responses(AllocationReport, 401, 422),
)
async def allocations_report(ctx: Ctx, query: Annotated[AllocationReportQuery, Query()], media: Accepted) -> Response:
    report = await allocation_report(ctx, query.period, query.chain)
    return await ALLOCATIONS.respond(ctx, media, report, filename=f"allocations-{query.period}")


W = DEBT_WEIGHTS


@router.get(
    "/v1/reports/foundation",
    response_model=FoundationReport,
    summary="Foundation per chain: support, releases, findings, technical debt",
    description=(
        'How good the foundation is ("een goed fundament": applications that always work, are up to date '
        "and are protected against criminals), per value chain (IV-waardeketen) and overall, measured on "
        "`as_of` (default: today, UTC):\n\n"
        "- `applications_past_support`: `supported_until` before `as_of` (it is the last supported day);\n"
        "- `applications_support_ending`: supported on `as_of` but at most 6 calendar months longer;\n"
        "- release age: `applications_without_recent_release` (last release more than 12 calendar months "
        "before `as_of`), the `oldest_release` and its age in days (`max_release_age_days`);\n"
        "- `open_critical_findings` and `open_high_findings`;\n"
        "- `eliminate_with_critical_findings`: applications being phased out (disposition `eliminate`) that "
        "still carry critical findings; they are also listed in `flagged` with their hrefs.\n\n"
        "**Technical-debt score** (technische schuld), not normalised: "
        f"`{W['critical_finding']} * open critical findings + {W['high_finding']} * open high findings + "
        f"{W['application_past_support']} * applications past support + "
        f"{W['application_support_ending']} * applications whose support ends within 6 months + "
        f"{W['application_without_recent_release']} * applications without a release in 12 months`. "
        "Medium and low findings do not count. `technical_debt_per_application` divides it by the number of "
        "applications (one decimal, half up) to compare chains of different size. The weights are in the "
        "answer (`weights`).\n\n"
        "**Who addresses it**: `attention` lists the applications past support on `as_of` or with open critical "
        "findings, each with the initiatives that renew, replace or retire it. The portfolio service keeps that "
        "link and is asked for it, with your token, one request per 100 applications "
        "(`GET /portfolio/v1/initiatives?application=<href>&...`); stopped initiatives do not count. "
        "`addressed: false` flags an application no initiative addresses, and `unaddressed` counts them. When "
        "the portfolio cannot be asked the report still answers: `addressed_by` and `addressed` are null "
        "(unknown, not unaddressed), `unaddressed` is null and `incomplete` says why.\n\n"
        "Only active applications count, of chains that are not archived; `chain` (repeatable) narrows the "
        "report, and the `overall` figures are over exactly the rows shown. **Need to know**: the figures are "
        "counts over every application, whatever its classification, so that a chain owner or a principle "
        "rule is never told the foundation is healthier than it is; a count reveals no application. "
        "`oldest_release` (and its age) and `flagged` describe applications, so they are taken only from "
        "those your clearance shows you. `coverage.counts` (basis `all`) says how many applications were "
        "counted and how many of them you may not see; `coverage.details` (basis `visible`) how many the "
        "dates and the lists were taken from and how many were left out; `flagged_not_shown` how many "
        "flagged applications are not listed. `attention` lists only applications you may see, and only the "
        "initiatives the portfolio shows you. Computed in the database."
    )
    + FOUNDATION.note,
    responses=FOUNDATION.responses(FoundationReport, 401, 422),
)
async def foundation(ctx: Ctx, query: Annotated[FoundationQuery, Query()], media: Accepted) -> Response:
    report = await foundation_report(ctx, query.as_of, query.chain)
    return await FOUNDATION.respond(ctx, media, report, filename=f"foundation-{report.as_of.isoformat()}")
