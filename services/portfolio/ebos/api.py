from starlette.responses import Response

from services.chassis.errors import problem_responses
from services.chassis.queries import strict_router
from services.chassis.resources import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatchOptional,
    ResourceId,
    created_headers,
    crud_router,
    single_headers,
    write,
)
from services.chassis.resources.pipeline import create as create_record
from services.chassis.uow import Ctx
from services.portfolio.ebos.schemas import EboCreate, EboDecisionCreate, EboRead, EboRegistered
from services.portfolio.ebos.service import DECIDE, REGISTER, ebos

router = crud_router(
    ebos,
    create=False,
    descriptions={
        "update": (
            "Keep the record current: the unit's contributors, or a portfolio manager. A contributor cannot "
            "move an EBO to another unit. The status changes only by a decision (`POST .../decision`)."
        ),
        "archive": (
            "Takes a record out of the register (a mistake, a double entry): portfolio managers (and admins) "
            "only, a contributor gets 403 also for their own unit's EBOs. Retiring a system is a decision "
            "(`POST .../decision` with `phased_out`)."
        ),
    },
)

decisions = strict_router()  # tagged "ebos" by the router it joins


@write(
    decisions,
    "POST",
    "/v1/ebos",
    operation=REGISTER,
    response_model=EboRegistered,
    status_code=201,
    summary="Register an EBO",
    description=(
        "Register an EBO (Eigen Beheerde Omgeving). A `contributor` registers for their own unit: the "
        "token's `unit` claim must equal `unit` (403 otherwise); a portfolio manager for any unit. An "
        "optional `value_chain` is checked with the valuechains service first (unknown or archived 422, "
        "unreachable 503, nothing stored). It starts as `registered`.\n\n"
        "The answer also says what it looks like already (ontdubbelen): `likely_duplicates`, best first, "
        "among the current EBOs and the applications of valuechains (their names fetched with your token, "
        "never copied) that you may see, scored as `GET /v1/duplicates` scores them. The EBO is registered "
        "either way; when valuechains cannot be asked, `duplicate_check.applications` is `unavailable`. "
        "Send `Idempotency-Key` to make a retry safe."
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 409, 413, 422, 503),
    },
)
async def register(ctx: Ctx, body: EboCreate) -> Response:
    obj = await create_record(ctx, REGISTER, body)
    likely, check = ctx.require_request().state.likely_duplicates
    shown = EboRegistered.model_validate(
        {**(await ebos.render(ctx, obj)).model_dump(), "likely_duplicates": likely, "duplicate_check": check}
    )
    return await ctx.respond(shown, status=201, headers=created_headers(obj, ebos.href(obj.id)))


@write(
    decisions,
    "POST",
    "/v1/ebos/{id}/decision",
    operation=DECIDE,
    response_model=EboRead,
    summary="Decide on an EBO",
    description=(
        "Moves an EBO (Eigen Beheerde Omgeving) along its lifecycle and records the decision with its "
        "reason and who took it: registered → under_review → adopted (taken over as a proper facility) | "
        "tolerated (may stay, under conditions) | phased_out (to be retired, often after ontdubbelen: "
        "merging it into another). A tolerated EBO can be reviewed again or phased out; an adopted one "
        "phased out. Any other move is 409 naming the allowed ones. The change feed keeps every "
        "decision (`ebos.updated` with `status` and `decision`). A duplicate is resolved by merging: "
        "`phased_out` with `merge_into` (the EBO that stays) sets `merged_into` on this one, and both leave "
        "`GET /v1/duplicates`. Portfolio managers only. Send "
        "`If-Match` to be sure you decide on the version you read."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422)},
)
async def decide(ctx: Ctx, id: ResourceId, body: EboDecisionCreate, if_match: IfMatchOptional = None) -> Response:
    obj = await ebos.decide(ctx, body)
    return await ctx.respond(await ebos.render(ctx, obj), headers=single_headers(obj))


router.include_router(decisions)
