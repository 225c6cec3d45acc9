from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from services.chassis.resources import Input, ListQuery, Person, ResourceRead

Code = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9-]{1,19}$",
        description="Short human code, unique among chains (upper case, digits, dashes).",
        examples=["OPS"],
    ),
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]

LIMIT_DESCRIPTION = (
    "This chain's own limit on its external share of FTE (hired staff and partners, the flexible shell), in "
    "percent with at most one decimal (0 to 100): the staffing report flags the chain when its external share "
    "is above it. null: the service's default applies (`IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT`, 30). A limit is "
    "governance, not the owner's to loosen: only an admin sets or clears it (403 otherwise)."
)
ShareLimit = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=1),
    WithJsonSchema(
        {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.1, "description": LIMIT_DESCRIPTION}
    ),
]


class Owner(Person):
    """The one accountable person from operations ("één verantwoordelijke uit de operatie")."""


class OwnerChange(Owner):
    """The chain's new owner (ketenverantwoordelijke)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"subject": "u204518", "name": "M. Bakker", "unit": "Eenheid Midden-Nederland"}]
        }
    )


class ChainCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "OPS",
                    "name": "Opsporing",
                    "domain": "Criminal investigation",
                    "mission": "Equip investigation teams with reliable case and evidence systems.",
                    "owner": {"subject": "u100231", "name": "J. de Vries", "unit": "Eenheid Rotterdam"},
                }
            ]
        }
    )

    code: Code
    name: Text200
    domain: Text200 = Field(description="The part of police work this chain serves.")
    mission: Annotated[str, Field(min_length=1, max_length=4000)]
    owner: Owner
    external_share_limit: ShareLimit | None = Field(default=None, description=LIMIT_DESCRIPTION)


class ChainUpdate(Input):
    """Fields the chain's owner may change. Reassigning the owner is a separate, explicit action."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"mission": "A sharper mission statement."}]})

    name: Text200 | None = None
    domain: Text200 | None = None
    mission: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    external_share_limit: ShareLimit | None = Field(
        default=None, description=f"{LIMIT_DESCRIPTION} Send null to return to the default."
    )


FIGURES_NOTE = (
    "Derived from the chain's active applications when the chain is read (never stored, so it does not "
    "change the chain's version or appear in its change events). Counted over all of them, whatever their "
    "classification: a count is not the content, and an owner or principle rule without clearance must not "
    "be told the foundation is healthier than it is (basis `all`; `applications_not_visible` says how many of "
    "them you may not see)."
)


class ChainRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0000-0000-7000-8000-000000000001",
                    "href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001",
                    "version": 1,
                    "status": "active",
                    "created_at": "2026-11-28T10:15:00Z",
                    "updated_at": "2026-11-28T10:15:00Z",
                    "code": "OPS",
                    "name": "Opsporing",
                    "domain": "Criminal investigation",
                    "mission": "Equip investigation teams with reliable case and evidence systems.",
                    "owner": {"subject": "u100231", "name": "J. de Vries", "unit": "Eenheid Rotterdam"},
                    "external_share_limit": None,
                    "active_applications": 9,
                    "open_critical_findings": 3,
                    "open_high_findings": 7,
                    "applications_past_support": 2,
                    "applications_not_visible": 0,
                }
            ]
        }
    )

    code: str
    name: str
    domain: str
    mission: str
    owner: Owner
    external_share_limit: float | None = Field(description=LIMIT_DESCRIPTION)
    status: Literal["active", "archived"]
    active_applications: int = Field(description=f"Applications of this chain that are not archived. {FIGURES_NOTE}")
    open_critical_findings: int = Field(
        description=(
            "Open critical security findings over the chain's active applications: the first thing to fix "
            f'for "een goed fundament" (continuïteit en security vóór vernieuwing). {FIGURES_NOTE}'
        )
    )
    open_high_findings: int = Field(
        description=f"Open high security findings over the chain's active applications. {FIGURES_NOTE}"
    )
    applications_past_support: int = Field(
        description=(
            "Active applications whose `supported_until` is before today (UTC): running without vendor or "
            f"platform support, technische schuld. {FIGURES_NOTE}"
        )
    )
    applications_not_visible: int = Field(
        description=(
            "Of the `active_applications` (which the other figures count too), those you may not see: "
            "classified above your clearance. 0 when you may see all of them. Like the figures it qualifies, "
            "derived when the chain is read and never stored; it is the `not_visible` of these counts' "
            "coverage (basis `all`)."
        )
    )


class ChainQuery(ListQuery):
    code: str | None = Field(default=None, max_length=20, description="Exact code.")
    domain: str | None = Field(default=None, max_length=200, description="Exact domain.")
    owner_subject: str | None = Field(default=None, max_length=200, description="Chains owned by this subject.")
    owner_unit: str | None = Field(default=None, max_length=120)
