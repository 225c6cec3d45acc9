"""Simplicity reviews: a fixed set of criteria scored 1..5, the outcome derived by a documented rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement

from services.chassis.auth import Principal
from services.chassis.errors import Forbidden, ValidationProblem
from services.chassis.resources import Collection, RefField
from services.chassis.uow import RequestContext
from services.principles.common import today
from services.principles.kinds import classification_of, need_to_know, parse_target, unit_of
from services.principles.reclassification import follow_subjects
from services.principles.reviews.models import SimplicityReview
from services.principles.reviews.schemas import (
    CONCERNS_BELOW,
    CRITERIA,
    FAIL_BELOW,
    ReviewCreate,
    ReviewQuery,
    ReviewRead,
    ReviewUpdate,
)
from services.principles.subjects import fetch


def derive_outcome(scores: Mapping[str, int]) -> str:
    values = [scores[name] for name in CRITERIA]
    total = sum(values)
    if min(values) <= 1 or total < FAIL_BELOW:
        return "fail"
    if min(values) <= 2 or total < CONCERNS_BELOW:
        return "concerns"
    return "pass"


class Reviews(Collection[SimplicityReview]):
    write_roles = ("architect",)

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        return need_to_know(principal, SimplicityReview.data_classification, SimplicityReview.visible_to_unit)

    def event_visibility(self, obj: SimplicityReview) -> tuple[str | None, str | None]:
        return obj.data_classification, obj.visible_to_unit

    def authorize(
        self, ctx: RequestContext, action: str, obj: SimplicityReview | None, values: Mapping[str, Any]
    ) -> None:
        super().authorize(ctx, action, obj, values)
        principal = ctx.principal
        if action == "update" and obj is not None and obj.reviewer != principal.sub and not principal.is_admin:
            raise Forbidden("only the reviewer (or an admin) changes a review")

    async def validate(self, ctx: RequestContext, obj: SimplicityReview | None, values: dict[str, Any]) -> None:
        reviewed_on = values.get("reviewed_on")
        if reviewed_on is not None and reviewed_on > today():
            raise ValidationProblem.field(["body", "reviewed_on"], "reviewed_on cannot be in the future")
        scores = {
            name: values.get(f"scores_{name}", getattr(obj, f"scores_{name}", None) if obj is not None else None)
            for name in CRITERIA
        }
        values["outcome"] = derive_outcome({k: int(v) for k, v in scores.items() if v is not None})

    async def create(self, ctx: RequestContext, body: BaseModel) -> SimplicityReview:
        """Read the subject by reference (before any transaction), then record the review."""
        assert isinstance(body, ReviewCreate)
        self.authorize(ctx, "create", None, {})
        target = parse_target(body.subject.href, ["body", "subject", "href"], allow_collection=False)
        subject = (await fetch(ctx.upstreams, [target.href], ctx.principal)).get(target.href)
        if subject is None:
            raise ValidationProblem.field(
                ["body", "subject"], f"no such resource: {target.href}", "reference_not_found"
            )
        values = self.to_columns(body.model_dump(exclude={"subject", "reviewed_on"}))
        await follow_subjects(ctx, {target.href: subject})
        return await self.insert(
            ctx,
            {
                **values,
                "subject": target.href,
                "subject_kind": target.kind,
                "reviewer": ctx.principal.sub,
                "reviewed_on": body.reviewed_on or today(),
                "data_classification": classification_of(subject),
                "visible_to_unit": unit_of(target.kind, subject),
                "status": "recorded",
            },
        )


reviews = Reviews(
    service="principles",
    name="simplicity-reviews",
    kind="simplicity review",
    model=SimplicityReview,
    read=ReviewRead,
    create=ReviewCreate,
    update=ReviewUpdate,
    query=ReviewQuery,
    references={"subject": RefField("*")},
    description=(
        '"Alle ontwerpen en projecten beoordelen we op eenvoud": reviews on simplicity (eenvoud) at the start '
        "and during execution, by architects. Each scores a fixed set of criteria 1..5 (5 = simplest); the "
        "outcome follows from the scores."
    ),
)
