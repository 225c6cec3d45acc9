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
TeamName = Annotated[str, Field(min_length=1, max_length=200, examples=["Zaakdossier Alpha"])]


class TeamCreate(Input):
    """A team; the chain is the one in the path."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Zaakdossier Alpha", "fte_internal": 6.5, "fte_external": 2, "maturity": 3}]
        }
    )

    name: TeamName
    fte_internal: Fte = Field(description="Internal staff (eigen personeel) in FTE, e.g. 6.5.")
    fte_external: Fte = Field(description="External staff (inhuur, partners) in FTE, e.g. 2.0.")
    maturity: Maturity


class TeamUpdate(Input):
    """Send only what changes. A new `chain` moves the team: you must own both chains (or be admin)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"fte_internal": 7, "fte_external": 1.5},
                {"chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"}},
            ]
        }
    )

    name: TeamName | None = None
    chain: ChainRef | None = Field(default=None, description="Move the team to this chain (audited).")
    fte_internal: Fte | None = None
    fte_external: Fte | None = None
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
                    "fte_external": 2.0,
                    "maturity": 3,
                }
            ]
        }
    )

    name: str
    chain: ChainRef
    fte_internal: float = Field(description="Internal FTE (eigen personeel), one decimal.")
    fte_external: float = Field(description="External FTE (inhuur, partners), one decimal.")
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
