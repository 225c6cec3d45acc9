"""Applications: per chain (list, create) and across chains (list, batch get, get, change, archive)."""

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
from services.valuechains.applications.models import Application
from services.valuechains.applications.schemas import ApplicationCreate, ApplicationRead, ChainApplicationQuery
from services.valuechains.applications.service import applications
from services.valuechains.chains.rules import ensure_manages
from services.valuechains.chains.service import chains

NEED_TO_KNOW = (
    "Need to know: `confidential` and `secret` applications exist only for tokens whose `clearance` is at "
    "least that level; for everyone else they are 404 and absent from lists and batch gets."
)

router = crud_router(
    applications,
    create=False,
    descriptions={
        "list": (
            "The applications of every value chain (IV-waardeketen): the foundation (een goed fundament) the "
            "chains keep running. Filter by `chain` (href or id), `category`, `disposition`, `hosting` or "
            "`data_classification`; `?id=a&id=b` is the batch get other services and the gateway use to "
            f"resolve application references. {NEED_TO_KNOW}"
        ),
        "get": (
            "One application with its end of support, last release and open security findings (technische "
            f"schuld at a glance). {NEED_TO_KNOW}"
        ),
        "update": (
            "Change an application: only the owner of its chain (ketenverantwoordelijke, role `chain_owner`) "
            'or an admin. `findings` changes only the severities sent: `{"findings": {"critical": 0}}` '
            "records that the last critical finding is closed, which the chain's `open_critical_findings` "
            "shows at once. Sending `chain` moves the application to another chain, an audited change for "
            "which you must own both chains; the target chain must not be archived (409). Raising "
            "`data_classification` above your own clearance is 403."
        ),
        "archive": (
            "Archive an application that is no longer in use (the chain's owner or an admin). It leaves "
            "lists, the chain's figures and the foundation report, but stays readable by href."
        ),
    },
)


@router.get(
    "/v1/chains/{id}/applications",
    response_model=Page[ApplicationRead],
    summary="List a chain's applications",
    description=(
        "The applications this value chain (IV-waardeketen) delivers and keeps running, with the same "
        "filters, paging and batch get as `GET /v1/applications`. Archived applications are left out unless "
        f"`include_archived=true`. {NEED_TO_KNOW}"
    ),
    responses=problem_responses(401, 404, 422),
)
async def list_chain_applications(ctx: Ctx, id: ResourceId, query: Annotated[ChainApplicationQuery, Query()]) -> Any:
    chain = await chains.get(ctx, id)
    return await applications.list_page(ctx, query, where=[Application.chain_id == chain.id])


@router.post(
    "/v1/chains/{id}/applications",
    response_model=ApplicationRead,
    status_code=201,
    summary="Register an application of a chain",
    description=(
        "Register an application this chain delivers and keeps running, with its end of support "
        "(`supported_until`), last release and open security findings, so that its technical debt "
        "(technische schuld) counts for the chain. Only the chain's owner (ketenverantwoordelijke) or an "
        "admin; another chain's owner gets 403, and so does classifying it above your own clearance. "
        "`findings` left out are 0. Safe to retry with `Idempotency-Key`."
    ),
    responses={
        201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
async def create_chain_application(ctx: Ctx, id: ResourceId, body: ApplicationCreate) -> Response:
    chain = await chains.get(ctx, id)
    ensure_manages(ctx.principal, chain, "add applications to")
    if chain.status == ARCHIVED:
        raise Conflict(f"chain {chain.code} is archived: it takes no new applications")
    values = {**applications.to_columns(body.model_dump()), "chain_id": chain.id}
    application = await applications.insert(ctx, values)
    return await ctx.respond(
        await applications.render(ctx, application),
        status=201,
        headers={**single_headers(application, applications), "Location": applications.href(application.id)},
    )
