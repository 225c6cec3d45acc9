"""The staffing history and the agile maturity over time: queries and answers."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.chassis.figures import Coverage
from services.valuechains.applications.schemas import Day
from services.valuechains.reports.schemas import ChainFilter, ChainLabel, ChainStaffing, StaffingTotals

PeriodKind = Literal["month", "quarter"]
MAX_PERIODS = 120

PERIOD_KIND = "`month` (calendar months, `2026-03`) or `quarter` (calendar quarters, `2026-Q1`)."
TEAMS_COVERAGE = (
    "Teams and FTE are counts, so every team that was active then in a chain of the report counts (basis `all`): "
    "`counted` teams, `not_visible` how many of them you may not see."
)


class StaffingHistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: Day | None = Field(
        default=None,
        alias="from",
        description=(
            "The first day of interest, ISO date; the report starts with the period that holds it. Default: eleven "
            "months (month) or three quarters (quarter) before `to`'s period, so a year."
        ),
        examples=["2025-12-01"],
    )
    to: Day | None = Field(
        default=None,
        description=(
            "The last day of interest, ISO date, not after today; the report ends with the period that holds it. "
            "Default: today."
        ),
        examples=["2026-12-01"],
    )
    period: PeriodKind = Field(default="month", description=f"The periods: {PERIOD_KIND} Default: month.")
    chain: ChainFilter

    @model_validator(mode="after")
    def in_order(self) -> "StaffingHistoryQuery":
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError(f"from ({self.from_}) is after to ({self.to})")
        return self


class PeriodLabel(BaseModel):
    period: str = Field(description="`2026-03` (a month) or `2026-Q1` (a quarter).")
    start: dt.date = Field(description="The period's first day.")
    end: dt.date = Field(description="The period's last day.")
    as_of: dt.datetime = Field(
        description=(
            "The moment the figures describe, UTC: the end of the period, or the moment of the report for a period "
            "that has not ended yet."
        )
    )


class StaffingPeriod(PeriodLabel):
    chains: list[ChainStaffing] = Field(
        description=(
            "One row per chain, by code, with the teams that were active in it at `as_of` and their FTE then; the "
            "limit is the chain's limit now (limits have no history)."
        )
    )
    totals: StaffingTotals = Field(description="Over every chain of the period: the rows add up to these.")
    coverage: Coverage = Field(description=TEAMS_COVERAGE)


class StaffingHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "quarter",
                    "from": "2026-01-01",
                    "to": "2026-06-30",
                    "default_limit": 30.0,
                    "periods": [
                        {
                            "period": "2026-Q1",
                            "start": "2026-01-01",
                            "end": "2026-03-31",
                            "as_of": "2026-04-01T00:00:00Z",
                            "chains": [
                                {
                                    "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000005"},
                                    "code": "BVO",
                                    "name": "Bedrijfsvoering",
                                    "teams": 25,
                                    "fte_internal": 101.5,
                                    "fte_hired": 70.0,
                                    "fte_partner": 20.5,
                                    "fte_external": 90.5,
                                    "fte_total": 192.0,
                                    "external_share": 47.1,
                                    "external_share_limit": 30.0,
                                    "limit_source": "default",
                                    "above_limit": True,
                                }
                            ],
                            "totals": {
                                "chains": 1,
                                "chains_above_limit": 1,
                                "teams": 25,
                                "fte_internal": 101.5,
                                "fte_hired": 70.0,
                                "fte_partner": 20.5,
                                "fte_external": 90.5,
                                "fte_total": 192.0,
                                "external_share": 47.1,
                            },
                            "coverage": {"basis": "all", "counted": 25, "left_out": 0, "not_visible": 0},
                        }
                    ],
                    "coverage": {"basis": "all", "counted": 25, "left_out": 0, "not_visible": 0},
                }
            ]
        },
        populate_by_name=True,
    )

    period: PeriodKind
    from_: dt.date = Field(alias="from", description="The first day of the first period.")
    to: dt.date = Field(description="The last day of the last period.")
    default_limit: float = Field(description="The external-share limit for chains without one of their own.")
    periods: list[StaffingPeriod] = Field(description="The periods in order, oldest first.")
    coverage: Coverage = Field(
        description="Over every team that counts in any of the periods (basis `all`); each period has its own."
    )


class MaturityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = Field(
        default=None,
        description=(
            "The day to report on, ISO date: the teams as they were at its end (today: as they are now). Default: "
            "today, UTC."
        ),
        examples=["2026-12-01"],
    )
    period: PeriodKind = Field(
        default="quarter",
        description=(
            f"What the previous period is: {PERIOD_KIND} The change is since the end of the period before the one "
            "that holds `as_of`. Default: quarter."
        ),
    )
    chain: ChainFilter


class Level(BaseModel):
    maturity: int = Field(ge=1, le=5, description="The maturity level, 1 (starting) to 5 (leading).")
    teams: int = Field(description="Active teams at this level.")


class Distribution(BaseModel):
    teams: int = Field(description="Active teams.")
    levels: list[Level] = Field(description="Teams per maturity level, 1 to 5 (every level, also with 0 teams).")
    average: float | None = Field(description="The teams' average maturity, one decimal (half up); null without teams.")


class LevelChange(BaseModel):
    maturity: int = Field(ge=1, le=5)
    teams: int = Field(description="Teams at this level now minus then (negative: fewer).")


class MaturityChange(BaseModel):
    teams: int = Field(description="Active teams now minus then.")
    levels: list[LevelChange] = Field(description="Per level, 1 to 5: teams now minus then.")
    average: float | None = Field(
        description="Average now minus average then, one decimal; null when either has no teams."
    )
    teams_up: int = Field(description="Teams active at both moments whose maturity rose.")
    teams_down: int = Field(description="Teams active at both moments whose maturity fell.")


class MaturityFigures(BaseModel):
    current: Distribution = Field(description="At `as_of`.")
    previous: Distribution = Field(description="At `previous_as_of`, the end of the previous period.")
    change: MaturityChange = Field(description="Since the previous period.")


class ChainMaturity(MaturityFigures, ChainLabel):
    """A chain's row: its teams then and now are the teams in the chain at each moment."""


class MaturityReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "quarter",
                    "as_of": "2026-12-01T12:00:00Z",
                    "previous_period": "2026-Q3",
                    "previous_as_of": "2026-10-01T00:00:00Z",
                    "chains": [
                        {
                            "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
                            "code": "OPS",
                            "name": "Opsporing",
                            "current": {
                                "teams": 2,
                                "levels": [
                                    {"maturity": 1, "teams": 0},
                                    {"maturity": 2, "teams": 1},
                                    {"maturity": 3, "teams": 1},
                                    {"maturity": 4, "teams": 0},
                                    {"maturity": 5, "teams": 0},
                                ],
                                "average": 2.5,
                            },
                            "previous": {
                                "teams": 2,
                                "levels": [
                                    {"maturity": 1, "teams": 1},
                                    {"maturity": 2, "teams": 1},
                                    {"maturity": 3, "teams": 0},
                                    {"maturity": 4, "teams": 0},
                                    {"maturity": 5, "teams": 0},
                                ],
                                "average": 1.5,
                            },
                            "change": {
                                "teams": 0,
                                "levels": [
                                    {"maturity": 1, "teams": -1},
                                    {"maturity": 2, "teams": 0},
                                    {"maturity": 3, "teams": 1},
                                    {"maturity": 4, "teams": 0},
                                    {"maturity": 5, "teams": 0},
                                ],
                                "average": 1.0,
                                "teams_up": 2,
                                "teams_down": 0,
                            },
                        }
                    ],
                    "coverage": {"basis": "all", "counted": 2, "left_out": 0, "not_visible": 0},
                }
            ]
        }
    )

    period: PeriodKind
    as_of: dt.datetime = Field(description="The moment `current` describes, UTC.")
    previous_period: str = Field(description="The previous period (`2026-Q3`, `2026-10`).")
    previous_as_of: dt.datetime = Field(
        description="The end of the previous period, UTC: the moment `previous` describes."
    )
    chains: list[ChainMaturity] = Field(description="One row per chain, by code; chains without teams show zeros.")
    overall: MaturityFigures = Field(description="Over every chain of the report: the rows add up to these.")
    coverage: Coverage = Field(
        description=(
            "Maturity levels are counts of teams, so every team active at either moment in a chain of the report "
            "counts (basis `all`): `counted` teams, `not_visible` how many of them you may not see."
        )
    )
