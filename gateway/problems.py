"""``/problems``: what each problem ``type`` means. Every problem the platform answers with has a
``type`` of ``/problems/<slug>``, so a client can follow it here."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.chassis.errors import PROBLEM_TYPES, NotFound, ProblemType, problem_responses
from services.chassis.queries import strict_router


class ProblemTypeRead(BaseModel):
    type: str = Field(description="The value of `type` in problem documents.", examples=["/problems/not-found"])
    slug: str
    status: int = Field(description="The HTTP status problems of this type come with.")
    title: str
    description: str


def _read(problem_type: ProblemType) -> ProblemTypeRead:
    return ProblemTypeRead(
        type=problem_type.uri,
        slug=problem_type.slug,
        status=problem_type.status,
        title=problem_type.title,
        description=problem_type.description,
    )


def problems_router() -> APIRouter:
    router = strict_router(tags=["problems"])

    @router.get("/problems", summary="Problem types", response_model=list[ProblemTypeRead])
    async def catalogue() -> list[ProblemTypeRead]:
        return [_read(pt) for pt in PROBLEM_TYPES.values()]

    @router.get(
        "/problems/{slug}",
        summary="One problem type",
        response_model=ProblemTypeRead,
        responses=problem_responses(404),
    )
    async def one(slug: str) -> ProblemTypeRead:
        problem_type = PROBLEM_TYPES.get(slug)
        if problem_type is None:
            raise NotFound(f"no problem type {slug!r}; see /problems")
        return _read(problem_type)

    return router
