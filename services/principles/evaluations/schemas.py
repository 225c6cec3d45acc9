from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.references import Ref
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.principles.assessments.schemas import ASSESSMENT_EXAMPLE, AssessmentRead
from services.principles.kinds import SUBJECT_KINDS_DESCRIPTION, SubjectKind
from services.principles.refs import PrincipleRef

Trigger = Literal["request", "change", "explanation"]


class EvaluationSubject(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    href: str = Field(
        max_length=500,
        description=(
            "One resource (`/portfolio/v1/initiatives/<id>`) or a collection (`/portfolio/v1/initiatives`), "
            "optionally with the owner's filters as a query string (`/portfolio/v1/initiatives?status=active`). "
            + SUBJECT_KINDS_DESCRIPTION
        ),
        examples=["/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007", "/portfolio/v1/initiatives"],
    )


class EvaluationCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"subject": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"}},
                {"subject": {"href": "/portfolio/v1/initiatives"}},
                {"subject": {"href": "/valuechains/v1/teams"}},
            ]
        }
    )

    subject: EvaluationSubject


class Summary(BaseModel):
    complies: int = 0
    deviates: int = 0
    explained: int = 0
    error: int = 0
    total: int = Field(default=0, description="Assessments this evaluation recorded (that you may see).")


EVALUATION_ID = "019a0f00-0000-7000-8000-0000000000e1"


class EvaluationRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EVALUATION_ID,
                    "href": f"/principles/v1/evaluations/{EVALUATION_ID}",
                    "version": 1,
                    "status": "completed",
                    "created_at": "2026-11-28T10:00:00Z",
                    "updated_at": "2026-11-28T10:00:00Z",
                    "target": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
                    "scope": "resource",
                    "subject_kind": "initiative",
                    "trigger": "request",
                    "requested_by": "u300112",
                    "subjects": 1,
                    "summary": {"complies": 3, "deviates": 1, "explained": 1, "error": 0, "total": 5},
                    "manual_principles": [{"href": "/principles/v1/principles/019a0002-0000-7000-8000-000000000005"}],
                    "assessments": [ASSESSMENT_EXAMPLE],
                    "all_assessments": f"/principles/v1/assessments?evaluation={EVALUATION_ID}",
                    "data_classification": "confidential",
                }
            ]
        }
    )

    target: Ref = Field(description="What was evaluated: one subject, or a collection (with its filters).")
    scope: Literal["resource", "collection"]
    subject_kind: SubjectKind
    trigger: Trigger = Field(
        description="`request` (someone asked), `change` (the subject changed in its owner's change feed), "
        "`explanation` (an explanation for it was approved)."
    )
    requested_by: str = Field(description="On whose behalf it ran (token `sub`; `service:principles` for changes).")
    subjects: int = Field(description="Subjects read from the owner (by reference, with the caller's token).")
    summary: Summary = Field(description="Assessments recorded, per outcome.")
    manual_principles: list[PrincipleRef] = Field(
        description="Active principles for this kind that have no rule: not assessed automatically; an architect "
        "records those by hand (`POST /v1/assessments`)."
    )
    assessments: list[AssessmentRead] | None = Field(
        default=None,
        description="On a single evaluation: for one subject every assessment recorded; for a collection those "
        "that did not comply (deviates, explained, error). Null in lists. All of them: `all_assessments`.",
    )
    all_assessments: str = Field(description="href listing every assessment this evaluation recorded.")
    data_classification: str | None = Field(
        description="The highest classification among what was read; need to know applies. For one subject it "
        "follows the subject's classification whenever this service reads the subject again."
    )
    status: Literal["completed", "archived"]


class EvaluationQuery(ListQuery):
    subject_kind: list[SubjectKind] = any_of()
    trigger: list[Trigger] = any_of()
    requested_by: str | None = Field(default=None, max_length=200)
