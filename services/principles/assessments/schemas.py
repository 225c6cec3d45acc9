from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from services.chassis.references import Ref, reference_filter
from services.chassis.resources import Input, ResourceRead, any_of
from services.principles.kinds import SUBJECT_KINDS_DESCRIPTION, SubjectKind
from services.principles.refs import EVALUATIONS_PATH, EvaluationRef, ExplanationRef, PrincipleRef
from services.principles.subjects import SubjectRecordQuery

Outcome = Literal["complies", "deviates", "explained", "not_applicable", "error"]
ManualOutcome = Literal["complies", "deviates", "not_applicable"]
Source = Literal["rule", "manual"]

OUTCOME_DESCRIPTION = (
    "`complies` (pas toe), `deviates` (afwijking without a valid explanation), `explained` (deviates, but an "
    "approved explanation whose `review_by` had not passed covered it: leg uit), `not_applicable` (manual "
    "only), `error` (the rule could not judge this subject; `note` says why)."
)
EXAMPLE_ID = "019a0002-0000-7000-8000-000000000004"


ASSESSMENT_EXAMPLE: dict[str, Any] = {
    "id": "019a0f00-0000-7000-8000-000000000001",
    "href": "/principles/v1/assessments/019a0f00-0000-7000-8000-000000000001",
    "version": 1,
    "status": "recorded",
    "created_at": "2026-11-28T10:00:00Z",
    "updated_at": "2026-11-28T10:00:00Z",
    "principle": {"href": f"/principles/v1/principles/{EXAMPLE_ID}"},
    "principle_revision": 1,
    "subject": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
    "subject_kind": "initiative",
    "outcome": "explained",
    "source": "rule",
    "note": None,
    "facts_sha256": "3f1c9a0e5d8b7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988",
    "explanation": {"href": "/principles/v1/explanations/019a0002-0001-7000-8000-000000000001"},
    "evaluation": {"href": "/principles/v1/evaluations/019a0f00-0000-7000-8000-0000000000e1"},
    "assessed_by": "u300112",
    "data_classification": "confidential",
}


class AssessmentRead(ResourceRead):
    model_config = ConfigDict(json_schema_extra={"examples": [ASSESSMENT_EXAMPLE]})

    principle: PrincipleRef
    principle_revision: int = Field(description="The principle's revision this judged (its normative version).")
    subject: Ref = Field(description="What was judged, by href; its facts are not kept.")
    subject_kind: SubjectKind = Field(description=SUBJECT_KINDS_DESCRIPTION)
    outcome: Outcome = Field(description=OUTCOME_DESCRIPTION)
    source: Source = Field(description="`rule` (by an evaluation) or `manual` (by an architect).")
    note: str | None = Field(description="The architect's note, or the rule's error message.")
    facts_sha256: str | None = Field(description="SHA-256 of the subject's facts as judged (canonical JSON).")
    explanation: ExplanationRef | None = Field(description="The explanation that made a deviation `explained`.")
    evaluation: EvaluationRef | None = Field(description="The evaluation that recorded this (null when manual).")
    assessed_by: str = Field(
        description="On whose behalf it was recorded: the caller's `sub`, or `service:principles` when the "
        "change-feed follower re-evaluated a subject that changed."
    )
    data_classification: str | None = Field(
        description="The subject's classification (kept current: whenever this service reads the subject, older "
        "records about it follow its classification); need to know applies to the assessment too."
    )
    status: Literal["recorded", "archived"]


class ManualAssessmentCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "principle": {"href": "/principles/v1/principles/019a0002-0000-7000-8000-000000000005"},
                    "subject": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
                    "outcome": "deviates",
                    "note": "Keeps its own copy of the person register instead of reading it at the source.",
                }
            ]
        }
    )

    principle: PrincipleRef = Field(description="An active principle without a rule that applies to the subject.")
    subject: Ref = Field(description="The resource judged, by href.")
    outcome: ManualOutcome
    note: Annotated[str, Field(min_length=1, max_length=4000)] = Field(description="What the judgement rests on.")


class AssessmentQuery(SubjectRecordQuery):
    subject_kind: list[SubjectKind] = any_of()
    outcome: list[Outcome] = any_of()
    source: list[Source] = any_of()
    evaluation: str | None = reference_filter(EVALUATIONS_PATH, "href (or id) of an evaluation.")
    latest: bool = Field(
        default=False, description="Only the latest (non-archived) assessment per principle and subject."
    )
