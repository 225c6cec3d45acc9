"""Demo data for ``make run``. ILLUSTRATIVE ONLY: the strategy's example principles worded for this
demo, plus a few more; invented people, explanations and reviews.

The records are data, in ``demo/*.toml`` beside this module (what each file holds, and the story it
tells, is written at its top); this module says only how they are loaded, in this order: the
principles, the explanations (each asked at its ``requested_at``, which its history shows), when the
initiatives became active (which decides which explanations came late), a principle's revision
(whose explanations then need review), the simplicity reviews, all through the collections' own
operations. Their subjects are the portfolio's
demo initiatives, by href (``subjects.toml``), not checked while seeding: the other services may
not run yet. No assessments are seeded: they appear when someone evaluates.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field
from sqlalchemy import update

from services.chassis.demo import Day, Demo, DemoData, Moment, Numbered, Record
from services.chassis.uow import RequestContext
from services.principles.explanations.models import Explanation as StoredExplanation
from services.principles.explanations.service import explanations, record_activation
from services.principles.principles.service import principles
from services.principles.reviews.service import reviews

DATA = DemoData.beside(__file__)


class Principle(Numbered):
    code: str
    category: str
    title: str
    statement: str
    rationale: str
    implications: str
    applies_to: list[str]
    rule: str | None = None
    status: str


class Explanation(Numbered):
    principle: str
    principle_revision: int
    initiative: int = Field(exclude=True)
    reason: str
    review_by: Day
    requested_by: str
    requested_at: Moment = Field(exclude=True)
    approved_by: str | None = None
    approved_at: AwareDatetime | None = None
    decision_note: str | None = None
    data_classification: str
    status: str


class Milestone(Record):
    initiative: int
    active_since: AwareDatetime


class Revision(Record):
    principle: str
    implications: str


class Scores(Record):
    needed_now: int
    generic_facilities: int
    new_technologies: int
    integrations: int
    one_page: int


class Review(Numbered):
    initiative: int = Field(exclude=True)
    phase: str
    scores: Scores
    reviewer: str
    reviewed_on: Day
    notes: str
    data_classification: str


PRINCIPLES = DATA.table("principles", Principle)
DEMO_PRINCIPLES: list[dict[str, Any]] = [principle.model_dump(exclude_none=True) for principle in PRINCIPLES]
"""The demo principles' fields (id, code, category, ..., rule when they have one), in load order."""


def explanation_id(n: int) -> str:
    return DATA.id("explanations", n)


def initiative(n: int) -> str:
    """The href of the portfolio's demo initiative ``n``."""
    return DATA.id("subjects", n, key="initiative")


async def load(ctx: RequestContext) -> None:
    demo = Demo(ctx)
    await demo.insert_all(principles, PRINCIPLES)
    for explanation in DATA.table("explanations", Explanation):
        principle = PRINCIPLES.find("code", explanation.principle, cited_by=explanation)
        obj = await demo.insert(
            explanations,
            explanation,
            principle=principle.id,
            subject=initiative(explanation.initiative),
            subject_kind="initiative",
        )
        # Illustrative history: asked days before it was decided, not at the moment of seeding.
        requested = demo.moment(explanation.requested_at)
        await ctx.session.execute(
            update(StoredExplanation)
            .where(StoredExplanation.id == obj.id)
            .values(created_at=requested, updated_at=requested)
        )
    for milestone in DATA.table("milestones", Milestone):
        await record_activation(ctx, initiative(milestone.initiative), milestone.active_since)
    for revision in DATA.table("revisions", Revision):
        principle = PRINCIPLES.find("code", revision.principle, cited_by=revision)
        stored = await principles.get(ctx, principle.id)
        await principles.change(ctx, stored, {"implications": revision.implications})
    for review in DATA.table("reviews", Review):
        await demo.insert(
            reviews, review, subject=initiative(review.initiative), subject_kind="initiative", status="recorded"
        )
