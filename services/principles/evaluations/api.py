from typing import Any

from starlette.responses import Response

from services.chassis.concurrency import etag
from services.chassis.errors import problem_responses
from services.chassis.queries import strict_router
from services.chassis.resources import ETAG_HEADER, LOCATION_HEADER, ResourceId, crud_router, write
from services.chassis.uow import Ctx
from services.principles.evaluations.schemas import EvaluationCreate, EvaluationRead
from services.principles.evaluations.service import EVALUATE, EVALUATOR_ROLES, evaluations, run, shown_assessments

router = strict_router(tags=["evaluations"])

EVALUATE_DESCRIPTION = f"""Judge live subjects against the principles ("pas toe of leg uit").

`subject.href` is one resource (`/portfolio/v1/initiatives/<id>`) or a collection
(`/portfolio/v1/initiatives`, optionally with the owner's filters: `?status=active`). The subjects are read
**by reference** from their owner with your token (a collection page by page, 100 at a time), so you judge
exactly what you may see; their facts are not stored, only a SHA-256 of what each rule saw. What this
service recorded about them before (assessments, evaluations of one subject, explanations, reviews) is brought
to their classification as read now, so need to know follows a subject that was classified higher.

For every subject and every **active** principle whose `applies_to` includes its kind and that has a rule,
one assessment is recorded, pinned to the principle's `revision`, on your behalf:
`complies`, `deviates`, `explained` (deviates, but an approved explanation whose `review_by` has not passed
covers it) or `error` (the rule could not judge this subject: its message is in `note`; never a 500).
Principles without a rule are listed in `manual_principles`: an architect assesses those by hand.

The answer is the evaluation with a `summary`; `assessments` holds every assessment for one subject, or
for a collection those that did not comply; `all_assessments` lists them all. Roles: {", ".join(EVALUATOR_ROLES)}
(or admin). Nothing is recorded when the owner is unreachable (503) or the subject unknown to you (422)."""


def _headers(evaluation_id: str, version: int) -> dict[str, str]:
    return {"ETag": etag(version), "Location": f"/principles/v1/evaluations/{evaluation_id}"}


@write(
    router,
    "POST",
    "/v1/evaluations",
    operation=EVALUATE,
    response_model=EvaluationRead,
    status_code=201,
    summary="Evaluate a subject or a collection against the principles",
    description=EVALUATE_DESCRIPTION,
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 409, 413, 422, 503),
    },
)
async def create_evaluation(ctx: Ctx, body: EvaluationCreate) -> Response:
    evaluation, _ = await run(ctx, body.subject.href)
    read: Any = await evaluations.render(ctx, evaluation)
    read.assessments = await shown_assessments(ctx, evaluation)
    return await ctx.respond(read, status=201, headers=_headers(evaluation.id, evaluation.version))


@router.get(
    "/v1/evaluations/{id}",
    response_model=EvaluationRead,
    summary="Get one evaluation, with its assessments",
    description="`assessments`: for one subject all of them, for a collection those that did not comply.",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(401, 403, 404, 422)},
)
async def get_evaluation(ctx: Ctx, id: ResourceId) -> Response:
    evaluation = await evaluations.get(ctx, id)
    read: Any = await evaluations.render(ctx, evaluation)
    read.assessments = await shown_assessments(ctx, evaluation)
    return await ctx.respond(read, headers={"ETag": etag(evaluation.version)})


# The list and batch get of the chassis; the single get above replaces its plain one.
_standard = crud_router(
    evaluations,
    create=False,
    update=False,
    archive=False,
    descriptions={"list": "Filter by `subject_kind`, `trigger` or `requested_by`. `assessments` is null in lists."},
)
router.routes.extend(r for r in _standard.routes if getattr(r, "path", "") != "/v1/evaluations/{id}")
