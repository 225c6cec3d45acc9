"""Chains: the standard endpoints, plus the explicit owner reassignment."""

from typing import Annotated

from fastapi import Body
from starlette.responses import Response

from services.chassis.errors import problem_responses
from services.chassis.resources import ETAG_HEADER, IfMatch, ResourceId, crud_router, single_headers, write
from services.chassis.uow import Ctx
from services.valuechains.chains.schemas import ChainRead, OwnerChange
from services.valuechains.chains.service import REASSIGN_OWNER, chains

FIGURES = (
    "`active_applications`, `open_critical_findings`, `open_high_findings` and `applications_past_support` "
    "(support ended before today, UTC). They are computed when the chain is read, never stored: they change "
    "when an application changes, without a new chain version or a chain event. Need to know: they count "
    "every active application of the chain, including confidential and secret ones the caller cannot see, "
    "because a count discloses no application while hiding findings would tell an owner without clearance, "
    "and the principles' rules, that the foundation is healthier than it is; `applications_not_visible` says "
    "how many of the counted applications the caller cannot see. The names, hrefs and details of classified "
    "applications stay hidden."
)

router = crud_router(
    chains,
    descriptions={
        "list": (
            "The IV-waardeketens. Filter by `code`, `domain`, or the owner's `owner_subject` / `owner_unit` "
            "(for example: the chains a ketenverantwoordelijke owns). Every chain carries its foundation "
            "figures (een goed fundament), derived from its applications for the whole page in one query: " + FIGURES
        ),
        "get": "One value chain with its owner and its foundation figures: " + FIGURES,
        "create": (
            "Register a value chain with exactly one accountable owner from operations "
            "(ketenverantwoordelijke). Admin only; `code` must be unique (409 otherwise)."
        ),
        "update": (
            "Change a chain's name, domain or mission. Only the chain's owner (role `chain_owner`, "
            "token `sub` = `owner.subject`) or an admin; another chain's owner gets 403. The owner "
            "itself is reassigned with `PUT /v1/chains/{id}/owner`."
        ),
        "archive": (
            "Archive a chain (admin only). Archived chains leave the staffing and allocation reports; "
            "their teams and allocations stay readable."
        ),
    },
)


@write(
    router,
    "PUT",
    "/v1/chains/{id}/owner",
    operation=REASSIGN_OWNER,
    response_model=ChainRead,
    summary="Reassign a chain's owner",
    description=(
        "Hand the chain to another accountable person from operations (a new ketenverantwoordelijke). "
        "This is an explicit, audited change, separate from editing the chain: admin only, with "
        "`If-Match` set to the chain's current ETag. The change feed records it as a `chains.updated` "
        "event whose `changes.owner` is `[old owner, new owner]`. From then on only the new owner "
        "manages the chain, its teams and its allocations."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 412, 413, 422, 428)},
)
async def reassign_owner(
    ctx: Ctx,
    id: ResourceId,
    owner: Annotated[OwnerChange, Body()],
    if_match: IfMatch = None,
) -> Response:
    chain = await chains.reassign_owner(ctx, owner)
    return await ctx.respond(await chains.render(ctx, chain), headers=single_headers(chain))
