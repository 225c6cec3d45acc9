from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from services.chassis.resources import Input, ListQuery, Person, ResourceRead, any_of

ProgrammeStatus = Literal["proposed", "active", "completed"]
Code = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9-]{1,19}$", description="Short code, unique among programmes.", examples=["VR"]),
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Ambition = Annotated[str, Field(min_length=1, max_length=4000)]


class ProgrammeCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "VR",
                    "name": "Vernieuwend Registreren",
                    "ambition": "Register once, at the source, in a way every colleague can use.",
                    "owner": {"subject": "u200114", "name": "M. Bakker", "unit": "Dienst IV"},
                    "status": "active",
                }
            ]
        }
    )

    code: Code
    name: Text200
    ambition: Ambition = Field(description="The big ambition the programme's small initiatives add up to.")
    owner: Person
    status: ProgrammeStatus = "active"


class ProgrammeUpdate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "completed"}]})

    name: Text200 | None = None
    ambition: Ambition | None = None
    owner: Person | None = None
    status: ProgrammeStatus | None = Field(
        default=None, description="proposed → active → completed; other moves are 409."
    )


class ProgrammeRead(ResourceRead):
    code: str
    name: str
    ambition: str
    owner: Person
    status: Literal["proposed", "active", "completed", "archived"]


class ProgrammeQuery(ListQuery):
    code: str | None = Field(default=None, max_length=20, description="Exact code.")
    status: list[Literal["proposed", "active", "completed", "archived"]] = any_of()
    owner_subject: str | None = Field(default=None, max_length=200, description="Programmes owned by this subject.")
    owner_unit: str | None = Field(default=None, max_length=120, description="Programmes owned from this unit.")
