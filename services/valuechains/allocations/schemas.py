import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.chassis.references import reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead
from services.valuechains.allocations.periods import PERIOD_HELP, PERIOD_PATTERN
from services.valuechains.refs import CHAINS_PATH, ChainRef

MAX_BUDGET_EUR = 10**12

Percentage = Annotated[StrictInt, Field(ge=0, le=100)]
Euros = Annotated[StrictInt, Field(ge=0, le=MAX_BUDGET_EUR, description="Whole euros, 0 or more.")]
Period = Annotated[str, Field(pattern=PERIOD_PATTERN, description=f"The period: {PERIOD_HELP}.", examples=["2027"])]

EXAMPLE_PUT: dict[str, Any] = {
    "maintenance": 55,
    "security": 15,
    "renewal": 30,
    "budget_eur": 48_000_000,
    "rationale": (
        "Case-file migration is done, so beheer can shrink; security stays at 15 after the audit "
        "findings; the freed budget goes to renewal of the evidence chain."
    ),
}


class AllocationPut(Input):
    """The owner's split for the period: three integer percentages that sum to 100, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_PUT]})

    maintenance: Percentage = Field(description="Beheer: keeping what exists running, in percent.")
    security: Percentage = Field(description="Beveiliging: keeping security in order, in percent.")
    renewal: Percentage = Field(description="Vernieuwing: renewal and innovation, in percent.")
    budget_eur: Euros
    rationale: Annotated[str, Field(min_length=1, max_length=8000)] = Field(
        description="The owner's weighing (afweging): why this split. Required, not empty."
    )


class AllocationRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0000-0002-7000-8000-000000000006",
                    "href": "/valuechains/v1/allocations/019a0000-0002-7000-8000-000000000006",
                    "version": 2,
                    "status": "active",
                    "created_at": "2026-01-12T09:00:00Z",
                    "updated_at": "2026-03-02T14:30:00Z",
                    "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
                    "period": "2026",
                    **EXAMPLE_PUT,
                    "revision": 2,
                    "revisions_href": (
                        "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001/allocations/2026/revisions"
                    ),
                }
            ]
        }
    )

    chain: ChainRef
    period: str = Field(description=f"{PERIOD_HELP}.")
    maintenance: int = Field(description="Beheer, percent.")
    security: int = Field(description="Beveiliging, percent.")
    renewal: int = Field(description="Vernieuwing, percent.")
    budget_eur: int = Field(description="Whole euros.")
    rationale: str
    revision: int = Field(description="Number of the current revision (1 for the first decision).")
    revisions_href: str = Field(description="Path of every revision of this allocation, oldest first.")
    status: Literal["active", "archived"]


class ChainAllocationQuery(ListQuery):
    period: Period | None = None
    year: int | None = Field(
        default=None, ge=1900, le=2199, description="Periods in this year: 2027 gives 2027, 2027-H1, 2027-Q3, ..."
    )


class AllocationQuery(ChainAllocationQuery):
    chain: str | None = reference_filter(CHAINS_PATH, "Only this chain's (its href or its id).")


class Actor(BaseModel):
    subject: str = Field(description="The `sub` of the token that set this revision.")
    name: str | None = Field(default=None, description="Their name, when the token carried one.")


class AllocationRevisionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 1,
                    "version": 1,
                    **EXAMPLE_PUT,
                    "by": {"subject": "u100231", "name": "J. de Vries"},
                    "at": "2026-01-12T09:00:00Z",
                }
            ]
        }
    )

    revision: int = Field(description="1, 2, 3, ... in the order the decisions were made.")
    version: int = Field(description="The allocation's version this revision produced.")
    maintenance: int
    security: int
    renewal: int
    budget_eur: int
    rationale: str
    by: Actor
    at: dt.datetime = Field(description="When it was set, UTC.")
