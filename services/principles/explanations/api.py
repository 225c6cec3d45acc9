import csv
import io
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Header
from starlette.responses import Response

from services.chassis.concurrency import etag
from services.chassis.db import utcnow
from services.chassis.errors import NotAcceptable, problem_responses
from services.chassis.figures import read_tally
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
    REGISTER_COLUMNS,
    ApprovalBody,
    ConfirmationBody,
    ExplanationCreate,
    ExplanationRead,
    Register,
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
    register_query,
    register_row,
    register_tally,
    request,
)

router = APIRouter()
TAGS: list[str | Enum] = ["explanations"]  # on each route: the included standard routes carry their own

JSON = "application/json"
CSV = "text/csv"

COVERAGE_HEADERS = {
    "IV-Records-Counted": {
        "description": "Explanations in the export: those you may see (need to know; `coverage.counted` in JSON).",
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
    },
    "IV-Records-Left-Out": {
        "description": "Explanations in the register left out because you may not see them (`coverage.left_out`).",
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
    },
}


def negotiate(accept: str | None, offered: tuple[str, ...] = (JSON, CSV)) -> str:
    """The best of ``offered`` for an Accept header (absent: the first); 406 when none is acceptable."""
    if accept is None or not accept.strip():
        return offered[0]
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        for rank, candidate in enumerate(offered):
            kind = candidate.split("/")[0]
            if quality > 0 and media in (candidate, f"{kind}/*", "*/*"):
                score = (quality, -rank, candidate)
                best = score if best is None or score > best else best
    if best is None:
        raise NotAcceptable(f"the register is available as {' or '.join(offered)}; Accept was {accept!r}")
    return best[2]


@router.get(
    "/v1/explanations/register",
    tags=TAGS,
    response_model=Register,
    summary="Export the comply-or-explain register (CSV or JSON)",
    description=(
        'The whole register of explanations ("leg uit"), for transparency and the annual report: every '
        "explanation you may see, oldest first, with its principle, subject, reason, who asked, who "
        "approved or rejected and when, `review_by` and whether it still counts (`valid`). "
        "Choose the format with `Accept`: `application/json` (default) or `text/csv`; anything else is 406. "
        "In CSV, a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading single "
        "quote (`'`), so that a spreadsheet shows it as text instead of running it as a formula; JSON gives "
        "every value as stored. **Need to know**: the register lists only the explanations you may see; how "
        "many that is and how many were left out is in `coverage` (JSON) and, in either format, in the "
        "headers `IV-Records-Counted` and `IV-Records-Left-Out`."
    ),
    responses={
        200: {
            "content": {CSV: {"schema": {"type": "string"}, "example": ",".join(REGISTER_COLUMNS) + "\r\n"}},
            "description": "The register.",
            "headers": COVERAGE_HEADERS,
        },
        **problem_responses(401, 403, 406, 422),
    },
)
async def export_register(
    ctx: Ctx,
    accept: Annotated[str | None, Header(description="`application/json` or `text/csv`.")] = None,
) -> Response:
    media_type = negotiate(accept)
    on = today()
    coverage = (await read_tally(ctx.session, register_tally(ctx.principal))).visible()
    rows = (await ctx.session.execute(register_query(ctx.principal))).all()
    items = [register_row(obj, code, title, on) for obj, code, title in rows]
    counted = {"IV-Records-Counted": str(coverage.counted), "IV-Records-Left-Out": str(coverage.left_out)}
    if media_type == CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=REGISTER_COLUMNS)
        writer.writeheader()
        for item in items:
            writer.writerow({k: _csv_value(v) for k, v in item.items()})
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="explanations-register.csv"',
                "Vary": "Accept",
                **counted,
            },
        )
    body = Register.model_validate(
        {"generated_at": utcnow(), "count": len(items), "items": items, "coverage": coverage}
    )
    return Response(body.model_dump_json(), media_type=JSON, headers={"Vary": "Accept", **counted})


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    """A cell as text; one that a spreadsheet would take for a formula gets a leading single quote."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
                "approved explanations that expire by then (which expire this quarter?)."
            ),
            "get": "One explanation; `valid` says whether it counts today.",
            "archive": (
                "Withdraw an explanation: by its requester while it is `requested`, or by an architect at any "
                "time. An archived explanation no longer counts."
            ),
        },
    )
)
