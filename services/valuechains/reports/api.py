"""Reports for chain owners and the portfolio: staffing mix, investment split and the foundation."""

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.chassis.exports import Accepted, Export
from services.chassis.uow import Ctx
from services.valuechains.applications.figures import DEBT_WEIGHTS
from services.valuechains.reports.schemas import (
    AllocationReport,
    AllocationReportQuery,
    FoundationQuery,
    FoundationReport,
    StaffingQuery,
    StaffingReport,
)
from services.valuechains.reports.service import allocation_report, foundation_report, staffing_report
from services.valuechains.settings import ValuechainsSettings

router = APIRouter(tags=["reports"])

STAFFING = Export(filename="staffing", sections=("", "chains", "totals"))
ALLOCATIONS = Export(filename="allocations", sections=("", "chains", "missing", "overall"))
FOUNDATION = Export(filename="foundation", sections=("", "chains", "overall", "flagged"))


@router.get(
    "/v1/reports/staffing",
    response_model=StaffingReport,
    summary="Staffing per chain: internal and external FTE",
    description=(
        "Per value chain (IV-waardeketen): active teams, internal FTE (eigen personeel), external FTE "
        "(inhuur, partners) and the external share in percent. Chains whose external share is above "
        "the configured threshold (`IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD`, default 30) are flagged: "
        "the strategy asks for a better internal/external ratio with a flexible shell of externals.\n\n"
        "Archived chains and teams are left out. The `totals` are over the same rows, so the rows add "
        "up to them exactly. Teams and FTE are counts: every team counts, and `coverage` (basis `all`) says "
        "over how many teams and how many of them you may not see. Computed in the database."
    )
    + STAFFING.note,
    responses=STAFFING.responses(StaffingReport, 401, 422),
)
async def staffing(ctx: Ctx, query: Annotated[StaffingQuery, Query()], media: Accepted) -> Response:
    threshold = ctx.settings_as(ValuechainsSettings).external_share_threshold
    return await STAFFING.respond(ctx, media, await staffing_report(ctx, threshold, query.chain))


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
        "Only active applications count, of chains that are not archived; `chain` (repeatable) narrows the "
        "report, and the `overall` figures are over exactly the rows shown. **Need to know**: the figures are "
        "counts over every application, whatever its classification, so that a chain owner or a principle "
        "rule is never told the foundation is healthier than it is; a count reveals no application. "
        "`oldest_release` (and its age) and `flagged` describe applications, so they are taken only from "
        "those your clearance shows you. `coverage.counts` (basis `all`) says how many applications were "
        "counted and how many of them you may not see; `coverage.details` (basis `visible`) how many the "
        "dates and the list were taken from and how many were left out; `flagged_not_shown` how many "
        "flagged applications are not listed. Computed in the database."
    )
    + FOUNDATION.note,
    responses=FOUNDATION.responses(FoundationReport, 401, 422),
)
async def foundation(ctx: Ctx, query: Annotated[FoundationQuery, Query()], media: Accepted) -> Response:
    report = await foundation_report(ctx, query.as_of, query.chain)
    return await FOUNDATION.respond(ctx, media, report, filename=f"foundation-{report.as_of.isoformat()}")
