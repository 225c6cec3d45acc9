from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from services.chassis.references import ref_type
from services.chassis.resources import Input, ListQuery, Person, ResourceRead

CHAINS_PATH = "/valuechains/v1/chains"


class ChainRef(ref_type("ChainRef", CHAINS_PATH, "A value chain.")):  # type: ignore[misc]
    """A value chain (IV-waardeketen), by its href."""


Code = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9-]{1,19}$",
        description="Short human code, unique among chains (upper case, digits, dashes).",
        examples=["OPS"],
    ),
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


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


class ChainUpdate(Input):
    """Fields the chain's owner may change. Reassigning the owner is a separate, explicit action."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"mission": "A sharper mission statement."}]})

    name: Text200 | None = None
    domain: Text200 | None = None
    mission: Annotated[str, Field(min_length=1, max_length=4000)] | None = None


class ChainRead(ResourceRead):
    code: str
    name: str
    domain: str
    mission: str
    owner: Owner
    status: Literal["active", "archived"]


class ChainQuery(ListQuery):
    code: str | None = Field(default=None, max_length=20, description="Exact code.")
    domain: str | None = Field(default=None, max_length=200, description="Exact domain.")
    owner_subject: str | None = Field(default=None, max_length=200, description="Chains owned by this subject.")
    owner_unit: str | None = Field(default=None, max_length=120)
