import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.references import Ref, reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.principles.kinds import SUBJECT_COLLECTIONS, SubjectKind

Phase = Literal["start", "execution"]
ReviewOutcome = Literal["pass", "concerns", "fail"]
Score = Annotated[int, Field(ge=1, le=5)]

CRITERIA: dict[str, str] = {
    "needed_now": "Builds only what is needed now (5: exactly today's need; 1: mostly for a future that may not come).",
    "generic_facilities": "Reuses generic facilities (5: entirely on generic facilities; 1: everything bespoke).",
    "new_technologies": "New technologies introduced (5: none; 1: several the organisation does not yet run).",
    "integrations": "Integrations (5: none or only standard ones; 1: many bespoke point-to-point links).",
    "one_page": "Can be explained on one page (5: easily; 1: not even in ten).",
}
FAIL_BELOW = 12
CONCERNS_BELOW = 18
OUTCOME_RULE = (
    f"`fail` when any criterion scores 1 or the total is below {FAIL_BELOW}; otherwise `concerns` when any "
    f"criterion scores 2 or the total is below {CONCERNS_BELOW}; otherwise `pass`. (Five criteria, 5 to 25 points.)"
)
CRITERIA_TEXT = "\n".join(f"- `{name}`: {text}" for name, text in CRITERIA.items())
SUBJECT_EXAMPLE = "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"


class Scores(BaseModel):
    """Each criterion scored 1..5, where 5 is the simplest."""

    model_config = ConfigDict(extra="forbid")

    needed_now: Score = Field(description=CRITERIA["needed_now"])
    generic_facilities: Score = Field(description=CRITERIA["generic_facilities"])
    new_technologies: Score = Field(description=CRITERIA["new_technologies"])
    integrations: Score = Field(description=CRITERIA["integrations"])
    one_page: Score = Field(description=CRITERIA["one_page"])


EXAMPLE_SCORES: dict[str, Any] = {
    "needed_now": 4,
    "generic_facilities": 3,
    "new_technologies": 4,
    "integrations": 3,
    "one_page": 5,
}


class ReviewCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": {"href": SUBJECT_EXAMPLE},
                    "phase": "start",
                    "scores": EXAMPLE_SCORES,
                    "notes": "Start small: one unit first, then decide whether to extend.",
                    "reviewed_on": "2026-11-20",
                }
            ]
        }
    )

    subject: Ref = Field(description="The design or project reviewed, by href (usually an initiative).")
    phase: Phase = Field(description="`start` (at the start) or `execution` (during execution).")
    scores: Scores
    notes: Annotated[str, Field(min_length=1, max_length=8000)] | None = None
    reviewed_on: dt.date | None = Field(default=None, description="When the review took place (default today).")


class ReviewUpdate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"scores": EXAMPLE_SCORES, "notes": "Rescored."}]})

    scores: Scores | None = Field(default=None, description="All five scores; the outcome is derived again.")
    notes: Annotated[str, Field(min_length=1, max_length=8000)] | None = None
    reviewed_on: dt.date | None = None


class ReviewRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0002-0002-7000-8000-000000000001",
                    "href": "/principles/v1/simplicity-reviews/019a0002-0002-7000-8000-000000000001",
                    "version": 1,
                    "status": "recorded",
                    "created_at": "2026-11-20T15:00:00Z",
                    "updated_at": "2026-11-20T15:00:00Z",
                    "subject": {"href": SUBJECT_EXAMPLE},
                    "subject_kind": "initiative",
                    "phase": "start",
                    "scores": EXAMPLE_SCORES,
                    "outcome": "concerns",
                    "reviewer": "u300245",
                    "reviewed_on": "2026-11-20",
                    "notes": "Start small: one unit first, then decide whether to extend.",
                    "data_classification": "confidential",
                }
            ]
        }
    )

    subject: Ref
    subject_kind: SubjectKind
    phase: Phase
    scores: Scores
    outcome: ReviewOutcome = Field(description="Derived from the scores, never typed in: " + OUTCOME_RULE)
    reviewer: str = Field(description="The architect who reviewed (token `sub`).")
    reviewed_on: dt.date
    notes: str | None
    data_classification: str | None = Field(
        description="The subject's classification, kept current whenever this service reads the subject; "
        "need to know applies."
    )
    status: Literal["recorded", "archived"]


class ReviewQuery(ListQuery):
    subject: str | None = reference_filter(SUBJECT_COLLECTIONS, "href of the subject.", max_length=300)
    phase: list[Phase] = any_of()
    outcome: list[ReviewOutcome] = any_of()
    reviewer: str | None = Field(default=None, max_length=200)
