"""Reports for chain owners and the portfolio: staffing mix and investment split."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.chassis.errors import problem_responses
from services.chassis.uow import Ctx
from services.valuechains.reports.schemas import (
    AllocationReport,
    AllocationReportQuery,
    StaffingQuery,
    StaffingReport,
)
from services.valuechains.reports.service import allocation_report, staffing_report
from services.valuechains.settings import ValuechainsSettings

router = APIRouter(tags=["reports"])


def service_settings(request: Request) -> ValuechainsSettings:
    settings: ValuechainsSettings = request.app.state.settings
    return settings


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
        "up to them exactly. Computed in the database."
    ),
    responses=problem_responses(401, 422),
)
async def staffing(ctx: Ctx, request: Request, query: Annotated[StaffingQuery, Query()]) -> StaffingReport:
    return await staffing_report(ctx, service_settings(request).external_share_threshold, query.chain)


@router.get(
    "/v1/reports/allocations",
    response_model=AllocationReport,
    summary="Investment split per chain for a period",
    description=(
        "For one period: each chain owner's split between maintenance (beheer), security "
        "(beveiliging) and renewal (vernieuwing) with its budget, the overall split weighted by budget, "
        "and the chains (not archived) that have no allocation for the period yet (`missing`). "
        "Archived chains and allocations are left out. Computed in the database."
    ),
    responses=problem_responses(401, 422),
)
async def allocations_report(ctx: Ctx, query: Annotated[AllocationReportQuery, Query()]) -> AllocationReport:
    return await allocation_report(ctx, query.period, query.chain)
