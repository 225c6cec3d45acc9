"""Teams: per chain (list, create) and across chains (list, batch get, get, change, archive)."""

from typing import Annotated, Any

from fastapi import Query
from starlette.responses import Response

from services.chassis.errors import Conflict, problem_responses
from services.chassis.pagination import Page
from services.chassis.resources import (
    ARCHIVED,
    ETAG_HEADER,
    LOCATION_HEADER,
    ResourceId,
    crud_router,
    single_headers,
)
from services.chassis.uow import Ctx
from services.valuechains.chains.rules import ensure_manages
from services.valuechains.chains.service import chains
from services.valuechains.teams.models import Team
from services.valuechains.teams.schemas import ChainTeamQuery, TeamCreate, TeamRead
from services.valuechains.teams.service import teams

router = crud_router(
    teams,
    create=False,
    descriptions={
        "list": (
            "Teams across all value chains. Filter by `chain` (href or id), `maturity`, `name` or "
            "`name_contains`; `?id=a&id=b` is the batch get other services and the gateway use to "
            "resolve team references."
        ),
        "get": "One team, with its chain as a reference and its FTE as numbers (3.5).",
        "update": (
            "Change a team: only the owner of its chain (ketenverantwoordelijke, role `chain_owner`) "
            "or an admin. Sending `chain` moves the team to another chain: an audited change (the "
            "change feed shows `chain` as [old, new]) for which you must own **both** chains, because "
            "it takes capacity from one owner and gives it to another; the target chain must not be "
            "archived (409)."
        ),
        "archive": (
            "Archive a team (the chain's owner or an admin). It leaves lists and the staffing report "
            "but stays readable by href."
        ),
    },
)


@router.get(
    "/v1/chains/{id}/teams",
    response_model=Page[TeamRead],
    summary="List a chain's teams",
    description=(
        "The teams working for this value chain (IV-waardeketen), with the same filters, paging and "
        "batch get as `GET /v1/teams`. Archived teams are left out unless `include_archived=true`."
    ),
    responses=problem_responses(401, 404, 422),
)
async def list_chain_teams(ctx: Ctx, id: ResourceId, query: Annotated[ChainTeamQuery, Query()]) -> Any:
    chain = await chains.get(ctx, id)
    return await teams.list_page(ctx, query, where=[Team.chain_id == chain.id])


@router.post(
    "/v1/chains/{id}/teams",
    response_model=TeamRead,
    status_code=201,
    summary="Add a team to a chain",
    description=(
        "Register an agile team under this chain. Only the chain's owner (ketenverantwoordelijke) or "
        "an admin; another chain's owner gets 403. FTE are non-negative numbers with at most one "
        "decimal (6.5). Safe to retry with `Idempotency-Key`."
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
async def create_chain_team(ctx: Ctx, id: ResourceId, body: TeamCreate) -> Response:
    chain = await chains.get(ctx, id)
    ensure_manages(ctx.principal, chain, "add teams to")
    if chain.status == ARCHIVED:
        raise Conflict(f"chain {chain.code} is archived: it takes no new teams")
    values = {**teams.to_columns(body.model_dump()), "chain_id": chain.id}
    team = await teams.insert(ctx, values)
    return await ctx.respond(
        await teams.render(ctx, team),
        status=201,
        headers={**single_headers(team, teams), "Location": teams.href(team.id)},
    )
