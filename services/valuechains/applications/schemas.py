import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

from services.chassis.dates import IsoDay
from services.chassis.references import reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.valuechains.applications.models import MAX_FINDINGS
from services.valuechains.refs import CHAINS_PATH, ChainRef

Category = Literal["registration", "intelligence", "business_operations", "infrastructure"]
Disposition = Literal["tolerate", "invest", "migrate", "eliminate"]
Hosting = Literal["own_platform", "public_cloud", "hybrid"]
Classification = Literal["public", "internal", "confidential", "secret"]

EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)
Day = Annotated[IsoDay, Field(ge=EARLIEST_DAY, le=LATEST_DAY)]
FindingCount = Annotated[StrictInt, Field(ge=0, le=MAX_FINDINGS)]

CATEGORY_DESCRIPTION = (
    "What kind of system it is: `registration` (registratiesystemen: cases, incidents, evidence), "
    "`intelligence` (informatie- en intelligencesystemen), `business_operations` (bedrijfsvoering: HR, "
    "finance, logistics) or `infrastructure` (connections, platforms, workplace)."
)
DISPOSITION_DESCRIPTION = (
    "The owner's decision about its future (TIME): `tolerate` (keep running as is), `invest` (develop "
    "further), `migrate` (move to another platform or product) or `eliminate` (phase out)."
)
SUPPORTED_UNTIL_DESCRIPTION = (
    "The last day the vendor or platform supports it (security patches included). Past this day it is "
    "technical debt: the foundation report counts it as past end of support."
)
LAST_RELEASE_DESCRIPTION = "The day of its last release into production; long ago means it lags behind."
HOSTING_DESCRIPTION = "Where it runs: `own_platform` (the police's own platforms), `public_cloud` or `hybrid`."
CLASSIFICATION_DESCRIPTION = (
    "The highest classification of the data it handles. `confidential` and `secret` applications exist "
    "only for tokens cleared for that level (need to know): 404 for everyone else, absent from lists. "
    "You cannot classify an application above your own clearance (403): you could not see it afterwards."
)
FINDINGS_DESCRIPTION = (
    "Open security findings (pentests, scans, audits) by severity: what still has to be fixed to keep "
    "security in order (beveiliging op orde). Whole numbers, 0 to 100000."
)

EXAMPLE: dict[str, Any] = {
    "name": "Zaakregistratie Opsporing",
    "category": "registration",
    "disposition": "invest",
    "supported_until": "2028-12-31",
    "last_release": "2026-10-14",
    "findings": {"critical": 0, "high": 2, "medium": 5, "low": 11},
    "hosting": "own_platform",
    "data_classification": "confidential",
}


class Findings(Input):
    """Open security findings by severity; a severity left out is 0."""

    critical: FindingCount = Field(default=0, description="Critical: exploitable now, fix first.")
    high: FindingCount = Field(default=0)
    medium: FindingCount = Field(default=0)
    low: FindingCount = Field(default=0)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


OptionalCount = Annotated[FindingCount | SkipJsonSchema[None], Field(json_schema_extra=_no_default)]


class FindingsChange(Input):
    """The severities to change; a severity left out keeps its count. Counts may not be null."""

    critical: OptionalCount = None
    high: OptionalCount = None
    medium: OptionalCount = None
    low: OptionalCount = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("a count of open findings may not be null; send 0 when none are open")
        return value


class FindingsRead(BaseModel):
    critical: int
    high: int
    medium: int
    low: int


ApplicationName = Annotated[str, Field(min_length=1, max_length=200, examples=["Zaakregistratie Opsporing"])]


class ApplicationCreate(Input):
    """An application; the chain is the one in the path."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: ApplicationName
    category: Category = Field(description=CATEGORY_DESCRIPTION)
    disposition: Disposition = Field(description=DISPOSITION_DESCRIPTION)
    supported_until: Day = Field(description=SUPPORTED_UNTIL_DESCRIPTION)
    last_release: Day = Field(description=LAST_RELEASE_DESCRIPTION)
    findings: Findings = Field(default_factory=Findings, description=FINDINGS_DESCRIPTION)
    hosting: Hosting = Field(description=HOSTING_DESCRIPTION)
    data_classification: Classification = Field(description=CLASSIFICATION_DESCRIPTION)


class ApplicationUpdate(Input):
    """Send only what changes. `findings` changes only the severities you send: closing the last critical
    finding is `{"findings": {"critical": 0}}`. A new `chain` moves the application: you must own both chains
    (or be admin)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"findings": {"critical": 0, "high": 1}},
                {"disposition": "eliminate", "supported_until": "2027-06-30"},
                {"chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"}},
            ]
        }
    )

    name: ApplicationName | None = None
    chain: ChainRef | None = Field(default=None, description="Move the application to this chain (audited).")
    category: Category | None = None
    disposition: Disposition | None = None
    supported_until: Day | None = None
    last_release: Day | None = None
    findings: FindingsChange | None = Field(default=None, description=FINDINGS_DESCRIPTION)
    hosting: Hosting | None = None
    data_classification: Classification | None = None


class ApplicationRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0000-0003-7000-8000-000000000001",
                    "href": "/valuechains/v1/applications/019a0000-0003-7000-8000-000000000001",
                    "version": 1,
                    "status": "active",
                    "created_at": "2026-11-28T10:15:00Z",
                    "updated_at": "2026-11-28T10:15:00Z",
                    "chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"},
                    **EXAMPLE,
                }
            ]
        }
    )

    name: str
    chain: ChainRef
    category: Category = Field(description=CATEGORY_DESCRIPTION)
    disposition: Disposition = Field(description=DISPOSITION_DESCRIPTION)
    supported_until: dt.date = Field(description=SUPPORTED_UNTIL_DESCRIPTION)
    last_release: dt.date = Field(description=LAST_RELEASE_DESCRIPTION)
    findings: FindingsRead = Field(description=FINDINGS_DESCRIPTION)
    hosting: Hosting = Field(description=HOSTING_DESCRIPTION)
    data_classification: Classification = Field(description=CLASSIFICATION_DESCRIPTION)
    status: Literal["active", "archived"]


class ChainApplicationQuery(ListQuery):
    category: list[Category] = any_of("Only applications of this category.")
    disposition: list[Disposition] = any_of("Only this disposition, e.g. `eliminate`.")
    hosting: list[Hosting] = any_of("Only applications hosted this way.")
    data_classification: list[Classification] = any_of(
        "Only this classification (within what your clearance shows you)."
    )


class ApplicationQuery(ChainApplicationQuery):
    chain: str | None = reference_filter(CHAINS_PATH, "Only applications of this chain (its href or its id).")
