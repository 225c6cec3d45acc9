import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from services.chassis.references import reference_filter
from services.chassis.resources import Input, ListQuery, ResourceRead, any_of
from services.portfolio.common import BudgetEur, Classification, Funding, Hosting, Kind, LongText, Text200
from services.portfolio.initiatives.budgets import SPREADING
from services.portfolio.refs import CHAINS_PATH, PROGRAMMES_PATH, ApplicationRef, ProgrammeRef, ValueChainRef

InitiativeStatus = Literal["proposed", "approved", "active", "delivered", "stopped"]
OpenStatus = Literal["proposed", "approved", "active"]

EXAMPLE: dict[str, Any] = {
    "name": "Digitale aangifte met foto's en video",
    "description": "Citizens add photos and video to an online report; investigators see them in the case.",
    "programme": {"href": "/portfolio/v1/programmes/019a0001-0000-7000-8000-000000000001"},
    "value_chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000003"},
    "kind": "renewal",
    "funding": "structural",
    "budget_per_year": [{"year": 2026, "budget_eur": 400000}, {"year": 2027, "budget_eur": 850000}],
    "start": "2026-09-01",
    "end": "2027-06-30",
    "hosting": "own_platform",
    "data_classification": "confidential",
    "uses_generic_facilities": True,
    "applications": [
        {
            "application": {"href": "/valuechains/v1/applications/019a0000-0003-7000-8000-000000000017"},
            "effect": "replaces",
        }
    ],
}

KIND_DESCRIPTION = (
    "maintenance and security are run (beheer: keeping IT up to date and secure); renewal is "
    "vernieuwing. The strategy asks to shift the ratio run:renewal (about 66:34 in 2022) toward renewal."
)
FUNDING_DESCRIPTION = (
    "structural (recurring budget) or incidental (one-off money). Renewal funded only incidentally "
    "has no structural money for its later maintenance; the ratio report flags it."
)
HOSTING_DESCRIPTION = "Where it runs: own_platform (the police's own platforms), public_cloud or hybrid."
CLASSIFICATION_DESCRIPTION = (
    "The highest classification of the data it handles. confidential and secret initiatives are visible "
    "only to tokens cleared for that level (need to know)."
)
GENERIC_DESCRIPTION = 'Whether it builds on the generic facilities ("generieke voorzieningen, tenzij").'
PER_YEAR_DESCRIPTION = (
    "The money per calendar year, in whole euros: each year within the initiative's years (from `start` "
    "to `end`) and at most once (422 naming the entry otherwise); a year left out has no money. The "
    "reports of a year, and a round's items (which default to the money in the round's year), read it."
)
TOTAL_DESCRIPTION = (
    "The whole budget, whole euros: the sum of `budget_per_year`. Send this or `budget_per_year` (both only "
    "when they agree: 422 otherwise). " + SPREADING
)
UPDATE_BUDGET_DESCRIPTION = (
    "Send `budget_per_year` to set the money per year, or only `budget_eur` to spread a new total over the "
    "years (sending the total it has, with its dates unchanged, changes nothing); both only when they agree. "
    "New `start` or `end` without either keep the money per year: a year with money that would fall outside "
    "is 422 naming the date (send `budget_per_year` with it), a year without money falls away."
)

Effect = Literal["renews", "replaces", "retires"]
APPLICATIONS_DESCRIPTION = (
    "The applications (of the valuechains service, by href) this initiative renews (brings up to date), replaces "
    "(with something new) or retires (switches off), at most 100, each once (422 naming the entry otherwise); "
    "each reference is checked with valuechains on write (unknown, or classified above your clearance: 422; "
    "valuechains unreachable: 503; nothing stored). The valuechains foundation report shows, for each "
    "application past support or with critical findings, the initiatives that address it, read from here "
    "(`GET /v1/initiatives?application=<href>`)."
)


class AddressedApplication(Input):
    """An application an initiative addresses, and how."""

    application: ApplicationRef
    effect: Effect = Field(description="`renews`, `replaces` or `retires` the application.")


class YearBudget(Input):
    """An initiative's money in one calendar year."""

    year: Annotated[int, Field(ge=1, le=9999, description="A calendar year.", examples=[2026])]
    budget_eur: BudgetEur


class InitiativeCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: Text200
    description: LongText = Field(
        default="", description="What it delivers; also used to find initiatives built twice (ontdubbelen)."
    )
    programme: ProgrammeRef | None = Field(default=None, description="The programme it belongs to, if any.")
    value_chain: ValueChainRef = Field(description="The value chain it serves; checked with its owner on write.")
    kind: Kind = Field(description=KIND_DESCRIPTION)
    funding: Funding = Field(description=FUNDING_DESCRIPTION)
    budget_eur: BudgetEur | None = Field(default=None, description=TOTAL_DESCRIPTION)
    budget_per_year: list[YearBudget] | None = Field(default=None, max_length=100, description=PER_YEAR_DESCRIPTION)
    start: dt.date
    end: dt.date = Field(description="Not before `start` (422 otherwise).")
    status: OpenStatus = Field(
        default="proposed", description="Usually proposed; an initiative already under way may be recorded as such."
    )
    hosting: Hosting = Field(description=HOSTING_DESCRIPTION)
    data_classification: Classification = Field(description=CLASSIFICATION_DESCRIPTION)
    uses_generic_facilities: bool = Field(default=True, description=GENERIC_DESCRIPTION)
    applications: list[AddressedApplication] = Field(
        default_factory=list, max_length=100, description=APPLICATIONS_DESCRIPTION
    )


class InitiativeUpdate(Input):
    """Send only what changes. `status` moves proposed → approved → active → delivered, or to stopped
    from any open state; any other move is 409 naming the allowed ones."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "approved"},
                {"budget_eur": 1400000, "end": "2027-09-30"},
                {"budget_per_year": [{"year": 2026, "budget_eur": 300000}, {"year": 2027, "budget_eur": 1100000}]},
            ]
        }
    )

    name: Text200 | None = None
    description: LongText | None = None
    programme: ProgrammeRef | None = Field(default=None, description="null takes it out of its programme.")
    value_chain: ValueChainRef | None = None
    kind: Kind | None = None
    funding: Funding | None = None
    budget_eur: BudgetEur | None = Field(default=None, description=UPDATE_BUDGET_DESCRIPTION)
    budget_per_year: list[YearBudget] | None = Field(
        default=None, max_length=100, description=f"{PER_YEAR_DESCRIPTION} {UPDATE_BUDGET_DESCRIPTION}"
    )
    start: dt.date | None = None
    end: dt.date | None = None
    status: InitiativeStatus | None = None
    hosting: Hosting | None = None
    data_classification: Classification | None = None
    uses_generic_facilities: bool | None = None
    application: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Only initiatives that renew, replace or retire one of these applications (hrefs, repeatable: "
            "`?application=<href>&application=<href>`, up to 100)."
        ),
    )
    applications: list[AddressedApplication] | None = Field(
        default=None, max_length=100, description=f"Replaces the whole list ([] for none). {APPLICATIONS_DESCRIPTION}"
    )


class InitiativeRead(ResourceRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a0001-0001-7000-8000-000000000007",
                    "href": "/portfolio/v1/initiatives/019a0001-0001-7000-8000-000000000007",
                    "version": 3,
                    **EXAMPLE,
                    "budget_eur": 1250000,
                    "status": "active",
                    "created_at": "2026-03-02T09:00:00Z",
                    "updated_at": "2026-05-11T14:20:00Z",
                }
            ]
        }
    )

    name: str
    description: str
    programme: ProgrammeRef | None
    value_chain: ValueChainRef
    kind: Kind
    funding: Funding
    budget_eur: int = Field(description="The whole budget in whole euros: the sum of `budget_per_year`.")
    budget_per_year: list[YearBudget] = Field(description="The money per calendar year, by year.")
    start: dt.date
    end: dt.date
    status: Literal["proposed", "approved", "active", "delivered", "stopped", "archived"]
    hosting: Hosting
    data_classification: Classification
    uses_generic_facilities: bool
    applications: list[AddressedApplication] = Field(
        description="The applications it renews, replaces or retires, by href."
    )


class InitiativeQuery(ListQuery):
    programme: str | None = reference_filter(PROGRAMMES_PATH, "href (or id) of a programme.")
    value_chain: str | None = reference_filter(
        CHAINS_PATH, "href of a value chain, e.g. `/valuechains/v1/chains/<id>`."
    )
    kind: list[Kind] = any_of()
    funding: list[Funding] = any_of()
    status: list[Literal["proposed", "approved", "active", "delivered", "stopped", "archived"]] = any_of()
    hosting: list[Hosting] = any_of()
    data_classification: list[Classification] = any_of()
    uses_generic_facilities: bool | None = None
    application: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Only initiatives that renew, replace or retire one of these applications (hrefs, repeatable: "
            "`?application=<href>&application=<href>`, up to 100)."
        ),
    )
