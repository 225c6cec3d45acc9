from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.chassis.errors import problem_responses
from services.chassis.uow import Ctx
from services.portfolio.reports.schemas import RatioReport
from services.portfolio.reports.service import ratio_report

router = APIRouter(tags=["reports"])


class RatioQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: str = Field(
        min_length=1,
        max_length=200,
        description="The round (id or href).",
        examples=["019a0001-0003-7000-8000-000000000004"],
    )


@router.get(
    "/v1/reports/ratio",
    response_model=RatioReport,
    summary="Run : renewal ratio of a round",
    description=(
        "The strategy's headline figure: the budget of the round's live items (decision start, continue "
        "or adjust; stop and defer do not count) split by kind into maintenance, security and renewal, "
        'and the ratio run ("beheer" = maintenance + security, keeping security in order counts as '
        'beheer) : renewal ("vernieuwing"), against the round\'s target. It was about 66:34 in 2022 and '
        "must shift toward renewal. Also per value chain (by href; expand through the gateway with "
        "`?expand=per_value_chain.value_chain`), the trend over all closed rounds in order, and "
        "structural vs incidental money per kind, flagging renewal funded only incidentally (its later "
        "maintenance has no structural money). Budgets are those recorded on the round's items; kind, "
        "funding and value chain are the initiative's now for a draft or open round, and as they were when "
        "it closed for a closed round, so a closed round's figures never move. Computed in the database "
        "over the initiatives you are cleared to see now: an item whose initiative was reclassified above "
        "your clearance is left out, in closed rounds too. Rounding: percentages have one decimal, largest "
        "remainder, parts add up to 100."
    ),
    responses=problem_responses(401, 403, 422),
)
async def ratio(ctx: Ctx, query: Annotated[RatioQuery, Query()]) -> RatioReport:
    return await ratio_report(ctx, query.round)
