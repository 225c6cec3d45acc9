from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from services.chassis.resources import Input, ListQuery, ResourceRead

Category = Literal[
    "continuity_security",
    "renewal_innovation",
    "data_privacy",
    "craftsmanship_organisation",
    "finance_control",
]
SubjectKind = Literal["chain", "team", "allocation", "programme", "initiative", "ebo"]
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


class PrincipleCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "RI-02",
                    "category": "renewal_innovation",
                    "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
                    "statement": "Use cloud services first; sensitive police data stays on our own platforms.",
                    "rationale": "Cloud gives speed; police data cannot be exposed.",
                    "implications": "Initiatives with confidential or secret data host on own_platform.",
                    "applies_to": ["initiative", "ebo"],
                    "rule": "!(subject.data_classification in ['confidential', 'secret']) "
                    "|| subject.hosting == 'own_platform'",
                    "status": "active",
                }
            ]
        }
    )

    code: Code
    category: Category = Field(description=CATEGORY_DESCRIPTION)
    title: Text200
    statement: LongText
    rationale: LongText
    implications: LongText
    applies_to: AppliesTo = Field(description="Subject kinds this principle judges.")
    rule: Rule | None = Field(default=None, description="Optional CEL expression over `subject`; true = complies.")
    status: PrincipleStatus = "draft"


class PrincipleUpdate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "active"}]})

    category: Category | None = None
    title: Text200 | None = None
    statement: LongText | None = None
    rationale: LongText | None = None
    implications: LongText | None = None
    applies_to: AppliesTo | None = None
    rule: Rule | None = None
    status: PrincipleStatus | None = None


class PrincipleRead(ResourceRead):
    code: str
    category: Category
    title: str
    statement: str
    rationale: str
    implications: str
    applies_to: list[SubjectKind]
    rule: str | None
    status: Literal["draft", "active", "retired", "archived"]


class PrincipleQuery(ListQuery):
    code: str | None = Field(default=None, max_length=20)
    category: Category | None = None
    status: Literal["draft", "active", "retired", "archived"] | None = None
