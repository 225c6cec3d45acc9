from enum import Enum
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from services.chassis.concurrency import etag
from services.chassis.db import utcnow
from services.chassis.errors import problem_responses
from services.chassis.exports import Accepted, Export
from services.chassis.figures import read_tally
from services.chassis.queries import strict_router
from services.chassis.resources import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatchOptional,
    ResourceId,
    crud_router,
    write,
)
from services.chassis.uow import Ctx
from services.principles.common import today
from services.principles.explanations.schemas import (
    ApprovalBody,
    ConfirmationBody,
    ExplanationCreate,
    ExplanationRead,
    Register,
    RegisterQuery,
    RejectionBody,
)
from services.principles.explanations.service import (
    APPROVE,
    CONFIRM,
    REJECT,
    REQUEST,
    confirm,
    decide,
    explanations,
    register_filters,
    register_query,
    register_row,
    register_tally,
    request,
)

router = strict_router()
TAGS: list[str | Enum] = ["explanations"]  # on each route: the included standard routes carry their own

REGISTER_EXPORT = Export(filename="explanations-register", sections=("items",), names=("subject",))


@router.get(
    "/v1/explanations/register",
    tags=TAGS,
    response_model=Register,
    summary="Export the comply-or-explain register (CSV or JSON)",
    description=(
        'The register of explanations ("leg uit"), for transparency and the annual report: every '
        "explanation you may see, oldest first, with its principle, subject, reason, who asked, who "
        "approved or rejected and when, `review_by` and whether it still counts (`valid`). "
        "Filters, combined with AND: `year` (asked in that calendar year), `principle`, `status` and `chain` "
        "(about the chain or a subject of it), each repeatable but `year`. "
        "**Need to know**: the register lists only the explanations you may see; how "
        "many that is and how many were left out is in `coverage` (JSON) and, in either format, in the "
        "headers `IV-Records-Counted` and `IV-Records-Left-Out`."
    )
    + REGISTER_EXPORT.note,
    responses=REGISTER_EXPORT.responses(Register, 401, 403, 422, 503, description="The register."),
)
async def export_register(ctx: Ctx, query: Annotated[RegisterQuery, Query()], media: Accepted) -> Response:
    filters = await register_filters(ctx, query)
    on = today()
    coverage = (await read_tally(ctx.session, register_tally(ctx.principal, filters))).visible()
    rows = (await ctx.session.execute(register_query(ctx.principal, filters))).all()
    items = [register_row(obj, code, title, on) for obj, code, title in rows]
    body = Register.model_validate(
        {"generated_at": utcnow(), "count": len(items), "items": items, "coverage": coverage}
    )
    return await REGISTER_EXPORT.respond(ctx, media, body)


@write(
    router,
    "POST",
    "/v1/explanations",
    operation=REQUEST,
    tags=TAGS,
    response_model=ExplanationRead,
    status_code=201,
    summary='Ask to deviate from a principle, in advance ("leg uit")',
    description=(
        "Records why a subject deviates from a principle, before it does: `principle`, `subject` (href), "
        "`reason` and `review_by` (a future date after which it no longer counts). Asked by a "
        "portfolio_manager, an architect, or the subject's owner: a token with the `chain_owner` role whose "
        "`sub` is the `owner.subject` of the subject itself, or of the chain its `value_chain`/`chain` "
        "reference points at (read by reference with your token). A matching `sub` without that role is "
        "403: readers only read. "
        "It counts only once another architect approves it (`POST /v1/explanations/{id}/approve`). "
        "Reading the subject also brings the records about it (assessments, evaluations, explanations, "
        "reviews) to its current classification."
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 409, 413, 422, 503),
    },
)
async def create_explanation(ctx: Ctx, body: ExplanationCreate) -> Response:
    obj = await request(ctx, body)
    return await ctx.respond(
        await explanations.render(ctx, obj),
        status=201,
        headers={"ETag": etag(obj.version), "Location": explanations.href(obj.id)},
    )


FOUR_EYES = (
    "By an architect (or admin) who is not the requester: the requester gets 403 (four eyes). Only a "
    "`requested` explanation can be decided (409 otherwise). `If-Match` is optional; when given and stale, 412."
)


@write(
    router,
    "POST",
    "/v1/explanations/{id}/approve",
    operation=APPROVE,
    tags=TAGS,
    response_model=ExplanationRead,
    summary="Approve an explanation (four eyes)",
    description=(
        f"{FOUR_EYES} From now until `review_by` (which the body may change) the deviation counts as "
        "explained: the subject is re-evaluated for this principle at once (with your token), so its "
        "`deviates` becomes `explained`."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 503)},
)
async def approve_explanation(
    ctx: Ctx, id: ResourceId, body: ApprovalBody | None = None, if_match: IfMatchOptional = None
) -> Response:
    obj = await decide(ctx, body or ApprovalBody())
    return await ctx.respond(await explanations.render(ctx, obj), headers={"ETag": etag(obj.version)})


@write(
    router,
    "POST",
    "/v1/explanations/{id}/reject",
    operation=REJECT,
    tags=TAGS,
    response_model=ExplanationRead,
    summary="Reject an explanation (four eyes)",
    description=f"{FOUR_EYES} A note saying why is required.",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422)},
)
async def reject_explanation(
    ctx: Ctx, id: ResourceId, body: RejectionBody, if_match: IfMatchOptional = None
) -> Response:
    obj = await decide(ctx, body)
    return await ctx.respond(await explanations.render(ctx, obj), headers={"ETag": etag(obj.version)})


@write(
    router,
    "POST",
    "/v1/explanations/{id}/confirm",
    operation=CONFIRM,
    tags=TAGS,
    response_model=ExplanationRead,
    summary="Confirm an explanation under its principle's new revision (four eyes)",
    description=(
        "When a principle gets a new revision (its statement, rationale, implications, rule or `applies_to` "
        "change), every approved explanation asked under an older revision `needs_review`: it keeps counting "
        "until its `review_deadline` (`IV_PRINCIPLES_REVISION_REVIEW_DAYS`, 90 days by default, never beyond "
        "`review_by`). An architect who is not the requester confirms that it still holds under the new "
        "revision, with a note (and optionally a new `review_by` within the maximum validity): it then counts "
        "until `review_by` again. Anything but an approved explanation that needs review is 409."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422)},
)
async def confirm_explanation(
    ctx: Ctx, id: ResourceId, body: ConfirmationBody, if_match: IfMatchOptional = None
) -> Response:
    obj = await confirm(ctx, body)
    return await ctx.respond(await explanations.render(ctx, obj), headers={"ETag": etag(obj.version)})


# After the register, so that /v1/explanations/register is not taken for an id.
router.include_router(
    crud_router(
        explanations,
        create=False,
        update=False,
        descriptions={
            "list": (
                "Filter by `principle`, `subject`, `value_chain` (the chain and what belongs to it now), `status`, "
                "`requested_by`; `review_by_before=<date>` lists "
                "approved explanations that expire by then (which expire this quarter?); `needs_review=true` those "
                "that need review after a new revision of their principle."
            ),
            "get": "One explanation; `valid` says whether it counts today.",
            "archive": (
                "Withdraw an explanation: by its requester while it is `requested`, or by an architect at any "
                "time. An archived explanation no longer counts."
            ),
        },
    )
)
