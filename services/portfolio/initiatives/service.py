"""The rules of initiatives: dates in order, status along its lifecycle, a real value chain, and money
per year within the initiative's years (``budgets``)."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, select

from services.chassis.errors import ValidationProblem
from services.chassis.resources import ListQuery, RefField
from services.chassis.uow import RequestContext
from services.portfolio.common import PortfolioCollection, check_move
from services.portfolio.compliance import commits, ensure_complies_or_explained
from services.portfolio.initiatives.budgets import PER_YEAR, TOTAL, settle
from services.portfolio.initiatives.models import Initiative, InitiativeApplication
from services.portfolio.initiatives.schemas import (
    InitiativeCreate,
    InitiativeQuery,
    InitiativeRead,
    InitiativeUpdate,
)
from services.portfolio.refs import CHAINS_PATH, PROGRAMMES_PATH

APPLICATIONS = "applications"

INITIATIVE_MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("approved", "stopped"),
    "approved": ("active", "stopped"),
    "active": ("delivered", "stopped"),
    "delivered": (),
    "stopped": (),
}


class Initiatives(PortfolioCollection[Initiative]):
    def representation(self, obj: Initiative) -> dict[str, Any]:
        # The money is the rows per year; the budget is their sum.
        data = super().representation(obj)
        data[PER_YEAR] = [{"year": b.year, "budget_eur": b.budget_eur} for b in obj.budgets]
        data[TOTAL] = sum(b.budget_eur for b in obj.budgets)
        data[APPLICATIONS] = [
            {"application": {"href": link.application}, "effect": link.effect} for link in obj.application_links
        ]
        return data

    async def check_references(
        self, ctx: RequestContext, data: Mapping[str, Any], loc: str = "body", record: Initiative | None = None
    ) -> None:
        """The value chain and every application named, in one round of batch requests to valuechains.
        A new reference must point at a live resource (an archived one is 422); one the stored
        ``record`` already holds stays as it is."""
        refs: list[tuple[list[str | int], str]] = [
            ([loc, field], value["href"])
            for field, value in data.items()
            if field in self.references and not self.references[field].local and isinstance(value, Mapping)
        ]
        for index, entry in enumerate(data.get(APPLICATIONS) or ()):
            refs.append(([loc, APPLICATIONS, index, "application"], entry["application"]["href"]))
        kept: set[str] = set()
        if record is not None:
            kept = {link.application for link in record.application_links}
            kept |= {
                value["href"]
                for field, value in data.items()
                if field in self.references
                and isinstance(value, Mapping)
                and getattr(record, self.references[field].column_name(field)) == value["href"]
            }
        await ctx.upstreams.check(refs, ctx.principal, live=True, kept=kept)

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        named = list(getattr(query, "application", None) or ())
        clauses = super().filter_clauses(query.model_copy(update={"application": None}))
        if named:
            clauses.append(Initiative.id.in_(addressing(named)))
        return clauses

    def pointing_at(
        self, ctx: RequestContext, targets: Sequence[str], *, in_use: bool = False
    ) -> list[Select[str, str, str]]:
        """Also the initiatives that name one of ``targets`` among their applications (with
        ``in_use``: the live ones, which still mean to renew, replace or retire it)."""
        return [
            *super().pointing_at(ctx, targets, in_use=in_use),
            self.base_select(ctx.principal)
            .with_only_columns(
                (literal(self.path + "/") + Initiative.id).label("href"),
                literal(APPLICATIONS).label("field"),
                InitiativeApplication.application.label("target"),
            )
            .where(
                InitiativeApplication.initiative_id == Initiative.id,
                InitiativeApplication.application.in_(list(targets)),
                *([self.in_use_where()] if in_use else []),
            ),
        ]

    async def validate(self, ctx: RequestContext, obj: Initiative | None, values: dict[str, Any]) -> None:
        start = values.get("start", obj.start if obj is not None else None)
        end = values.get("end", obj.end if obj is not None else None)
        if start is not None and end is not None and end < start:
            field = "end" if "end" in values or "start" not in values else "start"
            raise ValidationProblem.field(["body", field], f"end ({end}) is before start ({start})", "date_order")
        if obj is not None and "status" in values:
            check_move("initiative", obj.status, values["status"], INITIATIVE_MOVES)
        if start is not None and end is not None:
            settle(obj, values, start, end)
        if APPLICATIONS in values:
            links(obj, values)

    async def prepare(
        self, ctx: RequestContext, action: str, record: Initiative | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The move is checked first, then references, then comply or explain with principles."""
        status = data.get("status")
        if record is not None and status is not None:
            check_move("initiative", record.status, status, INITIATIVE_MOVES)
        extra = await super().prepare(ctx, action, record, data)
        if commits(self, record, status):
            await ensure_complies_or_explained(ctx, self, record, about_to_be(record, data))
        return extra


def addressing(applications: list[str]) -> Select[str]:
    """The ids of the initiatives that name any of ``applications`` (hrefs)."""
    return select(InitiativeApplication.initiative_id).where(InitiativeApplication.application.in_(applications))


def links(obj: Initiative | None, values: dict[str, Any]) -> None:
    """The applications a body names (``values["applications"]``) as the rows to store
    (``values["application_links"]``, only when they change): each application at most once."""
    sent = values.pop(APPLICATIONS)
    wanted: dict[str, str] = {}
    for index, entry in enumerate(sent):
        href = entry["application"]["href"]
        if href in wanted:
            raise ValidationProblem.field(
                ["body", APPLICATIONS, index, "application"],
                f"{href} is named twice; name each application once, with one effect",
                "duplicate_application",
            )
        wanted[href] = entry["effect"]
    stored = {link.application: link.effect for link in obj.application_links} if obj is not None else {}
    if obj is None or wanted != stored:
        values["application_links"] = [
            InitiativeApplication(application=href, effect=effect) for href, effect in sorted(wanted.items())
        ]


def about_to_be(record: Initiative | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """What a body changes, with the money settled as it will be stored (the total and each year),
    so that principles judge the initiative as it is about to be."""
    changes = {k: v for k, v in data.items() if not (k in (TOTAL, PER_YEAR) and v is None)}
    start = data.get("start") or (record.start if record is not None else None)
    end = data.get("end") or (record.end if record is not None else None)
    if start is None or end is None or end < start:
        return changes  # validate answers 422 in the transaction
    trial = {k: data[k] for k in (TOTAL, PER_YEAR) if k in data}
    settle(record, trial, start, end)
    if "budgets" in trial:
        years = [{"year": b.year, "budget_eur": b.budget_eur} for b in trial["budgets"]]
        changes[PER_YEAR] = years
        changes[TOTAL] = sum(y["budget_eur"] for y in years)
    return changes


initiatives = Initiatives(
    service="portfolio",
    name="initiatives",
    kind="initiative",
    model=Initiative,
    read=InitiativeRead,
    create=InitiativeCreate,
    update=InitiativeUpdate,
    query=InitiativeQuery,
    references={
        "programme": RefField(PROGRAMMES_PATH, column="programme_id", local=True),
        "value_chain": RefField(CHAINS_PATH),
    },
    description=(
        "Small, manageable projects that deliver working functionality, inside the programmes' big "
        'ambitions ("grote ambities, kleine stappen"). Each serves one value chain (a reference checked '
        "with the valuechains service on write: unknown 422, unreachable 503 and nothing stored) and is "
        "maintenance or security (together: run, beheer) or renewal (vernieuwing). It names the applications it "
        "renews, replaces or retires (references checked with valuechains, like its chain). `status` moves "
        "proposed → approved → active → delivered, or to stopped from any open state. Confidential and "
        "secret initiatives exist only for tokens cleared for them. Written by portfolio managers."
    ),
)
