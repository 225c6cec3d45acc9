import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.figures import CountsAndDetails, Coverage
from services.chassis.pagination import MAX_BATCH
from services.chassis.references import href_or_id_pattern
from services.valuechains.allocations.schemas import Period
from services.valuechains.applications.schemas import Day
from services.valuechains.refs import CHAINS_PATH, AllocationRef, ApplicationRef, ChainRef, InitiativeRef

ChainFilter = Annotated[
    list[Annotated[str, Field(max_length=200, pattern=href_or_id_pattern(CHAINS_PATH))]],
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
    fte_hired: float = Field(description="Hired FTE (inhuur), exact to one decimal.")
    fte_partner: float = Field(description="Partner FTE (partners), exact to one decimal.")
    fte_external: float = Field(
        description="External FTE, the flexible shell (flexibele schil): hired + partner, exact to one decimal."
    )
    fte_total: float
    external_share: float | None = Field(
        description=(
            "External FTE (hired + partner) as a percentage of all FTE, 0 to 100, one decimal (half up); null "
            "when there are no FTE."
        )
    )


class ChainLabel(BaseModel):
    chain: ChainRef
    code: str
    name: str


class ChainStaffing(Staffing, ChainLabel):
    """A chain's row (its label fields come first: pydantic orders base fields by reversed MRO)."""

    external_share_limit: float = Field(
        description="The limit this chain's external share is held to, percent: its own, or the default."
    )
    limit_source: Literal["chain", "default"] = Field(
        description="`chain`: the chain's own `external_share_limit`; `default`: the service's default."
    )
    above_limit: bool = Field(description="The external share is above the chain's limit (at the limit is not).")


class StaffingTotals(Staffing):
    chains: int = Field(description="Chains in the report.")
    chains_above_limit: int = Field(description="Chains whose external share is above their own limit.")


class OnArchivedChains(BaseModel):
    """Active teams kept on archived chains (a chain archived with force keeps its teams)."""

    chains: int = Field(description="Archived chains (of those asked for) that still have active teams.")
    teams: int = Field(description="Their active teams.")
    fte_internal: float
    fte_hired: float
    fte_partner: float
    fte_external: float
    fte_total: float


class StaffingReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "default_limit": 30.0,
                    "chains": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"},
                            "code": "INT",
                            "name": "Intelligence",
                            "teams": 28,
                            "fte_internal": 121.5,
                            "fte_hired": 52.0,
                            "fte_partner": 18.0,
                            "fte_external": 70.0,
                            "fte_total": 191.5,
                            "external_share": 36.6,
                            "external_share_limit": 40.0,
                            "limit_source": "chain",
                            "above_limit": False,
                        }
                    ],
                    "totals": {
                        "chains": 1,
                        "chains_above_limit": 0,
                        "teams": 28,
                        "fte_internal": 121.5,
                        "fte_hired": 52.0,
                        "fte_partner": 18.0,
                        "fte_external": 70.0,
                        "fte_total": 191.5,
                        "external_share": 36.6,
                    },
                    "coverage": {"basis": "all", "counted": 28, "left_out": 0, "not_visible": 0},
                    "on_archived_chains": {
                        "chains": 0,
                        "teams": 0,
                        "fte_internal": 0.0,
                        "fte_hired": 0.0,
                        "fte_partner": 0.0,
                        "fte_external": 0.0,
                        "fte_total": 0.0,
                    },
                }
            ]
        }
    )

    default_limit: float = Field(
        description=(
            "The external-share limit in percent for chains without one of their own "
            "(`IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT`, default 30)."
        )
    )
    chains: list[ChainStaffing] = Field(description="One row per chain, by code; chains without teams show zeros.")
    totals: StaffingTotals = Field(description="Over every chain in the report: the rows add up to these.")
    coverage: Coverage = Field(
        description=(
            "Teams and FTE are counts, so every active team of the chains in the report counts (basis `all`); "
            "`counted` is the number of those teams, `not_visible` how many of them you may not see."
        )
    )
    on_archived_chains: OnArchivedChains = Field(
        description=(
            "Active teams that archived chains still keep (a chain archived with `force`): not in `chains`, "
            "`totals` or `coverage`, and shown here so that none drops out of the figures silently."
        )
    )


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
                    "coverage": {"basis": "visible", "counted": 1, "left_out": 0, "not_visible": 0},
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
    coverage: Coverage = Field(
        description=(
            "Budgets and their split are money, so they are computed over the allocations for the period you "
            "may see (basis `visible`): `counted` allocations, `left_out` the ones you may not see."
        )
    )


class FoundationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = Field(
        default=None,
        description=(
            'The day to measure against ("today"), ISO date, 1970-01-01 to 2199-12-31. Default: today in UTC. '
            "Pass it to reproduce a report or to look ahead (what will be past support by then?)."
        ),
        examples=["2026-12-01"],
    )
    chain: ChainFilter


class DebtWeights(BaseModel):
    """Points of technical debt per item; the score is the plain sum (not normalised)."""

    critical_finding: int = Field(description="Per open critical finding.")
    high_finding: int = Field(description="Per open high finding.")
    application_past_support: int = Field(description="Per application past end of support.")
    application_support_ending: int = Field(description="Per application whose support ends within 6 months.")
    application_without_recent_release: int = Field(description="Per application not released in 12 months.")


class Foundation(BaseModel):
    applications: int = Field(description="Active (not archived) applications, whatever their classification.")
    applications_past_support: int = Field(description="`supported_until` before `as_of`.")
    applications_support_ending: int = Field(
        description="Still supported on `as_of`, but `supported_until` at most 6 calendar months after it."
    )
    applications_without_recent_release: int = Field(
        description="`last_release` more than 12 calendar months before `as_of`: maintenance lags behind."
    )
    oldest_release: dt.date | None = Field(
        description=(
            "The earliest `last_release` among the applications you may see (a date describes one "
            "application, so need to know applies; the counts include every application); null without any."
        )
    )
    max_release_age_days: int | None = Field(
        description=(
            "Days from `oldest_release` to `as_of` (0 when that release is after `as_of`); null without applications."
        )
    )
    open_critical_findings: int = Field(description="Open critical security findings, summed.")
    open_high_findings: int = Field(description="Open high security findings, summed.")
    eliminate_with_critical_findings: int = Field(
        description="Applications with disposition `eliminate` that still carry critical findings."
    )
    technical_debt_score: int = Field(description="The weighted sum (see `weights`): higher is more technische schuld.")
    technical_debt_per_application: float | None = Field(
        description=(
            "The score divided by `applications`, one decimal (half up), to compare chains of different size; "
            "null without applications."
        )
    )


class ChainFoundation(Foundation, ChainLabel):
    """A chain's row (its label fields first)."""


class FoundationTotals(Foundation):
    chains: int = Field(description="Chains in the report.")


class FlaggedApplication(BaseModel):
    application: ApplicationRef
    name: str
    chain: ChainRef
    code: str = Field(description="The chain's code.")
    open_critical_findings: int


class AddressingInitiative(BaseModel):
    initiative: InitiativeRef
    name: str
    effect: Literal["renews", "replaces", "retires"] = Field(description="What the initiative does to the application.")
    status: str = Field(description="The initiative's status (proposed, approved, active or delivered).")


class AttentionApplication(BaseModel):
    """An application past support or with open critical findings, and who is doing something about it."""

    application: ApplicationRef
    name: str
    chain: ChainRef
    code: str = Field(description="The chain's code.")
    supported_until: dt.date
    past_support: bool = Field(description="`supported_until` before `as_of`.")
    open_critical_findings: int
    addressed_by: list[AddressingInitiative] | None = Field(
        description=(
            "The initiatives that renew, replace or retire it (stopped ones left out), as the portfolio service "
            "shows them to you; null when the portfolio could not be asked (see `incomplete`): then it is unknown "
            "whether anything addresses it."
        )
    )
    addressed: bool | None = Field(
        description="Some initiative addresses it; `false` flags it as unaddressed; null when that is unknown."
    )


class FoundationReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-12-01",
                    "weights": {
                        "critical_finding": 10,
                        "high_finding": 3,
                        "application_past_support": 5,
                        "application_support_ending": 2,
                        "application_without_recent_release": 1,
                    },
                    "chains": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000004"},
                            "code": "NHM",
                            "name": "Noodhulp en Meldkamer",
                            "applications": 8,
                            "applications_past_support": 2,
                            "applications_support_ending": 1,
                            "applications_without_recent_release": 3,
                            "oldest_release": "2022-05-17",
                            "max_release_age_days": 1659,
                            "open_critical_findings": 4,
                            "open_high_findings": 6,
                            "eliminate_with_critical_findings": 2,
                            "technical_debt_score": 73,
                            "technical_debt_per_application": 9.1,
                        }
                    ],
                    "overall": {
                        "chains": 1,
                        "applications": 8,
                        "applications_past_support": 2,
                        "applications_support_ending": 1,
                        "applications_without_recent_release": 3,
                        "oldest_release": "2022-05-17",
                        "max_release_age_days": 1659,
                        "open_critical_findings": 4,
                        "open_high_findings": 6,
                        "eliminate_with_critical_findings": 2,
                        "technical_debt_score": 73,
                        "technical_debt_per_application": 9.1,
                    },
                    "flagged": [
                        {
                            "application": {
                                "href": "/valuechains/v1/applications/019a0000-0003-7000-8000-000000000027"
                            },
                            "name": "Meldkamerkoppeling oud",
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000004"},
                            "code": "NHM",
                            "open_critical_findings": 2,
                        }
                    ],
                    "flagged_not_shown": 0,
                    "attention": [
                        {
                            "application": {
                                "href": "/valuechains/v1/applications/019a0000-0003-7000-8000-000000000027"
                            },
                            "name": "Meldkamerkoppeling oud",
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000004"},
                            "code": "NHM",
                            "supported_until": "2026-03-31",
                            "past_support": True,
                            "open_critical_findings": 2,
                            "addressed_by": [
                                {
                                    "initiative": {
                                        "href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000031"
                                    },
                                    "name": "Vervanging meldkamerkoppeling",
                                    "effect": "retires",
                                    "status": "active",
                                }
                            ],
                            "addressed": True,
                        }
                    ],
                    "unaddressed": 0,
                    "incomplete": [],
                    "coverage": {
                        "counts": {"basis": "all", "counted": 8, "left_out": 0, "not_visible": 0},
                        "details": {"basis": "visible", "counted": 8, "left_out": 0, "not_visible": 0},
                    },
                }
            ]
        }
    )

    as_of: dt.date = Field(description="The day measured against.")
    weights: DebtWeights
    chains: list[ChainFoundation] = Field(
        description="One row per chain, by code; chains without applications show zeros."
    )
    overall: FoundationTotals = Field(description="Over every chain in the report: the rows add up to these.")
    flagged: list[FlaggedApplication] = Field(
        description=(
            "Applications with disposition `eliminate` that still carry critical findings (a system being phased "
            "out is still attacked), by chain code and name; only those your clearance shows you."
        )
    )
    flagged_not_shown: int = Field(
        description=(
            "Flagged applications left out of `flagged` because they are classified above your clearance: a "
            "count, so over every application (of the `coverage.details.left_out` applications, those that "
            "would be flagged)."
        )
    )
    attention: list[AttentionApplication] = Field(
        description=(
            "The applications past support on `as_of` or with open critical findings, by chain code and name, each "
            "with the initiatives (of the portfolio service, which keeps the link) that renew, replace or retire "
            "it; `addressed: false` flags those no initiative addresses. Only applications your clearance shows "
            "you (like `flagged`), and only the initiatives the portfolio shows you: the portfolio's list does not "
            "say how many it leaves out."
        )
    )
    unaddressed: int | None = Field(
        description="How many of `attention` no initiative addresses; null when the portfolio could not be asked."
    )
    incomplete: list[str] = Field(
        description=(
            "What is missing because another service did not answer: `addressing: ...` when the portfolio is "
            "unreachable (then `addressed_by` and `addressed` are null, not empty: unknown, not unaddressed). Empty "
            "when the answer is whole."
        )
    )
    coverage: CountsAndDetails = Field(
        description=(
            "Over the active applications of the chains in the report. `counts`: every figure but the two below "
            "counts all of them (basis `all`; `not_visible` says how many you may not see). `details`: "
            "`oldest_release`, `max_release_age_days` and `flagged` describe applications, so they are taken "
            "only from those you may see (basis `visible`; `left_out` says how many were left out)."
        )
    )
