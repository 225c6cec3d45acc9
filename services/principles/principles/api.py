from enum import Enum
from typing import Annotated, Any

from fastapi import Path, Query
from sqlalchemy import select

from services.chassis.errors import NotFound, ValidationProblem, problem_responses
from services.chassis.pagination import Page, PageQuery, apply_keyset, decode_cursor, next_link
from services.chassis.queries import strict_router
from services.chassis.resources import ResourceId, crud_router
from services.chassis.uow import Ctx
from services.principles.principles.models import Principle, PrincipleVersion
from services.principles.principles.schemas import NORMATIVE_NOTE, PrincipleVersionRead
from services.principles.principles.service import principles

router = strict_router()
TAGS: list[str | Enum] = ["principles"]  # on each route: the included standard routes carry their own


def _version(row: PrincipleVersion, current: int) -> PrincipleVersionRead:
    principle_href = principles.href(row.principle_id)
    return PrincipleVersionRead.model_validate(
        {
            "href": f"{principle_href}/versions/{row.revision}",
            "principle": {"href": principle_href},
            "revision": row.revision,
            "current": row.revision == current,
            "code": row.code,
            "category": row.category,
            "title": row.title,
            "statement": row.statement,
            "rationale": row.rationale,
            "implications": row.implications,
            "applies_to": row.applies_to,
            "rule": row.rule,
            "recorded_at": row.recorded_at,
            "recorded_by": row.recorded_by,
        }
    )


@router.get(
    "/v1/principles/{id}/versions",
    tags=TAGS,
    response_model=Page[PrincipleVersionRead],
    summary="List a principle's revisions",
    description=(
        f"Every revision of the principle, oldest first. {NORMATIVE_NOTE} Assessments and explanations "
        "name the revision they judged, so what they were held to stays readable."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def list_versions(ctx: Ctx, id: ResourceId, query: Annotated[PageQuery, Query()]) -> Any:
    principle: Principle = await principles.get(ctx, id)
    if query.after is not None and not isinstance(decode_cursor(query.after, 1)[0], int):
        raise ValidationProblem.field(["query", "after"], "not a cursor this service issued")
    stmt = select(PrincipleVersion).where(PrincipleVersion.principle_id == principle.id)
    rows = list((await ctx.session.scalars(apply_keyset(stmt, [PrincipleVersion.revision], query))).all())
    next_href = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_href = next_link(ctx.require_request(), ctx.public_prefix, [rows[-1].revision])
    return Page(items=[_version(r, principle.revision) for r in rows], next=next_href)


@router.get(
    "/v1/principles/{id}/versions/{revision}",
    tags=TAGS,
    response_model=PrincipleVersionRead,
    summary="Get one revision of a principle",
    description="What the principle demanded at that revision (its normative version). " + NORMATIVE_NOTE,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_version(
    ctx: Ctx, id: ResourceId, revision: Annotated[int, Path(ge=1, le=1_000_000, description="The revision.")]
) -> PrincipleVersionRead:
    principle: Principle = await principles.get(ctx, id)
    row = await ctx.session.get(PrincipleVersion, (principle.id, revision))
    if row is None:
        raise NotFound(f"principle {principle.code} has no revision {revision} (it is at {principle.revision})")
    return _version(row, principle.revision)


router.include_router(
    crud_router(
        principles,
        descriptions={
            "list": "The principles (spelregels) in their five categories; filter by `code`, `category`, `status`.",
            "get": "One principle with its current `revision`; earlier ones are under `versions`.",
            "create": (
                "Add a principle (architects only). With a `rule`, it is compiled (422 with line:column on a "
                "syntax error or an unknown function) and run on a representative subject of each kind in "
                "`applies_to`, built from the owning service's own API description (503 when that service "
                "does not answer; nothing is stored). An `active` principle with a rule is applied by every "
                "following evaluation: add it, then evaluate a collection to see at once what deviates."
            ),
            "update": (
                "Architects only. " + NORMATIVE_NOTE + " A new or changed rule, or new kinds, are checked as "
                "on create. Status moves: draft→active|retired, active→retired, retired→active (409 otherwise); "
                "an archived principle no longer changes (409)."
            ),
            "archive": (
                "Architects only. To stop applying a principle, retire it (`status: retired`) instead: archiving "
                "is for principles recorded by mistake. Assessments and explanations keep pointing at it."
            ),
        },
    )
)
