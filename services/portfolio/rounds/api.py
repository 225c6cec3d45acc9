from typing import Annotated, Any

from fastapi import Path, Query
from starlette.responses import Response

from services.chassis.errors import NotFound, problem_responses
from services.chassis.exports import Accepted, Export
from services.chassis.pagination import Page
from services.chassis.queries import strict_router
from services.chassis.resources import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatch,
    IfMatchOptional,
    ResourceId,
    created_headers,
    crud_router,
    single_headers,
    write,
)
from services.chassis.resources.pipeline import create, update
from services.chassis.uow import Ctx
from services.portfolio.rounds.diff import diff as round_diff
from services.portfolio.rounds.items import round_items
from services.portfolio.rounds.schemas import (
    DiffQuery,
    RoundDiff,
    RoundItemCreate,
    RoundItemQuery,
    RoundItemRead,
    RoundItemUpdate,
    RoundRead,
)
from services.portfolio.rounds.service import ADD_ITEM, CLOSE, OPEN, UPDATE_ITEM, rounds

router = crud_router(
    rounds,
    descriptions={
        "create": (
            "A new round of the rolling portfolio starts as `draft`. `target` {run, renewal} must add up to "
            "100 (422 otherwise). With `from_round` it starts from that round: its items (initiative, rank, "
            "decision, note, budget) are copied as the starting point, except the ones it stopped; every "
            "copy is on record in the change feed. A budget is copied as decided when both rounds plan the same "
            "year; a round for another year starts from each initiative's money in its own year."
        ),
        "update": "Name, period and target, while the round is not closed: a closed round is frozen (409).",
        "archive": "A draft or open round can be archived; a closed round is frozen (409).",
    },
)

ItemId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The item's id.")]
FROZEN_NOTE = "A closed round is frozen: this is then 409."

extra = strict_router()  # tagged "rounds" by the router it joins
DIFF = Export(
    filename="round-diff",
    sections=("", "summary", "added", "removed", "decisions_changed", "rank_moves", "budget_moves"),
    names=("round.href", "against.href"),
)


@write(
    extra,
    "POST",
    "/v1/rounds/{id}/open",
    operation=OPEN,
    response_model=RoundRead,
    summary="Open a round",
    description=(
        "draft → open: the round is now the current rolling-portfolio round. Only one round is open at a "
        "time, kept by the database: while another is open this is 409 naming it (`open_round`), also when "
        "two rounds are opened at the same moment (one of them wins). Any other move is 409 naming the "
        "allowed ones. Items can still change while it is open. Send `If-Match` to be sure you open the "
        "version you read."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 422)},
)
async def open_round(ctx: Ctx, id: ResourceId, if_match: IfMatchOptional = None) -> Response:
    obj = await rounds.open(ctx)
    return await ctx.respond(await rounds.render(ctx, obj), headers=single_headers(obj))


@write(
    extra,
    "POST",
    "/v1/rounds/{id}/close",
    operation=CLOSE,
    response_model=RoundRead,
    summary="Close a round",
    description=(
        "open → closed. From then on the round is frozen: changing it, its items, or archiving it is 409, "
        "and its figures join the ratio report's trend. Closing records with each item its initiative's "
        "kind, funding and value chain as they are now (beside the budget recorded when it was added), so "
        "the round's ratio report never moves when an initiative changes later. Start the next round from "
        "it with `POST /v1/rounds` and `from_round`."
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 422)},
)
async def close_round(ctx: Ctx, id: ResourceId, if_match: IfMatchOptional = None) -> Response:
    obj = await rounds.close(ctx)
    return await ctx.respond(await rounds.render(ctx, obj), headers=single_headers(obj))


@extra.get(
    "/v1/rounds/{id}/items",
    response_model=Page[RoundItemRead],
    summary="List a round's items",
    description=(
        "The items by rank, paged. Filter by `decision` or by the `value_chain` (href) of the initiative "
        "(in a closed round: the chain it served when the round closed), e.g. a chain owner's \"which "
        'initiatives in this round touch my chain?". Items whose initiative you are not cleared to see are '
        "left out."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def list_items(ctx: Ctx, id: ResourceId, query: Annotated[RoundItemQuery, Query()]) -> Any:
    return await rounds.list_items(ctx, id, query)


@write(
    extra,
    "POST",
    "/v1/rounds/{id}/items",
    operation=ADD_ITEM,
    response_model=RoundItemRead,
    status_code=201,
    summary="Add an initiative to a round",
    description=(
        "Places an initiative in the round with a rank (unique within the round: 409 when taken, naming "
        "the item that holds it only when you may see that item), a decision and a note. `budget_eur` "
        "defaults to the initiative's money in the round's year now (its `budget_per_year` for the year of "
        "the round's `period`: a 2026-T3 round takes the money of 2026) and is kept with the item, so the "
        "round's figures do not move when the initiative's budget changes later. An initiative appears once per "
        "round (409). " + FROZEN_NOTE
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
async def add_item(ctx: Ctx, id: ResourceId, body: RoundItemCreate) -> Response:
    item = await create(ctx, ADD_ITEM, body)
    return await ctx.respond(
        await round_items.render(ctx, item), status=201, headers=created_headers(item, round_items.href_of(item))
    )


@extra.get(
    "/v1/rounds/{id}/items/{item_id}",
    response_model=RoundItemRead,
    summary="Get one item of a round",
    description="One item with its own version: the `ETag` to send as `If-Match` when changing it.",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(401, 403, 404, 422)},
)
async def get_item(ctx: Ctx, id: ResourceId, item_id: ItemId) -> Response:
    round_ = await rounds.get(ctx, id)
    item = await round_items.locate(ctx, round_, {"item_id": item_id}, "item_id")
    if item is None:
        raise NotFound(f"no item {item_id} in round {id}")
    return await ctx.respond(await round_items.render(ctx, item), headers=single_headers(item))


@write(
    extra,
    "PATCH",
    "/v1/rounds/{id}/items/{item_id}",
    operation=UPDATE_ITEM,
    response_model=RoundItemRead,
    summary="Change an item of a round",
    description=(
        "Move it (rank: 409 when taken, naming the item that holds it only when you may see that item), "
        "change the decision, the note or the budget decided on. Send only what changes, with `If-Match` "
        "set to the item's ETag (428 without, 412 when stale). Write down why in `note`: the diff between "
        "rounds shows it with every change. " + FROZEN_NOTE
    ),
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428)},
)
async def update_item(
    ctx: Ctx, id: ResourceId, item_id: ItemId, body: RoundItemUpdate, if_match: IfMatch = None
) -> Response:
    item = await update(ctx, UPDATE_ITEM, body)
    return await ctx.respond(await round_items.render(ctx, item), headers=single_headers(item))


@extra.get(
    "/v1/rounds/{id}/diff",
    response_model=RoundDiff,
    summary="What changed between two rounds",
    description=(
        "Compares this round with `against` (usually the previous round), for the board memo: initiatives "
        "added and removed, decisions changed, rank moves and budget moves (the budget recorded on each "
        "item), each with this round's note and the other round's note. `live_budget_*` sum the items that "
        "are not stopped or deferred. Initiatives you are not cleared to see are left out of every part, "
        "budgets included, and `coverage` says for each round over how many items the diff is computed and "
        "how many were left out. A rank move says how many places the initiative moved in the ranking you "
        "see (`places_up`, `places_down`, from `position_before` to `position_after`): places, not a "
        "difference of rank numbers."
    )
    + DIFF.note,
    responses=DIFF.responses(RoundDiff, 401, 403, 404, 422),
)
async def diff(ctx: Ctx, id: ResourceId, query: Annotated[DiffQuery, Query()], media: Accepted) -> Response:
    return await DIFF.respond(ctx, media, await round_diff(ctx, id, query.against), filename=f"round-diff-{id}")


router.include_router(extra)
