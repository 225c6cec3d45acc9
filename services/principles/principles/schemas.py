import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.references import Ref
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.principles.kinds import SUBJECT_KINDS_DESCRIPTION, SubjectKind

Category = Literal[
    "continuity_security",
    "renewal_innovation",
    "data_privacy",
    "craftsmanship_organisation",
    "finance_control",
]
PrincipleStatus = Literal["draft", "active", "retired"]
Code = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9-]{1,19}$", description="Short code, unique among principles.", examples=["CS-01"]),
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=8000)]
Rule = Annotated[str, Field(min_length=1, max_length=4000)]
AppliesTo = Annotated[list[SubjectKind], Field(min_length=1, max_length=6)]

CATEGORY_DESCRIPTION = (
    "One of the strategy's five categories: continuity_security (continuïteit en security), "
    "renewal_innovation (vernieuwing en innovatie), data_privacy (gegevens en privacy), "
    "craftsmanship_organisation (vakmanschap en organisatie), finance_control (financiën en beheersing)."
)
RULE_DESCRIPTION = (
    "Optional rule as code: a CEL expression over `subject` (the subject's representation as its owner "
    "serves it) that is true when the subject complies. Compiled when saved (a syntax error or unknown "
    "function is a 422 naming line:column) and run against a representative subject of every kind in "
    "`applies_to`. A reference the rule reads beyond its `href` (`subject.value_chain.name`) is expanded "
    "one level; one that cannot be resolved for the caller stays a reference with an error, as the gateway's "
    "`expand` leaves it (`subject.value_chain.error.status == 404`). At most 4,000 characters; each "
    "evaluation has a time and size budget, and a rule that "
    "fails on a subject gives the outcome `error`. Principles without a rule are assessed by hand."
)
STATUS_DESCRIPTION = (
    "`draft` (not yet applied), `active` (applied by evaluations), `retired` (no longer applied; a principle "
    "is never deleted). `DELETE` archives it. Moves: draft→active|retired, active→retired, retired→active."
)
APPLIES_TO_DESCRIPTION = "Subject kinds this principle judges. " + SUBJECT_KINDS_DESCRIPTION
NORMATIVE_NOTE = (
    "A change of `statement`, `rationale`, `implications`, `rule` or `applies_to` is normative: it makes a "
    "new `revision`, kept readable under `versions`. `title`, `category` and `status` are not normative."
)

CLOUD_RULE = "!(subject.data_classification in ['confidential', 'secret']) || subject.hosting == 'own_platform'"


CREATE_EXAMPLE: dict[str, Any] = {
    "code": "RI-02",
    "category": "renewal_innovation",
    "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
    "statement": "Use cloud services first; sensitive police data stays on our own platforms.",
    "rationale": "Cloud gives speed; police data cannot be exposed.",
    "implications": "Initiatives with confidential or secret data host on own_platform.",
    "applies_to": ["initiative", "ebo"],
    "rule": CLOUD_RULE,
    "status": "active",
}


class PrincipleCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [CREATE_EXAMPLE]})

    code: Code
    category: Category = Field(description=CATEGORY_DESCRIPTION)
    title: Text200
    statement: LongText = Field(description="What the principle demands (normative).")
    rationale: LongText = Field(description="Why (normative).")
    implications: LongText = Field(description="What it means in practice (normative).")
    applies_to: AppliesTo = Field(description=APPLIES_TO_DESCRIPTION)
    rule: Rule | None = Field(default=None, description=RULE_DESCRIPTION, examples=[CLOUD_RULE])
    status: PrincipleStatus = Field(default="draft", description=STATUS_DESCRIPTION)


class PrincipleUpdate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "active"},
                {"statement": "Use cloud services first; confidential and secret data stays on own platforms."},
                {"rule": "subject.budget_eur <= 2000000"},
            ]
        }
    )

    category: Category | None = None
    title: Text200 | None = None
    statement: LongText | None = None
    rationale: LongText | None = None
    implications: LongText | None = None
    applies_to: AppliesTo | None = None
    rule: Rule | None = Field(default=None, description=RULE_DESCRIPTION + " Send null to remove the rule.")
    status: PrincipleStatus | None = Field(default=None, description=STATUS_DESCRIPTION)


class PrincipleRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0002-0000-7000-8000-000000000004",
                    "href": "/principles/v1/principles/019a0002-0000-7000-8000-000000000004",
                    "version": 3,
                    "status": "active",
                    "created_at": "2026-01-05T09:00:00Z",
                    "updated_at": "2026-06-01T11:00:00Z",
                    **CREATE_EXAMPLE,
                    "revision": 2,
                    "versions": "/principles/v1/principles/019a0002-0000-7000-8000-000000000004/versions",
                }
            ]
        }
    )

    code: str
    category: Category = Field(description=CATEGORY_DESCRIPTION)
    title: str
    statement: str
    rationale: str
    implications: str
    applies_to: list[SubjectKind]
    rule: str | None = Field(description=RULE_DESCRIPTION)
    status: Literal["draft", "active", "retired", "archived"]
    revision: int = Field(
        description="The normative version: what assessments and explanations are pinned to. "
        + NORMATIVE_NOTE
        + " (`version` is the ETag: it moves with every change, normative or not.)"
    )
    versions: str = Field(description="href of this principle's revisions.")


class PrincipleQuery(ListQuery):
    code: str | None = Field(default=None, max_length=20)
    category: list[Category] = any_of()
    status: list[Literal["draft", "active", "retired", "archived"]] = any_of()


class PrincipleVersionRead(BaseModel):
    """What a principle demanded at one revision."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "href": "/principles/v1/principles/019a0002-0000-7000-8000-000000000004/versions/1",
                    "principle": {"href": "/principles/v1/principles/019a0002-0000-7000-8000-000000000004"},
                    "revision": 1,
                    "current": True,
                    "code": "RI-02",
                    "category": "renewal_innovation",
                    "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
                    "statement": "Use cloud services first; sensitive police data stays on our own platforms.",
                    "rationale": "Cloud gives speed; police data cannot be exposed.",
                    "implications": "Confidential and secret data is hosted on own platforms.",
                    "applies_to": ["initiative", "ebo"],
                    "rule": CLOUD_RULE,
                    "recorded_at": "2026-11-28T10:00:00Z",
                    "recorded_by": "u300112",
                }
            ]
        }
    )

    href: str
    principle: Ref
    revision: int
    current: bool = Field(description="True for the revision the principle is at now.")
    code: str
    category: Category
    title: str = Field(description="The title when this revision was made.")
    statement: str
    rationale: str
    implications: str
    applies_to: list[SubjectKind]
    rule: str | None
    recorded_at: dt.datetime
    recorded_by: str = Field(description="Who made this revision (token `sub`).")
