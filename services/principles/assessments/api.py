from enum import Enum

from starlette.responses import Response

from services.chassis.concurrency import etag
from services.chassis.errors import problem_responses
from services.chassis.queries import strict_router
from services.chassis.resources import ETAG_HEADER, LOCATION_HEADER, crud_router, write
from services.chassis.uow import Ctx
from services.principles.assessments.schemas import AssessmentRead, ManualAssessmentCreate
from services.principles.assessments.service import RECORD_MANUAL, assessments, record_manual

router = strict_router()
TAGS: list[str | Enum] = ["assessments"]  # on each route: the included standard routes carry their own


@write(
    router,
    "POST",
    "/v1/assessments",
    operation=RECORD_MANUAL,
    tags=TAGS,
    response_model=AssessmentRead,
    status_code=201,
    summary="Record a manual assessment (principles without a rule)",
    description=(
        "For an **active** principle that has no rule, an architect records the judgement by hand: "
        "`complies`, `deviates` or `not_applicable`, with a `note`. The subject is read by reference with "
        "your token (its facts are not kept, only their SHA-256); the assessment is pinned to the principle's "
        "current `revision`. A `deviates` covered by a valid explanation is recorded as `explained`. Older records "
        "about the subject follow its classification as read now. "
        "Principles with a rule are assessed by `POST /v1/evaluations` (409 here)."
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 409, 413, 422, 503),
    },
)
async def create_manual_assessment(ctx: Ctx, body: ManualAssessmentCreate) -> Response:
    obj = await record_manual(ctx, body)
    return await ctx.respond(
        await assessments.render(ctx, obj),
        status=201,
        headers={"ETag": etag(obj.version), "Location": assessments.href(obj.id)},
    )


router.include_router(
    crud_router(
        assessments,
        create=False,
        update=False,
        descriptions={
            "list": (
                "Filter by `principle`, `subject`, `value_chain` (the chain and what belongs to it now), "
                "`subject_kind`, `outcome`, `source` or `evaluation`; "
                "`latest=true` keeps only the latest assessment per principle and subject (the current state)."
            ),
            "get": "One assessment: which principle revision judged which subject, with what outcome, for whom.",
            "archive": "Architects only: withdraw an assessment recorded by mistake (it drops out of `latest`).",
        },
    )
)
