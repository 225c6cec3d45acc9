import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.figures import Coverage
from services.portfolio.refs import AllocationRef, InitiativeRef, RoundRef, ValueChainRef
from services.portfolio.rounds.schemas import RoundStatus, Target

ROUNDING = (
    "Percentages are numbers from 0 to 100 with one decimal, rounded by largest remainder so that the "
    "parts of each split add up to exactly 100 (all 0 when there is no budget). run is maintenance + "
    "security as rounded, so run + renewal = 100 too."
)


class KindSplit(BaseModel):
    maintenance: float
    security: float
    renewal: float


class KindBudget(BaseModel):
    maintenance: int
    security: int
    renewal: int


class Ratio(BaseModel):
    run: float = Field(description='Percent run ("beheer": maintenance + security).')
    renewal: float = Field(description='Percent renewal ("vernieuwing").')


class Split(BaseModel):
    total_budget_eur: int
    budget_eur: KindBudget = Field(description="Budget per kind, whole euros.")
    shares: KindSplit = Field(description="Percent of the total per kind.")
    ratio: Ratio


class ChainSplit(Split):
    value_chain: ValueChainRef


class TrendPoint(BaseModel):
    round: RoundRef
    name: str
    period: str
    closed_at: dt.datetime | None
    total_budget_eur: int
    ratio: Ratio
    target: Target
    coverage: Coverage = Field(description="The round's live items counted, and those left out for you.")


class FundingSplit(BaseModel):
    structural_eur: int
    incidental_eur: int
    structural: float = Field(description="Percent of this kind's budget funded structurally.")
    incidental: float = Field(description="Percent of this kind's budget funded incidentally.")


class FundingByKind(BaseModel):
    maintenance: FundingSplit
    security: FundingSplit
    renewal: FundingSplit


class IncidentalRenewal(BaseModel):
    initiative: InitiativeRef
    name: str
    value_chain: ValueChainRef
    budget_eur: int


class RatioFigures(BaseModel):
    """The figures of a ratio report, by round or by year."""

    rounding: str = Field(description="How percentages are rounded.")
    overall: Split
    per_value_chain: list[ChainSplit] = Field(description="The same split per value chain, by href.")
    funding: FundingByKind = Field(description="Structural vs incidental money per kind.")
    renewal_funded_only_incidentally: list[IncidentalRenewal] = Field(
        description=(
            "Flagged: renewal funded only incidentally. Its later maintenance has no structural money (the "
            "strategy's warning), largest first."
        )
    )
    coverage: Coverage = Field(
        description=(
            "What the figures count: money is computed over the initiatives you may see (`visible`); "
            "`left_out` says how many records your clearance left out."
        )
    )


class RatioReport(RatioFigures):
    """The ratio of a round: the budgets its live items decided on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004"},
                    "name": "Rolling portfolio 2026-T3",
                    "period": "2026-T3",
                    "status": "open",
                    "rounding": ROUNDING,
                    "overall": {
                        "total_budget_eur": 40000000,
                        "budget_eur": {"maintenance": 18000000, "security": 6400000, "renewal": 15600000},
                        "shares": {"maintenance": 45.0, "security": 16.0, "renewal": 39.0},
                        "ratio": {"run": 61.0, "renewal": 39.0},
                    },
                    "target": {"run": 60, "renewal": 40},
                    "renewal_gap": -1.0,
                    "per_value_chain": [],
                    "trend": [],
                    "funding": {
                        "maintenance": {
                            "structural_eur": 18000000,
                            "incidental_eur": 0,
                            "structural": 100.0,
                            "incidental": 0.0,
                        },
                        "security": {
                            "structural_eur": 6400000,
                            "incidental_eur": 0,
                            "structural": 100.0,
                            "incidental": 0.0,
                        },
                        "renewal": {
                            "structural_eur": 11600000,
                            "incidental_eur": 4000000,
                            "structural": 74.4,
                            "incidental": 25.6,
                        },
                    },
                    "renewal_funded_only_incidentally": [],
                    "coverage": {"basis": "visible", "counted": 41, "left_out": 3, "not_visible": 0},
                }
            ]
        }
    )

    round: RoundRef
    name: str
    period: str
    status: RoundStatus
    overall: Split = Field(description="The round's live items (not stopped or deferred).")
    target: Target
    renewal_gap: float = Field(description="ratio.renewal - target.renewal: negative is short of the target.")
    trend: list[TrendPoint] = Field(description="run:renewal of every closed round, oldest first (by closing time).")
    coverage: Coverage = Field(
        description=(
            "The round's live items the figures count (those whose initiative you may see) and those left out."
        )
    )


class YearRatioReport(RatioFigures):
    """The ratio of a year: every initiative's money in that year."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2026,
                    "counted_statuses": ["proposed", "approved", "active", "delivered"],
                    "rounding": ROUNDING,
                    "overall": {
                        "total_budget_eur": 70000000,
                        "budget_eur": {"maintenance": 40600000, "security": 7700000, "renewal": 21700000},
                        "shares": {"maintenance": 58.0, "security": 11.0, "renewal": 31.0},
                        "ratio": {"run": 69.0, "renewal": 31.0},
                    },
                    "round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004"},
                    "target": {"run": 60, "renewal": 40},
                    "renewal_gap": -9.0,
                    "per_value_chain": [],
                    "funding": {
                        kind: {"structural_eur": 0, "incidental_eur": 0, "structural": 0.0, "incidental": 0.0}
                        for kind in ("maintenance", "security", "renewal")
                    },
                    "renewal_funded_only_incidentally": [],
                    "coverage": {"basis": "visible", "counted": 52, "left_out": 6, "not_visible": 0},
                }
            ]
        }
    )

    year: int
    counted_statuses: list[str] = Field(
        description="The initiatives whose money counts: every status but stopped (and archived ones are gone)."
    )
    overall: Split = Field(description="Every counted initiative's money in the year.")
    round: RoundRef | None = Field(
        description="The open round, whose target the figures are held against; null when none is open."
    )
    target: Target | None = Field(description="The open round's target; null when no round is open.")
    renewal_gap: float | None = Field(
        description="ratio.renewal - target.renewal: negative is short of the target; null without a target."
    )
    coverage: Coverage = Field(
        description="The initiatives with money in the year the figures count (those you may see) and those left out."
    )


RECONCILIATION_ROUNDING = (
    "Percentages have one decimal, by largest remainder so that each split adds up to 100; a difference is "
    "the portfolio's share minus the allocation's, in percentage points, computed on those tenths."
)


class AllocationSplit(BaseModel):
    budget_eur: int = Field(description="The allocations' budget, whole euros.")
    shares: KindSplit = Field(description="The owners' split in percent, weighted by budget where combined.")
    ratio: Ratio


class AllocationUsed(BaseModel):
    allocation: AllocationRef
    period: str


class ChainAllocationSplit(AllocationSplit):
    allocations: list[AllocationUsed] = Field(
        description=(
            "The allocation it is: the one for the whole year when the owner set one, otherwise those of the "
            "year's parts (halves, quarters, tertiaries), combined weighted by their budgets."
        )
    )


class KindPoints(BaseModel):
    maintenance: float
    security: float
    renewal: float
    run: float = Field(description="maintenance + security.")


class Difference(BaseModel):
    points: KindPoints = Field(
        description="The portfolio's share minus the allocation's, in percentage points: positive is more money."
    )
    largest_points: float = Field(description="The largest difference of any kind, in points, without its sign.")
    budget_eur: int = Field(
        description="The portfolio's money minus the allocations' budget, whole euros (negative: less money)."
    )


class Reconciliation(BaseModel):
    allocation: AllocationSplit | None = Field(description="The owners' split; null when there is no allocation.")
    portfolio: Split | None = Field(description="The portfolio's money by kind; null when there is none.")
    difference: Difference | None = Field(description="Null unless both sides are there.")
    flagged: bool = Field(description="The largest difference exceeds the threshold (`threshold_points`).")


class ChainReconciliation(Reconciliation):
    value_chain: ValueChainRef
    status: Literal["compared", "no_allocation", "no_portfolio_money"] = Field(
        description=(
            "`compared`: both sides are there; `no_allocation`: the portfolio has money for the chain that "
            "year but its owner set no allocation; `no_portfolio_money`: the owner set an allocation but the "
            "portfolio has no money for the chain that year (that you may see)."
        )
    )
    allocation: ChainAllocationSplit | None = Field(
        description="The chain owner's split for the year; null when there is no allocation."
    )


class ReconciliationReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2026,
                    "threshold_points": 5.0,
                    "counted_statuses": ["proposed", "approved", "active", "delivered"],
                    "rounding": RECONCILIATION_ROUNDING,
                    "overall": {
                        "allocation": {
                            "budget_eur": 180700000,
                            "shares": {"maintenance": 58.0, "security": 15.2, "renewal": 26.8},
                            "ratio": {"run": 73.2, "renewal": 26.8},
                        },
                        "portfolio": {
                            "total_budget_eur": 67378904,
                            "budget_eur": {"maintenance": 37250000, "security": 9000000, "renewal": 21128904},
                            "shares": {"maintenance": 55.3, "security": 13.3, "renewal": 31.4},
                            "ratio": {"run": 68.6, "renewal": 31.4},
                        },
                        "difference": {
                            "points": {"maintenance": -2.7, "security": -1.9, "renewal": 4.6, "run": -4.6},
                            "largest_points": 4.6,
                            "budget_eur": -113321096,
                        },
                        "flagged": False,
                    },
                    "chains": [
                        {
                            "value_chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000004"},
                            "status": "compared",
                            "allocation": {
                                "allocations": [
                                    {
                                        "allocation": {
                                            "href": "/valuechains/v1/allocations/019a0000-0002-7000-8000-000000000009"
                                        },
                                        "period": "2026",
                                    }
                                ],
                                "budget_eur": 47000000,
                                "shares": {"maintenance": 65.0, "security": 17.0, "renewal": 18.0},
                                "ratio": {"run": 82.0, "renewal": 18.0},
                            },
                            "portfolio": {
                                "total_budget_eur": 18600000,
                                "budget_eur": {"maintenance": 9200000, "security": 3000000, "renewal": 6400000},
                                "shares": {"maintenance": 49.5, "security": 16.1, "renewal": 34.4},
                                "ratio": {"run": 65.6, "renewal": 34.4},
                            },
                            "difference": {
                                "points": {"maintenance": -15.5, "security": -0.9, "renewal": 16.4, "run": -16.4},
                                "largest_points": 16.4,
                                "budget_eur": -28400000,
                            },
                            "flagged": True,
                        }
                    ],
                    "flagged_chains": 3,
                    "coverage": {"basis": "visible", "counted": 52, "left_out": 6, "not_visible": 0},
                }
            ]
        }
    )

    year: int
    threshold_points: float = Field(
        description=(
            "A chain is flagged when a difference exceeds this many points "
            "(IV_PORTFOLIO_RECONCILIATION_THRESHOLD_POINTS)."
        )
    )
    counted_statuses: list[str] = Field(description="The initiatives whose money counts: every status but stopped.")
    rounding: str = Field(description="How percentages and differences are rounded.")
    overall: Reconciliation = Field(
        description="Every allocation of the year (budget-weighted) beside all of the portfolio's money that year."
    )
    chains: list[ChainReconciliation] = Field(
        description="Per value chain with an allocation or with money that year (or both), by href."
    )
    flagged_chains: int = Field(description="How many chains are flagged.")
    coverage: Coverage = Field(
        description=(
            "The initiatives with money in the year the portfolio's figures count (those you may see) and "
            "those left out."
        )
    )
