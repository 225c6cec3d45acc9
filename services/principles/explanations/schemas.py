import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.dates import IsoDay
from services.chassis.figures import Coverage
from services.chassis.references import Ref
from services.chassis.resources import Input, ResourceRead, any_of
from services.principles.kinds import SUBJECT_KINDS_DESCRIPTION, SubjectKind
from services.principles.refs import PrincipleRef
from services.principles.subjects import SubjectRecordQuery

ExplanationStatus = Literal["requested", "approved", "rejected", "archived"]
Reason = Annotated[str, Field(min_length=1, max_length=8000)]
Note = Annotated[str, Field(min_length=1, max_length=4000)]

SUBJECT_EXAMPLE = "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"
PRINCIPLE_EXAMPLE = "/principles/v1/principles/019a0002-0000-7000-8000-000000000004"
VALID_DESCRIPTION = (
    "True while it counts: approved, `review_by` has not passed, and, when it needs review after a new "
    "revision of its principle, `review_deadline` has not passed either (today in UTC counts)."
)
LATE_DESCRIPTION = (
    "Whether it came late: approved only after its subject became active (the work started), or asked "
    "when it already was. Decided once, when the subject first becomes active, and kept; null while undecided."
)


class ExplanationCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "principle": {"href": PRINCIPLE_EXAMPLE},
                    "subject": {"href": SUBJECT_EXAMPLE},
                    "reason": "The pilot needs a GPU cluster we do not have on our own platform; pseudonymised "
                    "data only, moved back when the own platform offers it.",
                    "review_by": "2027-12-31",
                }
            ]
        }
    )

    principle: PrincipleRef = Field(description="The principle deviated from (draft or active).")
    subject: Ref = Field(description="The resource that deviates, by href. " + SUBJECT_KINDS_DESCRIPTION)
    reason: Reason = Field(description="Why the deviation is needed, said in advance ('leg uit').")
    review_by: dt.date = Field(
        description=(
            "A future date; after it the explanation no longer counts. At most the configured maximum validity "
            "(`IV_PRINCIPLES_EXPLANATION_MAX_VALIDITY_DAYS`, 730 days by default) from today."
        )
    )


class ApprovalBody(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "Approved until the end of next year.", "review_by": "2027-12-31"}]}
    )

    note: Note | None = Field(default=None, description="Why it is approved, or under what conditions.")
    review_by: dt.date | None = Field(
        default=None, description="Shorten or extend the period it counts (a date not in the past)."
    )


class ConfirmationBody(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "Still needed under the revised principle.", "review_by": "2027-06-30"}]
        }
    )

    note: Note = Field(description="Why it still holds under the principle's new revision.")
    review_by: dt.date | None = Field(
        default=None, description="A new review date (within the maximum validity from today); default: unchanged."
    )


class RejectionBody(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "Use the generic document store instead."}]})

    note: Note = Field(description="Why it is rejected.")


class ExplanationRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0002-0001-7000-8000-000000000001",
                    "href": "/principles/v1/explanations/019a0002-0001-7000-8000-000000000001",
                    "version": 2,
                    "status": "approved",
                    "created_at": "2026-10-01T09:00:00Z",
                    "updated_at": "2026-10-03T14:00:00Z",
                    "principle": {"href": PRINCIPLE_EXAMPLE},
                    "principle_revision": 1,
                    "subject": {"href": SUBJECT_EXAMPLE},
                    "subject_kind": "initiative",
                    "reason": "Pseudonymised data only; moved back when the own platform offers GPUs.",
                    "review_by": "2027-12-31",
                    "requested_by": "u300112",
                    "approved_by": "u300245",
                    "approved_at": "2026-10-03T14:00:00Z",
                    "rejected_by": None,
                    "rejected_at": None,
                    "decision_note": "Approved until the end of next year.",
                    "valid": True,
                    "counts_until": "2027-12-31",
                    "late": False,
                    "needs_review": False,
                    "needs_review_since": None,
                    "review_deadline": None,
                    "data_classification": "confidential",
                }
            ]
        }
    )

    principle: PrincipleRef
    principle_revision: int = Field(description="The principle's revision when the explanation was requested.")
    subject: Ref
    subject_kind: SubjectKind
    reason: str
    review_by: dt.date
    requested_by: str = Field(description="Who asked (token `sub`).")
    approved_by: str | None = Field(description="The architect who approved: never the requester (four eyes).")
    approved_at: dt.datetime | None
    rejected_by: str | None
    rejected_at: dt.datetime | None
    decision_note: str | None
    valid: bool = Field(description=VALID_DESCRIPTION)
    counts_until: dt.date | None = Field(description="The last day it counts, when approved.")
    late: bool | None = Field(description=LATE_DESCRIPTION)
    needs_review: bool = Field(
        description="Its principle has a newer revision than the one it was approved under: an architect confirms "
        "it (`POST /v1/explanations/{id}/confirm`) before `review_deadline`, or it stops counting then."
    )
    needs_review_since: dt.datetime | None
    review_deadline: dt.date | None
    data_classification: str | None = Field(
        description="The subject's classification, kept current whenever this service reads the subject; "
        "need to know applies."
    )
    status: ExplanationStatus = Field(
        description="`requested` → `approved` | `rejected`; `archived` when withdrawn (DELETE)."
    )


class ExplanationQuery(SubjectRecordQuery):
    status: list[ExplanationStatus] = any_of()
    requested_by: str | None = Field(default=None, max_length=200)
    review_by_before: IsoDay | None = Field(
        default=None,
        description="Only approved explanations whose review_by is on or before this date "
        "(which expire this quarter?).",
    )
    needs_review: bool | None = Field(
        default=None,
        description="`true`: only approved explanations that need review after a new revision of their principle "
        "(`false`: only those that do not).",
    )


class RegisterQuery(BaseModel):
    """The register's filters, combined with AND; a repeatable one takes every value given."""

    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(
        default=None,
        ge=1970,
        le=2199,
        description="Only explanations asked in this calendar year (`requested_at`, UTC): the annual report.",
        examples=[2026],
    )
    principle: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description="Only explanations of these principles (href or id, repeatable).",
    )
    status: list[ExplanationStatus] = Field(
        default_factory=list, max_length=4, description="Only explanations in these statuses (repeatable)."
    )
    chain: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "Only explanations about these value chains (href or id, repeatable): about the chain itself or "
            "about a subject that points at it (its teams and allocations, the initiatives and EBOs of that "
            "chain), as the owners' `/v1/references` say with your token; 503 when an owner cannot answer."
        ),
    )


class RegisterRow(BaseModel):
    href: str
    principle: str = Field(description="href of the principle.")
    principle_code: str
    principle_title: str
    principle_revision: int
    subject: str = Field(description="href of the subject.")
    subject_kind: str
    reason: str
    status: str
    valid: bool = Field(description=VALID_DESCRIPTION)
    late: bool | None = Field(description=LATE_DESCRIPTION)
    needs_review: bool
    counts_until: dt.date | None
    requested_by: str
    requested_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    rejected_by: str | None
    rejected_at: dt.datetime | None
    review_by: dt.date
    decision_note: str | None


class Register(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-11-28T10:00:00Z",
                    "count": 1,
                    "items": [
                        {
                            "href": "/principles/v1/explanations/019a0002-0001-7000-8000-000000000001",
                            "principle": PRINCIPLE_EXAMPLE,
                            "principle_code": "RI-02",
                            "principle_title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
                            "principle_revision": 1,
                            "subject": SUBJECT_EXAMPLE,
                            "subject_kind": "initiative",
                            "reason": "Pseudonymised data only; moved back when the own platform offers GPUs.",
                            "status": "approved",
                            "valid": True,
                            "late": False,
                            "needs_review": False,
                            "counts_until": "2027-12-31",
                            "requested_by": "demo-architect-1",
                            "requested_at": "2026-01-02T09:00:00Z",
                            "approved_by": "demo-architect-2",
                            "approved_at": "2026-01-05T09:30:00Z",
                            "rejected_by": None,
                            "rejected_at": None,
                            "review_by": "2027-12-31",
                            "decision_note": "Approved until the end of next year.",
                        }
                    ],
                    "coverage": {"basis": "visible", "counted": 1, "left_out": 0, "not_visible": 0},
                }
            ]
        }
    )

    generated_at: dt.datetime
    count: int
    items: list[RegisterRow]
    coverage: Coverage = Field(
        description=(
            "The register lists explanations, so it holds those you may see (basis `visible`): `counted` is "
            "`count`, `left_out` how many explanations are in the register that you may not see."
        )
    )
