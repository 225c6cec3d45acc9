"""Typed models of the platform's resources, as the gateway's merged OpenAPI document describes them.

Written once, by hand, and kept in step with the document by a test (``tests/clients/test_models.py``
in the platform's repository): every resource the document serves has a model here, with the same
fields, the same required fields and the same enumerated values. Models accept fields they do not
know (a newer platform may add some): those are in ``model_extra``.

References are ``Ref``: ``{"href": ...}``. Asked for with ``expand``, a reference holds the resource
it points at as well (``ref.expanded``), or an ``error`` when it could not be resolved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Classification = Literal["public", "internal", "confidential", "secret"]
Hosting = Literal["own_platform", "public_cloud", "hybrid"]
SubjectKind = Literal["chain", "team", "allocation", "programme", "initiative", "ebo"]
Category = Literal[
    "continuity_security", "renewal_innovation", "data_privacy", "craftsmanship_organisation", "finance_control"
]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Ref(Model):
    """A reference to a resource by its href; with ``expand``, also the resource (or an ``error``)."""

    href: str
    error: dict[str, Any] | None = None

    @property
    def expanded(self) -> dict[str, Any] | None:
        """The resource the reference points at, where the answer was expanded and it resolved."""
        extra = dict(self.model_extra or {})
        return extra if extra and self.error is None else None


class Resource(Model):
    """What every resource has: an id, its href, a version (its ETag), a status and two times."""

    id: str
    href: str
    version: int = Field(description="Increases with every change; sent as the ETag and as If-Match.")
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def included(self, name: str) -> list[dict[str, Any]]:
        """The first page of an ``include``d collection (``chain.included("teams")``)."""
        block = (self.model_extra or {}).get("included", {}).get(name)
        return list(block.get("items", [])) if isinstance(block, dict) else []


# valuechains


class Owner(Model):
    subject: str
    name: str
    unit: str


class Chain(Resource):
    status: Literal["active", "archived"]
    code: str
    name: str
    domain: str
    mission: str
    owner: Owner
    external_share_limit: float | None
    active_applications: int
    open_critical_findings: int
    open_high_findings: int
    applications_past_support: int
    applications_not_visible: int


class Team(Resource):
    status: Literal["active", "archived"]
    name: str
    chain: Ref
    fte_internal: float
    fte_hired: float
    fte_partner: float
    fte_external: float
    maturity: int


class Allocation(Resource):
    status: Literal["active", "archived"]
    chain: Ref
    period: str
    maintenance: int
    security: int
    renewal: int
    budget_eur: int
    rationale: str
    revision: int
    revisions_href: str


class Findings(Model):
    critical: int
    high: int
    medium: int
    low: int


class Application(Resource):
    status: Literal["active", "archived"]
    name: str
    chain: Ref
    category: Literal["registration", "intelligence", "business_operations", "infrastructure"]
    disposition: Literal["tolerate", "invest", "migrate", "eliminate"]
    supported_until: dt.date
    last_release: dt.date
    findings: Findings
    hosting: Hosting
    data_classification: Classification


# portfolio


class Person(Model):
    subject: str
    name: str
    unit: str


class Programme(Resource):
    status: Literal["proposed", "active", "completed", "archived"]
    code: str
    name: str
    ambition: str
    owner: Person


class YearBudget(Model):
    year: int
    budget_eur: int


class AddressedApplication(Model):
    application: Ref
    effect: Literal["renews", "replaces", "retires"]


class Initiative(Resource):
    status: Literal["proposed", "approved", "active", "delivered", "stopped", "archived"]
    name: str
    description: str
    programme: Ref | None
    value_chain: Ref
    kind: Literal["maintenance", "security", "renewal"]
    funding: Literal["structural", "incidental"]
    budget_eur: int
    budget_per_year: list[YearBudget]
    start: dt.date
    end: dt.date
    hosting: Hosting
    data_classification: Classification
    uses_generic_facilities: bool
    applications: list[AddressedApplication]


class EboDecision(Model):
    status: Literal["registered", "under_review", "adopted", "tolerated", "phased_out"]
    reason: str
    by: str
    at: dt.datetime


class Ebo(Resource):
    """An EBO (Eigen Beheerde Omgeving): a system a unit built and runs itself."""

    status: Literal["registered", "under_review", "adopted", "tolerated", "phased_out", "archived"]
    name: str
    unit: str
    description: str
    value_chain: Ref | None
    hosting: Hosting
    data_classification: Classification
    users: int
    decision: EboDecision | None
    merged_into: Ref | None = None


class LikelyDuplicate(Model):
    href: str
    kind: Literal["ebo", "application"]
    name: str
    score: float


class DuplicateCheck(Model):
    ebos: Literal["compared"]
    applications: Literal["compared", "unavailable"]


class EboRegistered(Ebo):
    """A newly registered EBO, with the EBOs and applications it looks like already."""

    likely_duplicates: list[LikelyDuplicate]
    duplicate_check: DuplicateCheck


class Target(Model):
    run: int
    renewal: int


class Round(Resource):
    status: Literal["draft", "open", "closed", "archived"]
    name: str
    period: str
    target: Target
    from_round: Ref | None
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    items: list[RoundItem] = Field(default_factory=list)


class RoundItem(Resource):
    status: Literal["active"]
    round: Ref
    initiative: Ref
    rank: int
    decision: Literal["start", "continue", "adjust", "stop", "defer"]
    note: str
    budget_eur: int


class Dismissal(Resource):
    status: Literal["active", "archived"]
    kind: Literal["ebo", "initiative"]
    a: Ref
    b: Ref
    reason: str
    data_classification: str


# principles


class Principle(Resource):
    status: Literal["draft", "active", "retired", "archived"]
    code: str
    category: Category
    title: str
    statement: str
    rationale: str
    implications: str
    applies_to: list[SubjectKind]
    rule: str | None
    revision: int
    versions: str


class Assessment(Resource):
    status: Literal["recorded", "archived"]
    principle: Ref
    principle_revision: int
    subject: Ref
    subject_kind: SubjectKind
    outcome: Literal["complies", "deviates", "explained", "not_applicable", "error"]
    source: Literal["rule", "manual"]
    note: str | None
    facts_sha256: str | None
    explanation: Ref | None
    evaluation: Ref | None
    assessed_by: str
    data_classification: str | None


class Summary(Model):
    complies: int = 0
    deviates: int = 0
    explained: int = 0
    error: int = 0
    total: int = 0


class Evaluation(Resource):
    status: Literal["completed", "archived"]
    target: Ref
    scope: Literal["resource", "collection"]
    subject_kind: SubjectKind
    trigger: Literal["request", "change", "explanation"]
    requested_by: str
    subjects: int
    summary: Summary
    manual_principles: list[Ref]
    assessments: list[Assessment] | None = None
    all_assessments: str
    data_classification: str | None


class Explanation(Resource):
    status: Literal["requested", "approved", "rejected", "archived"]
    principle: Ref
    principle_revision: int
    subject: Ref
    subject_kind: SubjectKind
    reason: str
    review_by: dt.date
    requested_by: str
    approved_by: str | None
    approved_at: dt.datetime | None
    rejected_by: str | None
    rejected_at: dt.datetime | None
    decision_note: str | None
    valid: bool
    counts_until: dt.date | None
    late: bool | None
    needs_review: bool
    needs_review_since: dt.datetime | None
    review_deadline: dt.date | None
    data_classification: str | None


class Scores(Model):
    needed_now: int
    generic_facilities: int
    new_technologies: int
    integrations: int
    one_page: int


class Review(Resource):
    """A simplicity review."""

    status: Literal["recorded", "archived"]
    subject: Ref
    subject_kind: SubjectKind
    phase: Literal["start", "execution"]
    scores: Scores
    outcome: Literal["pass", "concerns", "fail"]
    reviewer: str
    reviewed_on: dt.date
    notes: str | None
    data_classification: str | None


# every service


class Change(Model):
    """One event of a service's change feed."""

    seq: int
    type: str = Field(description="`<collection>.created`, `.updated` or `.archived`.")
    subject: str = Field(description="href of the resource that changed.")
    actor: str
    at: str
    version: int
    changes: dict[str, list[Any]] = Field(description="Each changed field as [old, new].")
    prev_hash: str
    hash: str


Round.model_rebuild()

COLLECTIONS: dict[str, type[Resource]] = {
    "/valuechains/v1/chains": Chain,
    "/valuechains/v1/teams": Team,
    "/valuechains/v1/allocations": Allocation,
    "/valuechains/v1/applications": Application,
    "/portfolio/v1/programmes": Programme,
    "/portfolio/v1/initiatives": Initiative,
    "/portfolio/v1/ebos": Ebo,
    "/portfolio/v1/rounds": Round,
    "/portfolio/v1/duplicate_dismissals": Dismissal,
    "/principles/v1/principles": Principle,
    "/principles/v1/evaluations": Evaluation,
    "/principles/v1/assessments": Assessment,
    "/principles/v1/explanations": Explanation,
    "/principles/v1/simplicity-reviews": Review,
}
"""Each collection's path through the gateway and the model of its resources. A round's items live
under their round (``/portfolio/v1/rounds/{id}/items``): ``model_for`` knows them too."""


def collection_of(href: str) -> str:
    """The collection an href belongs to: ``/portfolio/v1/ebos/019a...?x=1`` -> ``/portfolio/v1/ebos``."""
    path = href.split("?", 1)[0].rstrip("/")
    parts = path.split("/")
    if len(parts) >= 6 and parts[3] == "rounds" and parts[5] == "items":
        return "/".join(parts[:6])
    if path in COLLECTIONS:
        return path
    return "/".join(parts[:-1]) if len(parts) > 4 else path


def model_for(href: str) -> type[Resource] | None:
    """The model of the resources at (or in) ``href``; None for what this client has no model of."""
    collection = collection_of(href)
    if collection.startswith("/portfolio/v1/rounds/") and collection.endswith("/items"):
        return RoundItem
    return COLLECTIONS.get(collection)
