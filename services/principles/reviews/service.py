"""Simplicity reviews: a fixed set of criteria scored 1..5, the outcome derived by a documented rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.chassis.auth import Principal
from services.chassis.errors import Forbidden, ValidationProblem
from services.chassis.resources import Collection, RefField
from services.chassis.uow import RequestContext
from services.principles.common import today
from services.principles.kinds import RECORD_NEED_TO_KNOW, classification_of, parse_target, unit_of
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

    def authorize(
        self, principal: Principal, action: str, *, record: SimplicityReview | None, parent: Any | None
    ) -> None:
        if action == "update" and record is not None and record.reviewer != principal.sub and not principal.is_admin:
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

    async def prepare(
        self, ctx: RequestContext, action: str, record: SimplicityReview | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A new review reads its subject by reference (its classification becomes the review's)."""
        if action != "create":
            return await super().prepare(ctx, action, record, data)
        target = parse_target(data["subject"]["href"], ["body", "subject", "href"], allow_collection=False)
        subject = (await fetch(ctx.upstreams, [target.href], ctx.principal)).get(target.href)
        if subject is None:
            raise ValidationProblem.field(
                ["body", "subject"], f"no such resource: {target.href}", "reference_not_found"
            )
        # Every call to another service is done: what is recorded about the subject follows it now.
        await follow_subjects(ctx, {target.href: subject})
        return {
            "subject": target.href,
            "subject_kind": target.kind,
            "reviewer": ctx.principal.sub,
            "reviewed_on": data.get("reviewed_on") or today(),
            "data_classification": classification_of(subject),
            "visible_to_unit": unit_of(target.kind, subject),
            "status": "recorded",
        }


reviews = Reviews(
    service="principles",
    name="simplicity-reviews",
    kind="simplicity review",
    model=SimplicityReview,
    read=ReviewRead,
    create=ReviewCreate,
    update=ReviewUpdate,
    query=ReviewQuery,
    need_to_know=RECORD_NEED_TO_KNOW,
    references={"subject": RefField("*", holds=False)},
    description=(
        '"Alle ontwerpen en projecten beoordelen we op eenvoud": reviews on simplicity (eenvoud) at the start '
        "and during execution, by architects. Each scores a fixed set of criteria 1..5 (5 = simplest); the "
        "outcome follows from the scores."
    ),
)
