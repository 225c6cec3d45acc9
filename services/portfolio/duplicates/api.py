from typing import Annotated

from fastapi import Query

from services.chassis.errors import problem_responses
from services.chassis.queries import strict_router
from services.chassis.resources import crud_router
from services.chassis.uow import Ctx
from services.portfolio.duplicates.dismissals import dismissals
from services.portfolio.duplicates.schemas import DuplicatePage, DuplicatesQuery
from services.portfolio.duplicates.service import duplicates

router = strict_router(tags=["duplicates"])
dismissals_router = crud_router(
    dismissals,
    update=False,
    descriptions={
        "create": (
            "Dismiss a candidate pair of `GET /v1/duplicates` with a reason (portfolio managers): it no "
            "longer shows there, for anyone. Both must be current records of `kind` that you may see (422 "
            "otherwise); a pair dismissed already is 409 naming the dismissal."
        ),
        "archive": "Undo a dismissal: the pair shows again in `GET /v1/duplicates` (when it still scores).",
    },
)


@router.get(
    "/v1/duplicates",
    response_model=DuplicatePage,
    summary="Things built twice (ontdubbelen)",
    description=(
        '"Waar nu op meerdere plaatsen ongeveer hetzelfde ontwikkeld wordt, gaan we ontdubbelen": pairs of '
        "EBOs (Eigen Beheerde Omgevingen) or initiatives that look like the same thing built twice, best "
        "first, each with a score from 0 to 100 and both hrefs, to start merging them. Names and "
        "descriptions are compared after normalising case, accents, punctuation and Dutch (and English) "
        'stop words and words like "app" or "tool" that name the form, not the function; the name '
        "counts 60 %, the description 40 %. Only records that share a telling word, a word start (Dutch "
        "compounds) or sort next to each other are compared, so this stays fast with many thousands. "
        "Archived and merged records are left out, and so are dismissed pairs (`/v1/duplicate_dismissals`), "
        "and so is everything you are not cleared to see (need to know): "
        "`coverage` says how many records were compared and how many were left out. Paged like every list "
        "(`limit`, `next`)."
    ),
    responses=problem_responses(401, 403, 422),
)
async def list_duplicates(ctx: Ctx, query: Annotated[DuplicatesQuery, Query()]) -> DuplicatePage:
    return await duplicates(ctx, query)
