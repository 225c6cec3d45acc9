"""Allocations: PUT per chain and period, their revisions, and the flat, href-addressable collection."""

from typing import Annotated, Any

from fastapi import Path, Query
from starlette.responses import Response

from services.chassis.errors import problem_responses
from services.chassis.pagination import Page, PageQuery
from services.chassis.resources import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatch,
    IfNoneMatch,
    ResourceId,
    crud_router,
    single_headers,
    write,
)
from services.chassis.uow import Ctx
from services.valuechains.allocations.models import Allocation
from services.valuechains.allocations.periods import PERIOD_HELP, PERIOD_PATTERN, parse_period
from services.valuechains.allocations.schemas import (
    AllocationPut,
    AllocationRead,
    AllocationRevisionRead,
    ChainAllocationQuery,
)
from services.valuechains.allocations.service import SET_FOR_PERIOD, allocations
from services.valuechains.chains.service import chains

PeriodParam = Annotated[
    str,
    Path(
        max_length=16,
        # Documented, and enforced by parse_period with the same pattern and a message that helps.
        json_schema_extra={"pattern": PERIOD_PATTERN},
        description=f"The period: {PERIOD_HELP}. Anything else is 422.",
        openapi_examples={
            "year": {"summary": "A year", "value": "2027"},
            "half": {"summary": "A half year", "value": "2027-H1"},
            "quarter": {"summary": "A quarter", "value": "2027-Q3"},
        },
    ),
]

router = crud_router(
    allocations,
    create=False,
    update=False,
    descriptions={
        "list": (
            "Every chain's allocations as one collection, so that allocations are addressable by href: "
            "`?id=a&id=b` is the batch get the gateway and other services (principles evaluates "
            "allocations as subjects of kind `allocation`) use. Filter by `chain` (href or id), "
            "`period` or `year`. Ordered by period."
        ),
        "get": ("One allocation: the current split of a chain for a period. Its revisions are at `revisions_href`."),
        "archive": (
            "Archive an allocation (the chain's owner or an admin): it leaves lists and the allocation "
            "report, where the chain then shows as missing for that period. Setting the split again "
            "with PUT revives it as a new revision."
        ),
    },
)


@router.get(
    "/v1/chains/{id}/allocations",
    response_model=Page[AllocationRead],
    summary="List a chain's allocations (its periods)",
    description=(
        "The periods for which this chain's owner (ketenverantwoordelijke) has set a split between "
        "beheer, beveiliging and vernieuwing, ordered by period. Filter by `period` or `year`."
    ),
    responses=problem_responses(401, 404, 422),
)
async def list_chain_allocations(ctx: Ctx, id: ResourceId, query: Annotated[ChainAllocationQuery, Query()]) -> Any:
    chain = await chains.get(ctx, id)
    return await allocations.list_page(ctx, query, where=[Allocation.chain_id == chain.id])


@router.get(
    "/v1/chains/{id}/allocations/{period}",
    response_model=AllocationRead,
    summary="Read a chain's allocation for a period",
    description="The current split for the period, with its `ETag` to send as `If-Match` when replacing it.",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(401, 404, 422)},
)
async def get_chain_allocation(ctx: Ctx, id: ResourceId, period: PeriodParam) -> Response:
    period = parse_period(period, ["path", "period"])
    chain = await chains.get(ctx, id)
    allocation = await allocations.get_for_period(ctx, chain, period)
    return await ctx.respond(await allocations.render(ctx, allocation), headers=single_headers(allocation))


@write(
    router,
    "PUT",
    "/v1/chains/{id}/allocations/{period}",
    operation=SET_FOR_PERIOD,
    response_model=AllocationRead,
    summary="Set a chain's allocation for a period",
    description=(
        "The chain owner's weighing (afweging) of the period's budget between maintenance (beheer), "
        "security (beveiliging) and renewal (vernieuwing): integer percentages that must sum to 100 "
        "(422 saying so otherwise), the budget in whole euros and a required rationale.\n\n"
        "Only the chain's owner (role `chain_owner`, token `sub` = the chain's `owner.subject`) or an "
        "admin; another chain's owner gets 403.\n\n"
        "- **Create** (no allocation for this period yet): no precondition needed; `201` with "
        "`Location`. Send `If-None-Match: *` to be sure you never replace one (412 if it exists).\n"
        "- **Replace**: needs `If-Match` with the ETag you read (428 without, 412 when stale); `200`.\n\n"
        "Every change becomes a new revision; earlier ones stay readable at "
        "`.../allocations/{period}/revisions` and in the change feed."
    ),
    responses={
        200: {"description": "Replaced", "headers": ETAG_HEADER},
        201: {"description": "Created", "headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
    },
)
async def put_chain_allocation(
    ctx: Ctx,
    id: ResourceId,
    period: PeriodParam,
    body: AllocationPut,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    allocation, created = await allocations.set(ctx, id, period, body, if_match=if_match, if_none_match=if_none_match)
    headers = single_headers(allocation)
    if created:
        headers["Location"] = allocations.href(allocation.id)
    return await ctx.respond(await allocations.render(ctx, allocation), status=201 if created else 200, headers=headers)


@router.get(
    "/v1/chains/{id}/allocations/{period}/revisions",
    response_model=Page[AllocationRevisionRead],
    summary="Every revision of a chain's allocation",
    description=(
        "What the owner decided for this period and every change since, oldest first: who set it, "
        "when, and the split, budget and rationale of that revision. Paged like every list."
    ),
    responses=problem_responses(401, 404, 422),
)
async def list_allocation_revisions(
    ctx: Ctx, id: ResourceId, period: PeriodParam, query: Annotated[PageQuery, Query()]
) -> Any:
    period = parse_period(period, ["path", "period"])
    chain = await chains.get(ctx, id)
    allocation = await allocations.get_for_period(ctx, chain, period)
    return await allocations.revisions(ctx, allocation, query)
