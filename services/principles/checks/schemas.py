import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.references import Ref
from services.chassis.resources import Input
from services.principles.kinds import SUBJECT_KINDS_DESCRIPTION, SubjectKind
from services.principles.refs import ExplanationRef, PrincipleRef

CheckOutcome = Literal["complies", "deviates", "explained", "error", "not_applicable", "unassessed"]

SUBJECT_EXAMPLE = "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"


class ComplianceCheckCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": {"href": SUBJECT_EXAMPLE},
                    "facts": {"status": "approved", "hosting": "public_cloud"},
                }
            ]
        }
    )

    subject: Ref | None = Field(
        default=None,
        description="The subject, when it exists (its explanations and manual assessments are looked up by it).",
    )
    kind: SubjectKind | None = Field(
        default=None,
        description="The subject's kind, for one that does not exist yet (a create). " + SUBJECT_KINDS_DESCRIPTION,
    )
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "The subject's representation as it is about to be, after the change being checked (its owner "
            "sends it whole); rules read it as `subject`."
        ),
    )


class CheckedPrinciple(BaseModel):
    principle: PrincipleRef
    code: str
    title: str
    revision: int
    outcome: CheckOutcome = Field(
        description=(
            "`complies`; `deviates` (no explanation counts for it); `explained` (an approved explanation "
            "counts); `error` (the rule could not judge these facts: `note`); for principles without a rule "
            "the latest manual assessment (`not_applicable`, ...), or `unassessed` when there is none."
        )
    )
    explanation: ExplanationRef | None = Field(description="The explanation that counts, or the one still waiting.")
    note: str | None = None
    resolve: str | None = Field(default=None, description="How to resolve a deviation.")


class ComplianceCheck(BaseModel):
    subject: Ref | None
    kind: SubjectKind
    judged_at: dt.datetime
    complies_or_explained: bool = Field(description="True when no principle has an open deviation.")
    open_deviations: list[CheckedPrinciple] = Field(description="What stops the change: each with how to resolve it.")
    principles: list[CheckedPrinciple] = Field(description="Every active principle that applies, judged.")
