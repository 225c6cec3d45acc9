"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented programmes, initiatives, EBOs, people and figures.

The records are data, in ``demo/*.toml`` beside this module (what each file holds, and the story it
tells, is written at its top); this module says only how they are loaded, in this order:

- programmes and initiatives through their collections' ``insert``; value chains are the valuechains
  service's demo chains, referenced by href (``value_chains.toml``) and not checked while seeding,
  as are the applications some initiatives renew, replace or retire (``applications.toml``);
- EBOs registered, then taken to their status by the portfolio board's decisions, one change each;
- the rounds of the rolling portfolio, each started from the round it names (its items copied),
  its changes made and its new items added, then opened and, when the file says so, closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, Field
from sqlalchemy import select

from services.chassis.demo import Demo, DemoData, DemoDataError, Numbered, Record, Table
from services.chassis.resources import Person
from services.chassis.uow import RequestContext
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.service import initiatives
from services.portfolio.programmes.service import programmes
from services.portfolio.rounds.items import round_items
from services.portfolio.rounds.models import RoundItem
from services.portfolio.rounds.schemas import RoundItemUpdate
from services.portfolio.rounds.service import rounds

DATA = DemoData.beside(__file__)


class Programme(Numbered):
    code: str
    name: str
    ambition: str
    owner: Person
    status: str


class ValueChain(Record):
    code: str
    href: str


class Application(Record):
    """An application of the valuechains demo that initiatives name (``applications.toml``)."""

    name: str
    href: str


class AddressedApplication(Record):
    application: str
    """The application's name in ``applications.toml``."""
    effect: str


class YearBudget(Record):
    year: int
    budget_eur: int


class Initiative(Numbered):
    """An initiative: its money as ``budget_per_year``, or as ``budget_eur`` spread over its years."""

    name: str
    description: str
    programme: str | None = None
    value_chain: str
    kind: str
    funding: str
    budget_eur: int | None = None
    budget_per_year: list[YearBudget] | None = None
    start: dt.date
    end: dt.date
    status: str
    hosting: str
    data_classification: str
    uses_generic_facilities: bool
    applications: list[AddressedApplication] = Field(default=[], exclude=True)


EboStatus = Literal["registered", "under_review", "adopted", "tolerated", "phased_out"]

EBO_PATH: dict[str, tuple[str, ...]] = {
    "registered": (),
    "under_review": ("under_review",),
    "adopted": ("under_review", "adopted"),
    "tolerated": ("under_review", "tolerated"),
    "phased_out": ("under_review", "phased_out"),
}
"""The decisions that take a registered EBO to its status."""


class Ebo(Numbered):
    name: str
    unit: str
    description: str
    value_chain: str | None = None
    hosting: str
    data_classification: str
    users: int
    status: EboStatus = Field(exclude=True)
    decision_reason: str | None = Field(default=None, exclude=True)


class FirstReview(Record):
    reason: str


class Target(Record):
    run: int
    renewal: int


class Item(Record):
    """An initiative added to a round (its budget is the initiative's money in the round's year)."""

    initiative: int = Field(exclude=True)
    rank: int
    decision: str
    note: str = ""


class ItemChange(Record, RoundItemUpdate):
    """What changes about the item of ``initiative`` in a round started from another: the body of
    ``PATCH /v1/rounds/{id}/items/{item_id}``."""

    initiative: int = Field(exclude=True)


class Round(Numbered):
    name: str
    period: str
    target: Target
    from_round: int | None = Field(default=None, exclude=True)
    changes: list[ItemChange] = Field(default=[], exclude=True)
    items: list[Item] = Field(default=[], exclude=True)
    opened_at: AwareDatetime = Field(exclude=True)
    closed_at: AwareDatetime | None = Field(default=None, exclude=True)


def demo_initiatives() -> Table[Initiative]:
    return DATA.table("initiatives", Initiative)


def addressed(initiative: Initiative) -> list[dict[str, Any]]:
    """The applications an initiative names, as its body gives them (hrefs from ``applications.toml``)."""
    table = DATA.table("applications", Application)
    return [
        {"application": {"href": table.find("name", link.application, cited_by=initiative).href}, "effect": link.effect}
        for link in initiative.applications
    ]


async def _load_ebos(demo: Demo) -> None:
    first_review = DATA.params("ebos", FirstReview, "first_review")
    chains = DATA.table("value_chains", ValueChain)
    for ebo in DATA.table("ebos", Ebo):
        chain = chains.find_optional("code", ebo.value_chain, cited_by=ebo)
        obj = await demo.insert(ebos, ebo, value_chain=chain.href if chain else None)
        for step in EBO_PATH[ebo.status]:
            why = ebo.decision_reason if step == ebo.status else first_review.reason
            await ebos.change(
                demo.ctx,
                obj,
                {
                    "status": step,
                    "decision_status": step,
                    "decision_reason": why or "",
                    "decision_by": demo.ctx.principal.sub,
                    "decision_at": obj.updated_at,
                },
            )


async def _item(ctx: RequestContext, round_: Round, change: ItemChange) -> RoundItem:
    initiative = demo_initiatives().find("number", change.initiative, cited_by=change)
    found = await ctx.session.scalar(
        select(RoundItem).where(RoundItem.round_id == round_.id, RoundItem.initiative_id == initiative.id)
    )
    if found is None:
        raise DemoDataError(f"{change.origin}: initiative {change.initiative} is not in round {round_.number}")
    return found


async def _load_rounds(demo: Demo) -> None:
    table = DATA.table("rounds", Round)
    for round_ in table:
        start = table.find_optional("number", round_.from_round, cited_by=round_)
        # Created from an earlier round, it starts with that round's items (Rounds.after_insert).
        obj = await demo.insert(rounds, round_, from_round=start.id if start else None)
        for change in round_.changes:
            item = await _item(demo.ctx, round_, change)
            await round_items.change(demo.ctx, item, change.fields(demo.today))
        for added in round_.items:
            initiative = demo_initiatives().find("number", added.initiative, cited_by=added)
            # Its budget defaults to the initiative's money in the round's year.
            await demo.insert(round_items, added, round=obj.id, initiative=initiative.id)
        await rounds.change(demo.ctx, obj, {"status": "open", "opened_at": round_.opened_at})
        if round_.closed_at is not None:
            await rounds.change(demo.ctx, obj, {"status": "closed", "closed_at": round_.closed_at})


async def load(ctx: RequestContext) -> None:
    demo = Demo(ctx)
    programme_table = DATA.table("programmes", Programme)
    await demo.insert_all(programmes, programme_table)
    chains = DATA.table("value_chains", ValueChain)
    for initiative in demo_initiatives():
        programme = programme_table.find_optional("code", initiative.programme, cited_by=initiative)
        await demo.insert(
            initiatives,
            initiative,
            programme=programme.id if programme else None,
            value_chain=chains.find("code", initiative.value_chain, cited_by=initiative).href,
            applications=addressed(initiative),
        )
    await _load_ebos(demo)
    await _load_rounds(demo)
