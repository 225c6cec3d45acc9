from fastapi import APIRouter
from starlette.responses import Response

from services.chassis.errors import problem_responses
from services.chassis.resources import ETAG_HEADER, IfMatchOptional, ResourceId, crud_router, single_headers, write
from services.chassis.uow import Ctx
from services.portfolio.ebos.schemas import EboDecisionCreate, EboRead
from services.portfolio.ebos.service import DECIDE, ebos

router = crud_router(
    ebos,
    descriptions={
        "create": (
            "Register an EBO (Eigen Beheerde Omgeving). A `contributor` registers for their own unit: the "
            "token's `unit` claim must equal `unit` (403 otherwise); a portfolio manager for any unit. An "
            "optional `value_chain` is checked with the valuechains service first (unknown 422, "
            "unreachable 503, nothing stored). It starts as `registered`."
        ),
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

decisions = APIRouter()  # tagged "ebos" by the router it joins


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
        "decision (`ebos.updated` with `status` and `decision`). Portfolio managers only. Send "
        "`If-Match` to be sure you decide on the version you read."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422)},
)
async def decide(ctx: Ctx, id: ResourceId, body: EboDecisionCreate, if_match: IfMatchOptional = None) -> Response:
    obj = await ebos.decide(ctx, body)
    return await ctx.respond(await ebos.render(ctx, obj), headers=single_headers(obj))


router.include_router(decisions)
