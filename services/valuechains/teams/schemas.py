from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from services.chassis.references import reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead
from services.valuechains.refs import CHAINS_PATH, ChainRef

MAX_FTE = 100

Fte = Annotated[
    Decimal,
    Field(ge=0, le=MAX_FTE, decimal_places=1),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_FTE,
            "multipleOf": 0.1,
            "description": "Full-time equivalents, at most one decimal place (3.5).",
        }
    ),
]
Maturity = Annotated[
    int,
    Field(ge=1, le=5, description="Agile maturity, 1 (starting) to 5 (leading).", examples=[3]),
]
INTERNAL = "Internal staff (eigen personeel) in FTE, e.g. 6.5."
HIRED = (
    "Hired staff (inhuur: contractors and agency staff hired by the hour) in FTE, e.g. 1.5; default 0. Part of the "
    "flexible shell (flexibele schil), with `fte_partner`."
)
PARTNER = (
    "Staff of partners (partners: suppliers and other organisations the police works with under a longer "
    "agreement) in FTE, e.g. 1.0; default 0. Part of the flexible shell (flexibele schil), with `fte_hired`."
)
TeamName = Annotated[str, Field(min_length=1, max_length=200, examples=["Zaakdossier Alpha"])]


class TeamCreate(Input):
    """A team; the chain is the one in the path."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Zaakdossier Alpha", "fte_internal": 6.5, "fte_hired": 1.5, "fte_partner": 1, "maturity": 3}
            ]
        }
    )

    name: TeamName
    fte_internal: Fte = Field(description=INTERNAL)
    fte_hired: Fte = Field(default=Decimal(0), description=HIRED)
    fte_partner: Fte = Field(default=Decimal(0), description=PARTNER)
    maturity: Maturity


class TeamUpdate(Input):
    """Send only what changes. A new `chain` moves the team: you must own both chains (or be admin)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"fte_internal": 7, "fte_hired": 0.5, "fte_partner": 1},
                {"chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"}},
            ]
        }
    )

    name: TeamName | None = None
    chain: ChainRef | None = Field(default=None, description="Move the team to this chain (audited).")
    fte_internal: Fte | None = Field(default=None, description=INTERNAL)
    fte_hired: Fte | None = Field(default=None, description=HIRED)
    fte_partner: Fte | None = Field(default=None, description=PARTNER)
    maturity: Maturity | None = None


class TeamRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0000-0001-7000-8000-000000000001",
                    "href": "/valuechains/v1/teams/019a0000-0001-7000-8000-000000000001",
                    "version": 1,
                    "status": "active",
                    "created_at": "2026-11-28T10:15:00Z",
                    "updated_at": "2026-11-28T10:15:00Z",
                    "name": "Zaakdossier Alpha",
                    "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
                    "fte_internal": 6.5,
                    "fte_hired": 1.5,
                    "fte_partner": 0.5,
                    "fte_external": 2.0,
                    "maturity": 3,
                }
            ]
        }
    )

    name: str
    chain: ChainRef
    fte_internal: float = Field(description="Internal FTE (eigen personeel), one decimal.")
    fte_hired: float = Field(description="Hired FTE (inhuur), one decimal.")
    fte_partner: float = Field(description="Partner FTE (partners), one decimal.")
    fte_external: float = Field(
        description=(
            "External FTE, the flexible shell (flexibele schil): `fte_hired` + `fte_partner`. Derived, not "
            "written: send `fte_hired` and `fte_partner`."
        )
    )
    maturity: int
    status: Literal["active", "archived"]


class ChainTeamQuery(ListQuery):
    maturity: int | None = Field(default=None, ge=1, le=5, description="Only teams of this maturity.")
    name: str | None = Field(default=None, max_length=200, description="Exact team name.")
    name_contains: str | None = Field(
        default=None, min_length=1, max_length=200, description="Team name contains this (case-insensitive)."
    )


class TeamQuery(ChainTeamQuery):
    chain: str | None = reference_filter(CHAINS_PATH, "Only teams of this chain (its href or its id).")
