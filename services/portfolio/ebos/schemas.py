import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.references import reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.portfolio.common import Classification, Hosting, LongText, Text200
from services.portfolio.refs import CHAINS_PATH, EboRef, ValueChainRef

EboStatus = Literal["registered", "under_review", "adopted", "tolerated", "phased_out"]
Unit = Annotated[
    str,
    Field(
        min_length=1,
        max_length=120,
        description="The unit (eenheid or dienst) that built and runs it; a contributor's token must carry it.",
        examples=["Eenheid Rotterdam"],
    ),
]
Users = Annotated[int, Field(ge=0, le=1_000_000, description="How many colleagues use it.", examples=[140])]

EXAMPLE: dict[str, Any] = {
    "name": "Verhoorplanner",
    "unit": "Eenheid Rotterdam",
    "description": "Plans interview rooms and interpreters for suspect interviews; built in Power Apps.",
    "value_chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
    "hosting": "public_cloud",
    "data_classification": "internal",
    "users": 140,
}


class EboCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: Text200
    unit: Unit
    description: LongText = Field(
        default="", description="What it does and for whom; used to find EBOs built twice (ontdubbelen)."
    )
    value_chain: ValueChainRef | None = Field(default=None, description="The value chain it serves, if known.")
    hosting: Hosting
    data_classification: Classification = Field(
        description="confidential and secret EBOs are visible only to tokens cleared for that level, or of its unit."
    )
    users: Users = 0


class EboUpdate(Input):
    """Keep the record current. The status changes only through a decision (`POST .../decision`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"users": 180}, {"hosting": "own_platform"}]})

    name: Text200 | None = None
    unit: Unit | None = None
    description: LongText | None = None
    value_chain: ValueChainRef | None = Field(default=None, description="null clears it.")
    hosting: Hosting | None = None
    data_classification: Classification | None = None
    users: Users | None = None


class EboDecisionCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "under_review", "reason": "Looks like the Verhoorplanner of Eenheid Amsterdam."},
                {
                    "status": "tolerated",
                    "reason": "Tolerated until the national planning facility is live (2027-Q2); no new users.",
                },
                {
                    "status": "phased_out",
                    "reason": "The same planner as Eenheid Amsterdam's; its users move there.",
                    "merge_into": {"href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000002"},
                },
            ]
        }
    )

    status: Literal["under_review", "adopted", "tolerated", "phased_out"] = Field(
        description=(
            "The new status. registered → under_review → adopted | tolerated | phased_out; a tolerated "
            "EBO can be reviewed again or phased out, an adopted one phased out. Other moves are 409."
        )
    )
    reason: Annotated[str, Field(min_length=3, max_length=4000)] = Field(
        description="Why: recorded with the decision and in the change feed."
    )
    merge_into: EboRef | None = Field(
        default=None,
        description=(
            "Resolve a duplicate by merging (ontdubbelen): this EBO is phased out (`status` must be "
            "`phased_out`) and points at the survivor (`merged_into`), which must be a current EBO you may "
            "see that was not merged itself. Merged EBOs leave `GET /v1/duplicates`."
        ),
    )


class EboDecision(BaseModel):
    status: EboStatus = Field(description="The status this decision set.")
    reason: str
    by: str = Field(description="The `sub` of who decided.")
    at: dt.datetime


class EboRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0001-0002-7000-8000-000000000001",
                    "href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000001",
                    "version": 2,
                    **EXAMPLE,
                    "status": "under_review",
                    "decision": {
                        "status": "under_review",
                        "reason": "Looks like the Verhoorplanner of Eenheid Amsterdam.",
                        "by": "u200114",
                        "at": "2026-10-02T08:30:00Z",
                    },
                    "created_at": "2026-09-14T10:00:00Z",
                    "updated_at": "2026-10-02T08:30:00Z",
                }
            ]
        }
    )

    name: str
    unit: str
    description: str
    value_chain: ValueChainRef | None
    hosting: Hosting
    data_classification: Classification
    users: int
    status: Literal["registered", "under_review", "adopted", "tolerated", "phased_out", "archived"]
    decision: EboDecision | None = Field(description="The last decision and its reason; null before the first.")
    merged_into: EboRef | None = Field(
        default=None, description="The EBO this one was merged into (a `phased_out` decision with `merge_into`)."
    )


class LikelyDuplicate(BaseModel):
    href: str = Field(description="The EBO (this service) or application (valuechains) it looks like.")
    kind: Literal["ebo", "application"]
    name: str = Field(description="Its name, as its owner shows it now (fetched, never copied).")
    score: float = Field(description="0..100, as in `GET /v1/duplicates`.")


class DuplicateCheck(BaseModel):
    ebos: Literal["compared"] = Field(description="The current EBOs you may see were compared.")
    applications: Literal["compared", "unavailable"] = Field(
        description="The applications you may see (valuechains); `unavailable` when valuechains could not be asked."
    )


class EboRegistered(EboRead):
    """A new EBO, with what it looks like already (best first, at most 10)."""

    likely_duplicates: list[LikelyDuplicate] = Field(
        description="Current EBOs and applications, among those you may see, that look like this one."
    )
    duplicate_check: DuplicateCheck


class EboQuery(ListQuery):
    unit: str | None = Field(default=None, max_length=120, description="EBOs of this unit.")
    status: list[Literal["registered", "under_review", "adopted", "tolerated", "phased_out", "archived"]] = any_of()
    value_chain: str | None = reference_filter(CHAINS_PATH, "href of a value chain.")
    hosting: list[Hosting] = any_of()
    data_classification: list[Classification] = any_of()
