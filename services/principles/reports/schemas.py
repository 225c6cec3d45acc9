import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.figures import CountsAndDetails, Coverage
from services.chassis.references import Ref
from services.principles.refs import AssessmentRef, ExplanationRef, PrincipleRef

GroupBy = Literal["category", "principle", "subject"]


class OutcomeCounts(BaseModel):
    complies: int = 0
    deviates: int = Field(default=0, description="Deviations without a valid explanation (open).")
    explained: int = Field(default=0, description="Deviations covered by a valid explanation today.")
    not_applicable: int = 0
    error: int = 0
    total: int = 0


class Group(OutcomeCounts):
    key: str = Field(description="The category, the principle's href, or the subject's href.")
    label: str = Field(description="The category, the principle's code and title, or the subject's href.")


class OpenDeviation(BaseModel):
    assessment: AssessmentRef
    principle: PrincipleRef
    principle_code: str
    subject: Ref
    since: dt.datetime = Field(description="When the latest assessment found the deviation.")


class ExplanationItem(BaseModel):
    explanation: ExplanationRef
    principle: PrincipleRef
    principle_code: str
    subject: Ref
    approved_by: str | None
    approved_at: dt.datetime | None
    review_by: dt.date


class LateExplanation(ExplanationItem):
    subject_active_since: dt.datetime | None = Field(
        description="When the subject first became active (its work started), as its owner's change feed said."
    )


class MissingReview(BaseModel):
    initiative: Ref
    name: str | None
    missing: list[Literal["start", "execution"]] = Field(
        description="`start`: never had a start review; `execution`: no execution review in the last 6 months."
    )
    last_execution_review: dt.date | None


PRINCIPLE = "/principles/v1/principles/019a0002-0000-7000-8000-0000000000"
INITIATIVE = "/portfolio/v1/initiatives/019a0001-0001-7000-8000-0000000000"
EXPLANATION = "/principles/v1/explanations/019a0002-0001-7000-8000-0000000000"
EXAMPLE: dict[str, Any] = {
    "generated_at": "2026-11-28T10:00:00Z",
    "as_of": "2026-11-28",
    "group_by": "category",
    "totals": {"complies": 130, "deviates": 9, "explained": 3, "not_applicable": 0, "error": 0, "total": 142},
    "groups": [
        {
            "key": "renewal_innovation",
            "label": "renewal_innovation",
            "complies": 88,
            "deviates": 5,
            "explained": 1,
            "not_applicable": 0,
            "error": 0,
            "total": 94,
        }
    ],
    "open_deviations": [
        {
            "assessment": {"href": "/principles/v1/assessments/019a0f00-0000-7000-8000-000000000002"},
            "principle": {"href": f"{PRINCIPLE}04"},
            "principle_code": "RI-02",
            "subject": {"href": f"{INITIATIVE}08"},
            "since": "2026-11-28T09:59:00Z",
        }
    ],
    "expired_explanations": [
        {
            "explanation": {"href": f"{EXPLANATION}04"},
            "principle": {"href": f"{PRINCIPLE}03"},
            "principle_code": "RI-01",
            "subject": {"href": f"{INITIATIVE}14"},
            "approved_by": "demo-architect-1",
            "approved_at": "2025-08-20T10:00:00Z",
            "review_by": "2026-11-08",
        }
    ],
    "expiring_explanations": [],
    "late_explanations": [
        {
            "explanation": {"href": f"{EXPLANATION}02"},
            "principle": {"href": f"{PRINCIPLE}09"},
            "principle_code": "FC-01",
            "subject": {"href": f"{INITIATIVE}07"},
            "approved_by": "demo-architect-2",
            "approved_at": "2026-03-02T14:00:00Z",
            "review_by": "2027-01-27",
            "subject_active_since": "2026-01-15T08:00:00Z",
        }
    ],
    "missing_reviews": [
        {
            "initiative": {"href": f"{INITIATIVE}01"},
            "name": "Digitaal opsporingsdossier",
            "missing": ["execution"],
            "last_execution_review": "2026-03-23",
        }
    ],
    "incomplete": [],
    "coverage": {
        "counts": {"basis": "all", "counted": 142, "left_out": 0, "not_visible": 4},
        "details": {"basis": "visible", "counted": 138, "left_out": 4, "not_visible": 0},
        "explanations": {"basis": "visible", "counted": 11, "left_out": 1, "not_visible": 0},
    },
}


class ComplianceCoverage(CountsAndDetails):
    """What the compliance report's figures are computed over (need to know)."""

    counts: Coverage = Field(
        description=(
            "`totals`, and `groups` by category or principle: counts of assessments per outcome, over every "
            "latest assessment of an active principle (basis `all`); `not_visible`: how many of them are about "
            "subjects you may not see."
        )
    )
    details: Coverage = Field(
        description=(
            "`open_deviations`, and `groups` by subject (a group names its subject): over the same assessments, "
            "as far as you may see them (basis `visible`); `left_out`: how many were left out."
        )
    )
    explanations: Coverage = Field(
        description=(
            "`expired_explanations`, `expiring_explanations` and `late_explanations`: over the approved "
            "explanations you may see (basis `visible`); `left_out`: how many approved explanations were left out."
        )
    )


class ComplianceReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    generated_at: dt.datetime
    as_of: dt.date = Field(description="The day (UTC) against which review_by dates are judged.")
    group_by: GroupBy
    totals: OutcomeCounts = Field(
        description="Assessments per outcome: every latest assessment counts, also those on subjects you may not see."
    )
    groups: list[Group] = Field(
        description=(
            "Per category or principle: counts over every latest assessment, adding up to `totals`. Per subject: "
            "only the subjects you may see (a group names its subject), so they add up to `totals` less "
            "`coverage.counts.not_visible`."
        )
    )
    open_deviations: list[OpenDeviation]
    expired_explanations: list[ExplanationItem] = Field(description="Approved, but review_by has passed.")
    expiring_explanations: list[ExplanationItem] = Field(description="Approved, review_by within the next 90 days.")
    late_explanations: list[LateExplanation] = Field(
        description="Approved only after the subject's start: the strategy asks to explain in advance."
    )
    missing_reviews: list[MissingReview] = Field(
        description=(
            "Active initiatives without a start review, or without an execution review in the last 6 months: of "
            "the active initiatives the portfolio lists for you (it applies need to know to them and does not say "
            "how many it leaves out)."
        )
    )
    incomplete: list[str] = Field(
        description="Parts that could not be computed because another service did not answer (empty when complete)."
    )
    coverage: ComplianceCoverage = Field(
        description=(
            "Need to know: what each part is computed over. Counts of assessments count every assessment "
            "(`counts`); what names subjects or explanations is over what you may see (`details`, "
            "`explanations`), each saying how many were left out."
        )
    )


class ChainCell(OutcomeCounts):
    chain: Ref = Field(description="The value chain the counted subjects belong to (the chain itself included).")


class PrincipleByChain(BaseModel):
    principle: PrincipleRef
    code: str
    title: str
    category: str
    chains: list[ChainCell] = Field(description="Counts per outcome per chain, only the chains with assessments.")
    not_placed: OutcomeCounts = Field(
        description=(
            "Assessments of this principle whose subject belongs to no chain (a programme) or is gone, or could not "
            "be placed because its owner did not answer (`incomplete`). Counted here so each row adds up to `totals`."
        )
    )
    totals: OutcomeCounts = Field(description="Every latest assessment of this principle (basis `all`).")


CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000004"
BY_CHAIN_EXAMPLE: dict[str, Any] = {
    "generated_at": "2026-11-28T10:00:00Z",
    "as_of": "2026-11-28",
    "principles": [
        {
            "principle": {"href": f"{PRINCIPLE}09"},
            "code": "FC-01",
            "title": "Begroot wat je bouwt",
            "category": "finance_control",
            "chains": [
                {
                    "chain": {"href": CHAIN},
                    "complies": 6,
                    "deviates": 2,
                    "explained": 1,
                    "not_applicable": 0,
                    "error": 0,
                    "total": 9,
                }
            ],
            "not_placed": {"complies": 1, "deviates": 0, "explained": 0, "not_applicable": 0, "error": 0, "total": 1},
            "totals": {"complies": 7, "deviates": 2, "explained": 1, "not_applicable": 0, "error": 0, "total": 10},
        }
    ],
    "incomplete": [],
    "coverage": {"basis": "all", "counted": 10, "left_out": 0, "not_visible": 1},
}


class ComplianceByChain(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [BY_CHAIN_EXAMPLE]})

    generated_at: dt.datetime
    as_of: dt.date = Field(description="The day (UTC) against which explanations are judged.")
    principles: list[PrincipleByChain] = Field(description="Active principles with assessments, by code.")
    incomplete: list[str] = Field(
        description="Why subjects could not be placed in chains (an owner did not answer); empty when complete."
    )
    coverage: Coverage = Field(
        description=(
            "Over every latest assessment of an active principle (basis `all`): `not_visible` says how many of "
            "them are about subjects you may not see (counted in their chains like every other)."
        )
    )
