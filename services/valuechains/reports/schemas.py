from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.pagination import MAX_BATCH
from services.valuechains.allocations.schemas import AllocationRef, Period
from services.valuechains.chains.schemas import ChainRef

ChainFilter = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Only these chains (href or id, repeatable); default: every chain that is not archived.",
    ),
]


class StaffingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain: ChainFilter


class AllocationReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field(description="The period to report on: 2027, 2027-H1 or 2027-Q3.")
    chain: ChainFilter


class Staffing(BaseModel):
    teams: int = Field(description="Active teams.")
    fte_internal: float = Field(description="Internal FTE (eigen personeel), exact to one decimal.")
    fte_external: float = Field(description="External FTE (inhuur, partners), exact to one decimal.")
    fte_total: float
    external_share: float | None = Field(
        description="External FTE as a percentage of all FTE, 0 to 100, one decimal; null when there are no FTE."
    )
    above_threshold: bool = Field(description="External share is above the configured threshold.")


class ChainLabel(BaseModel):
    chain: ChainRef
    code: str
    name: str


class ChainStaffing(Staffing, ChainLabel):
    """A chain's row (its label fields come first: pydantic orders base fields by reversed MRO)."""


class StaffingTotals(Staffing):
    chains: int = Field(description="Chains in the report.")
    chains_above_threshold: int


class StaffingReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "threshold": 30.0,
                    "chains": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"},
                            "code": "INT",
                            "name": "Intelligence",
                            "teams": 28,
                            "fte_internal": 121.5,
                            "fte_external": 70.0,
                            "fte_total": 191.5,
                            "external_share": 36.6,
                            "above_threshold": True,
                        }
                    ],
                    "totals": {
                        "chains": 1,
                        "chains_above_threshold": 1,
                        "teams": 28,
                        "fte_internal": 121.5,
                        "fte_external": 70.0,
                        "fte_total": 191.5,
                        "external_share": 36.6,
                        "above_threshold": True,
                    },
                }
            ]
        }
    )

    threshold: float = Field(description="The external-share threshold in percent (configured; default 30).")
    chains: list[ChainStaffing] = Field(description="One row per chain, by code; chains without teams show zeros.")
    totals: StaffingTotals = Field(description="Over every chain in the report: the rows add up to these.")


class ChainAllocation(ChainLabel):
    allocation: AllocationRef
    budget_eur: int
    maintenance: int = Field(description="Beheer, percent.")
    security: int = Field(description="Beveiliging, percent.")
    renewal: int = Field(description="Vernieuwing, percent.")


class MissingChain(ChainLabel):
    """A chain without an allocation for the period."""


class WeightedSplit(BaseModel):
    chains: int = Field(description="Chains with an allocation for the period.")
    budget_eur: int = Field(description="Their budgets added up, whole euros.")
    maintenance: float | None = Field(description="Budget-weighted beheer share, percent, one decimal.")
    security: float | None = Field(description="Budget-weighted beveiliging share, percent, one decimal.")
    renewal: float | None = Field(description="Budget-weighted vernieuwing share, percent, one decimal.")


class AllocationReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026",
                    "chains": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
                            "code": "OPS",
                            "name": "Opsporing",
                            "allocation": {"href": "/valuechains/v1/allocations/019a0000-0002-7000-8000-000000000006"},
                            "budget_eur": 48000000,
                            "maintenance": 55,
                            "security": 15,
                            "renewal": 30,
                        }
                    ],
                    "missing": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000005"},
                            "code": "BVO",
                            "name": "Bedrijfsvoering",
                        }
                    ],
                    "overall": {
                        "chains": 1,
                        "budget_eur": 48000000,
                        "maintenance": 55.0,
                        "security": 15.0,
                        "renewal": 30.0,
                    },
                }
            ]
        }
    )

    period: str
    chains: list[ChainAllocation] = Field(description="Chains with an allocation for the period, by code.")
    missing: list[MissingChain] = Field(description="Chains (not archived) with no allocation for the period.")
    overall: WeightedSplit = Field(
        description=(
            "Shares weighted by budget over the chains with an allocation; they add up to 100.0 "
            "(largest remainder). Null when the budgets add up to 0."
        )
    )
