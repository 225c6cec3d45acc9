from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from services.chassis.errors import ValidationProblem
from services.chassis.exports import Accepted, Export
from services.chassis.queries import strict_router
from services.chassis.uow import Ctx
from services.portfolio.reports.reconciliation import reconciliation_report
from services.portfolio.reports.schemas import RatioReport, ReconciliationReport, YearRatioReport
from services.portfolio.reports.service import COUNTED_STATUSES, ratio_report, year_ratio_report

router = strict_router(tags=["reports"])

RATIO = Export(
    filename="ratio",
    sections=("", "overall", "per_value_chain", "funding", "trend", "renewal_funded_only_incidentally"),
    names=("value_chain.href",),
    exclude=("rounding",),
)
RECONCILIATION = Export(
    filename="reconciliation",
    sections=("", "overall", "chains"),
    names=("value_chain.href",),
    exclude=("rounding",),
)

Year = Annotated[int, Field(ge=1900, le=2199, description="A calendar year.", examples=[2026])]


class RatioQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The round (id or href). Give this or `year`.",
        examples=["019a0001-0003-7000-8000-000000000004"],
    )
    year: Year | None = Field(
        default=None, description="A calendar year: every initiative's money in it. Give this or `round`."
    )


@router.get(
    "/v1/reports/ratio",
    response_model=RatioReport | YearRatioReport,
    summary="Run : renewal ratio of a round, or of a year",
    description=(
        "The strategy's headline figure: money split by kind into maintenance, security and renewal, and the "
        'ratio run ("beheer" = maintenance + security, keeping security in order counts as beheer) : renewal '
        '("vernieuwing"). It was about 66:34 in 2022 and must shift toward renewal. Also per value chain (by '
        "href; expand through the gateway with `?expand=per_value_chain.value_chain`), and structural vs "
        "incidental money per kind, flagging renewal funded only incidentally (its later maintenance has no "
        "structural money). Give exactly one of `round` and `year` (422 otherwise).\n\n"
        "- `?round=`: the budget of the round's live items (decision start, continue or adjust; stop and defer "
        "do not count) against the round's target, and the trend over all closed rounds in order. Budgets are "
        "those recorded on the round's items; kind, funding and value chain are the initiative's now for a "
        "draft or open round, and as they were when it closed for a closed round, so a closed round's figures "
        "never move.\n"
        "- `?year=`: every initiative's money in that calendar year (its `budget_per_year`), counting the "
        f"initiatives that are {', '.join(COUNTED_STATUSES)} (not stopped; archived ones are gone), against "
        "the open round's target when a round is open.\n\n"
        "Computed in the database over the initiatives you are cleared to see now: an item or initiative "
        "classified above your clearance is left out, in closed rounds too, and `coverage` says how many "
        "records were counted and how many left out. Rounding: percentages have one decimal, largest "
        "remainder, parts add up to 100."
    )
    + RATIO.note,
    responses=RATIO.responses(RatioReport, 401, 403, 422, 503),
)
async def ratio(ctx: Ctx, query: Annotated[RatioQuery, Query()], media: Accepted) -> Response:
    if query.round is not None and query.year is None:
        report = await ratio_report(ctx, query.round)
        return await RATIO.respond(ctx, media, report, filename=f"ratio-{report.period}")
    if query.year is not None and query.round is None:
        return await RATIO.respond(ctx, media, await year_ratio_report(ctx, query.year), filename=f"ratio-{query.year}")
    msg = "give exactly one of round and year"
    raise ValidationProblem(
        msg, errors=[{"loc": ["query", f], "msg": msg, "type": "one_of"} for f in ("round", "year")]
    )


class ReconciliationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Year


@router.get(
    "/v1/reports/reconciliation",
    response_model=ReconciliationReport,
    summary="The year's money beside the chain owners' allocations",
    description=(
        "Reconciles two accounts of a year that are kept apart: each chain owner's allocation split between "
        "maintenance, security and renewal (the valuechains service's `GET /valuechains/v1/allocations?year=`, "
        "read by reference with your token and never stored) and the portfolio's money for that chain and "
        "year by kind (every initiative's `budget_per_year`, counting the initiatives that are "
        f"{', '.join(COUNTED_STATUSES)}). Per value chain: the owner's split (the allocation for the whole "
        "year when there is one, otherwise those of its halves, quarters or tertiaries combined weighted by "
        "budget), the portfolio's split, the difference in percentage points per kind (run = maintenance + "
        "security) and in euros of the total, and `flagged` when a difference exceeds the threshold "
        "(`threshold_points`, IV_PORTFOLIO_RECONCILIATION_THRESHOLD_POINTS, default 5). A chain with an "
        "allocation but no money is `no_portfolio_money`, one with money but no allocation "
        "`no_allocation`. `overall` holds every allocation of the year, budget-weighted, beside all the "
        "money. The money is computed over the initiatives you may see (`coverage` says how many were left "
        "out). The valuechains service unreachable: 503, nothing computed."
    )
    + RECONCILIATION.note,
    responses=RECONCILIATION.responses(ReconciliationReport, 401, 403, 422, 503),
)
async def reconciliation(ctx: Ctx, query: Annotated[ReconciliationQuery, Query()], media: Accepted) -> Response:
    report = await reconciliation_report(ctx, query.year)
    return await RECONCILIATION.respond(ctx, media, report, filename=f"reconciliation-{query.year}")
