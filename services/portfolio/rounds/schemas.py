import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.chassis.figures import Coverage
from services.chassis.pagination import PageQuery
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.portfolio.common import BudgetEur, Text200
from services.portfolio.refs import InitiativeRef, RoundRef

Decision = Literal["start", "continue", "adjust", "stop", "defer"]
LIVE_DECISIONS: tuple[Decision, ...] = ("start", "continue", "adjust")
RoundStatus = Literal["draft", "open", "closed", "archived"]
Period = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}(-(H[12]|Q[1-4]|T[1-3]))?$",
        description=(
            "The period it plans: a year, half year, quarter or tertiary (four months, tertiaal): "
            "`2027`, `2027-H1`, `2027-Q3`, `2027-T2`."
        ),
        examples=["2026-T3"],
    ),
]


def period_year(period: str) -> int:
    """The calendar year a period is in (``2026-T3`` is in 2026)."""
    return int(period[:4])


Rank = Annotated[
    int,
    Field(
        ge=1,
        le=100_000,
        description="Priority within the round, 1 first; unique within the round (409 when taken). Gaps are "
        "fine: leave room (10, 20, 30) to move items between others.",
        examples=[3],
    ),
]
Note = Annotated[str, Field(max_length=4000, description="Why: shown with every change in the diff.")]

DECISION_DESCRIPTION = (
    "start (new in the portfolio), continue, adjust (continue with changed scope or budget), stop, "
    "defer (not now). Items that stop or are deferred do not count in the ratio report."
)


class Target(Input):
    """The round's target split of the budget: run (beheer: maintenance and security) : renewal (vernieuwing)."""

    run: Annotated[int, Field(ge=0, le=100, description="Percent for run (beheer).", examples=[60])]
    renewal: Annotated[int, Field(ge=0, le=100, description="Percent for renewal (vernieuwing).", examples=[40])]

    @model_validator(mode="after")
    def _sums_to_100(self) -> "Target":
        if self.run + self.renewal != 100:
            raise ValueError(f"run and renewal must add up to 100, not {self.run + self.renewal}")
        return self


class RoundCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Rolling portfolio 2027-T1",
                    "period": "2027-T1",
                    "target": {"run": 60, "renewal": 40},
                    "from_round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004"},
                }
            ]
        }
    )

    name: Text200
    period: Period
    target: Target
    from_round: RoundRef | None = Field(
        default=None,
        description=(
            "Start from this round: its items (initiative, rank, decision, note, budget) are copied as the "
            "starting point, except those it stopped. Budgets are copied as decided when both rounds plan the "
            "same year; otherwise each item starts from its initiative's money in this round's year."
        ),
    )


class RoundUpdate(Input):
    """Only while the round is not closed. Status moves through `/open` and `/close`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"target": {"run": 58, "renewal": 42}}]})

    name: Text200 | None = None
    period: Period | None = None
    target: Target | None = None


class RoundItemCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
                    "rank": 4,
                    "decision": "start",
                    "note": "Unblocks the camera-footage pilot in Rotterdam.",
                }
            ]
        }
    )

    initiative: InitiativeRef = Field(description="The initiative (of this service) this item places.")
    rank: Rank
    decision: Decision = Field(description=DECISION_DESCRIPTION)
    note: Note = ""
    budget_eur: BudgetEur | None = Field(
        default=None,
        description=(
            "The budget this round decides on; default: the initiative's money in the round's year now (its "
            "`budget_per_year` for the year of the round's `period`, 0 when it has none that year)."
        ),
    )


class RoundItemUpdate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"rank": 2, "note": "Moved up: the board wants results before the summer."},
                {"decision": "stop", "note": "Superseded by the national facility."},
                {"decision": "adjust", "budget_eur": 600000, "note": "Halved: phase 2 moves to next year."},
            ]
        }
    )

    rank: Rank | None = None
    decision: Decision | None = Field(default=None, description=DECISION_DESCRIPTION)
    note: Note | None = None
    budget_eur: BudgetEur | None = None


class RoundItemRead(ResourceRead):
    round: RoundRef
    initiative: InitiativeRef
    rank: int
    decision: Decision
    note: str
    budget_eur: int = Field(description="The budget decided on in this round, whole euros.")
    status: Literal["active"]


class RoundRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0001-0003-7000-8000-000000000004",
                    "href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004",
                    "version": 2,
                    "name": "Rolling portfolio 2026-T3",
                    "period": "2026-T3",
                    "target": {"run": 60, "renewal": 40},
                    "status": "open",
                    "from_round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000003"},
                    "opened_at": "2026-09-01T08:00:00Z",
                    "closed_at": None,
                    "items": [
                        {
                            "id": "019a0001-0004-7000-8000-000000000101",
                            "href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004/items/"
                            "019a0001-0004-7000-8000-000000000101",
                            "version": 1,
                            "round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004"},
                            "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
                            "rank": 1,
                            "decision": "continue",
                            "note": "On track.",
                            "budget_eur": 1800000,
                            "status": "active",
                            "created_at": "2026-08-20T09:00:00Z",
                            "updated_at": "2026-08-20T09:00:00Z",
                        }
                    ],
                    "created_at": "2026-08-20T09:00:00Z",
                    "updated_at": "2026-09-01T08:00:00Z",
                }
            ]
        }
    )

    name: str
    period: str
    target: Target
    status: RoundStatus
    from_round: RoundRef | None
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    items: list[RoundItemRead] = Field(
        default_factory=list,
        description=(
            "The round's items by rank (those whose initiative you are cleared to see). Each item has its "
            "own version and ETag; the round's `version` counts changes to the round itself. Item changes "
            "are in the change feed as `round_items.*` events whose subject is the item's href (under the "
            "round's). Expand through the gateway, e.g. `?expand=items.initiative.value_chain`."
        ),
    )


class RoundQuery(ListQuery):
    status: list[RoundStatus] = any_of()
    period: str | None = Field(default=None, max_length=20, description="Exact period, e.g. `2026-T3`.")


class RoundItemQuery(PageQuery):
    decision: list[Decision] = any_of()
    value_chain: str | None = Field(
        default=None, max_length=200, description="Only items whose initiative serves this value chain (href)."
    )


class DiffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    against: str = Field(
        min_length=1,
        max_length=200,
        description="The round to compare with (its id or href), usually the previous one.",
        examples=["019a0001-0003-7000-8000-000000000003"],
    )


class DiffEntry(BaseModel):
    initiative: InitiativeRef
    name: str = Field(description="The initiative's name, for the memo.")


class DiffItem(DiffEntry):
    rank: int
    decision: Decision
    budget_eur: int
    note: str


class DecisionChange(DiffEntry):
    before: Decision
    after: Decision
    note: str = Field(description="The note in this round: why.")
    previous_note: str = Field(description="The note in the other round.")


class RankMove(DiffEntry):
    before: int = Field(description="The rank in the other round.")
    after: int = Field(description="The rank in this round.")
    position_before: int = Field(
        ge=1, description="Its place in the other round's ranking as you see it: 1 is first (by rank, then earlier)."
    )
    position_after: int = Field(ge=1, description="Its place in this round's ranking as you see it.")
    places_up: int = Field(
        ge=0,
        description=(
            "How many places it moved up (toward the first place) in the ranking you see: places, not a difference "
            "of rank numbers (ranks 10, 20, 30: moving from 30 to 15 is one place); 0 when it did not move up."
        ),
    )
    places_down: int = Field(ge=0, description="How many places it moved down; 0 when it did not move down.")
    note: str
    previous_note: str


class BudgetMove(DiffEntry):
    before_eur: int
    after_eur: int
    delta_eur: int = Field(description="after - before, whole euros.")
    note: str
    previous_note: str


class DiffSummary(BaseModel):
    added: int
    removed: int
    decisions_changed: int
    rank_moves: int
    budget_moves: int
    live_budget_before_eur: int = Field(description="Budget of the other round's live items (not stopped or deferred).")
    live_budget_after_eur: int = Field(description="Budget of this round's live items.")
    live_budget_delta_eur: int


class DiffCoverage(BaseModel):
    """What a diff is computed over: the items of each round whose initiative you may see."""

    round: Coverage = Field(description="This round's items (basis `visible`): counted, and left out.")
    against: Coverage = Field(description="The other round's items (basis `visible`): counted, and left out.")


class RoundDiff(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "round": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000004"},
                    "against": {"href": "/portfolio/v1/rounds/019a0001-0003-7000-8000-000000000003"},
                    "summary": {
                        "added": 1,
                        "removed": 0,
                        "decisions_changed": 1,
                        "rank_moves": 1,
                        "budget_moves": 1,
                        "live_budget_before_eur": 20000000,
                        "live_budget_after_eur": 20900000,
                        "live_budget_delta_eur": 900000,
                    },
                    "added": [
                        {
                            "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000009"},
                            "name": "Slimme intake",
                            "rank": 12,
                            "decision": "start",
                            "budget_eur": 900000,
                            "note": "Board priority for 2027.",
                        }
                    ],
                    "removed": [],
                    "decisions_changed": [
                        {
                            "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000021"},
                            "name": "Legacy roosterkoppeling",
                            "before": "continue",
                            "after": "stop",
                            "note": "Replaced by the national facility.",
                            "previous_note": "",
                        }
                    ],
                    "rank_moves": [
                        {
                            "initiative": {"href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007"},
                            "name": "Cameradata in de cloud",
                            "before": 50,
                            "after": 20,
                            "position_before": 5,
                            "position_after": 2,
                            "places_up": 3,
                            "places_down": 0,
                            "note": "Moved up: results before the summer.",
                            "previous_note": "",
                        }
                    ],
                    "budget_moves": [],
                    "coverage": {
                        "round": {"basis": "visible", "counted": 14, "left_out": 0, "not_visible": 0},
                        "against": {"basis": "visible", "counted": 13, "left_out": 0, "not_visible": 0},
                    },
                }
            ]
        }
    )

    round: RoundRef = Field(description="This round (after).")
    against: RoundRef = Field(description="The round compared with (before).")
    summary: DiffSummary
    added: list[DiffItem] = Field(description="In this round, not in the other.")
    removed: list[DiffItem] = Field(description="In the other round, not in this one (as they were there).")
    decisions_changed: list[DecisionChange]
    rank_moves: list[RankMove]
    budget_moves: list[BudgetMove]
    coverage: DiffCoverage = Field(
        description=(
            "Everything in a diff names initiatives or is their money (ranks, decisions, notes, budgets), so it "
            "is computed over the items whose initiative you may see: per round, how many items that is and how "
            "many were left out (need to know). The `summary` counts the lists, and its live budgets add up "
            "the visible items."
        )
    )
