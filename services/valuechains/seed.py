"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented chains, people, teams, applications and figures.

The records are data, in ``demo/*.toml`` beside this module (what each file holds, and the story it
tells, is written at its top); this module says only how they are loaded, in this order:

- chains (``chains.toml``) and applications (``applications.toml``, dated relative to the day the
  demo is loaded) through their collections' ``insert``;
- about 150 teams drawn from the parameters in ``teams.toml``, the same every time, each loaded as it
  was 18 months ago and changed step by step to today; the one write beside the operations: each
  step's revision (``team_revisions``) is dated when the story says it happened, so the staffing
  history and the maturity reports show change over time (the feed shows when the demo was loaded);
- allocations (``allocations.toml``) set by each chain's own (demo) owner, revision by revision,
  through ``allocations.set``, so the revision history and the change feed show who decided what.

Ids are fixed so the other services' demo data can point at these resources by href.
"""

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import update

from services.chassis.auth import Principal
from services.chassis.concurrency import etag
from services.chassis.dates import add_months
from services.chassis.demo import Day, Demo, DemoData, DemoDataError, Numbered, Record
from services.chassis.uow import RequestContext
from services.valuechains.allocations.schemas import AllocationPut
from services.valuechains.allocations.service import allocations
from services.valuechains.applications.service import applications
from services.valuechains.chains.service import chains
from services.valuechains.teams.models import TeamRevision
from services.valuechains.teams.service import teams

DATA = DemoData.beside(__file__)


class Owner(Record):
    subject: str
    name: str
    unit: str


class Chain(Numbered):
    code: str
    name: str
    domain: str
    mission: str
    owner: Owner
    external_share_limit: float | None = None


class Draw(Record):
    """How the teams are drawn (``[draw]`` of ``teams.toml``)."""

    random_seed: int
    fte_min: float
    fte_max: float
    external_share_spread: float
    external_share_max: float
    call_signs: list[str] = Field(min_length=1)
    maturity_weights: tuple[int, int, int, int, int]


class History(Record):
    """How the teams' past is drawn (``[history]`` of ``teams.toml``)."""

    random_seed: int
    months_ago: list[int] = Field(min_length=1)


class TeamMix(Record):
    """One chain's teams: how many, the external share they are drawn around, what they work on, and
    their past: the external share 18 months ago, the partners' part of the external FTE now and
    then, and the chance per step that a team grew one maturity level."""

    chain: str
    teams: int = Field(ge=1)
    external_share: float
    external_share_then: float
    partner_share: float = Field(ge=0, le=1)
    partner_share_then: float = Field(ge=0, le=1)
    maturity_growth: float = Field(ge=0, le=1)
    themes: list[str] = Field(min_length=1)


class Revision(Record, AllocationPut):
    """One revision of an allocation: the body its owner sends (``PUT .../allocations/{period}``)."""


class Allocation(Numbered):
    chain: str
    period: str
    revisions: list[Revision] = Field(min_length=1)


class Findings(Record):
    critical: int
    high: int
    medium: int
    low: int


class Application(Numbered):
    chain: str
    name: str
    category: str
    disposition: str
    supported_until: Day
    last_release: Day
    findings: Findings
    hosting: str
    data_classification: str


CHAINS = DATA.table("chains", Chain)
DEMO_CHAINS: list[dict[str, Any]] = [chain.model_dump() for chain in CHAINS]
"""The demo chains' fields (id, code, name, domain, mission, owner), in load order."""

OPS_CRITICAL_APPLICATION = DATA.id("applications", 2)
"""The one OPS application carrying all of OPS's open critical findings."""


def half_steps(value: Decimal) -> Decimal:
    return (value * 2).quantize(Decimal(1)) / 2


def staffing(size: Decimal, external_share: float, partner_share: float) -> dict[str, Decimal]:
    """A team of ``size`` FTE split into internal, hired and partner FTE, in half FTE steps."""
    external = min(half_steps(size * Decimal(str(round(external_share, 2)))), size)
    partner = half_steps(external * Decimal(str(round(partner_share, 2))))
    return {"fte_internal": size - external, "fte_hired": external - partner, "fte_partner": partner}


def demo_teams() -> list[dict[str, Any]]:
    """About 150 teams with a realistic internal/external mix, as they are today, each with its past
    (``history``: (months ago, the team's fields then), oldest first); the same every time."""
    draw = DATA.params("teams", Draw, "draw")
    past = DATA.params("teams", History, "history")
    rng, then_rng = random.Random(draw.random_seed), random.Random(past.random_seed)
    horizon = max(past.months_ago)
    rows: list[dict[str, Any]] = []
    for mix in DATA.table("teams", TeamMix, "chains"):
        chain = CHAINS.find("code", mix.chain, cited_by=mix)
        if mix.teams > len(mix.themes) * len(draw.call_signs):
            raise DemoDataError(f"{mix.origin}: {mix.teams} teams need more themes or call signs")
        for i in range(mix.teams):
            theme = mix.themes[i % len(mix.themes)]
            size = Decimal(rng.randint(round(draw.fte_min * 2), round(draw.fte_max * 2))) / 2  # half steps
            share = min(max(rng.gauss(mix.external_share, draw.external_share_spread), 0.0), draw.external_share_max)
            maturity = rng.choices(range(1, 6), weights=draw.maturity_weights)[0]
            history, level = [], maturity
            for months in sorted(past.months_ago):  # from the latest step back to the oldest
                if then_rng.random() < mix.maturity_growth:
                    level = max(level - 1, 1)
                back = months / horizon
                share_then = min(max(share + (mix.external_share_then - mix.external_share) * back, 0.0), 1.0)
                partner_then = mix.partner_share + (mix.partner_share_then - mix.partner_share) * back
                history.append((months, {**staffing(size, share_then, partner_then), "maturity": level}))
            rows.append(
                {
                    "id": DATA.id("teams", len(rows) + 1),
                    "chain_id": chain.id,
                    "name": f"{theme} {draw.call_signs[i // len(mix.themes)]}",
                    **staffing(size, share, mix.partner_share),
                    "maturity": maturity,
                    "history": history[::-1],
                }
            )
    return rows


async def _load_team(demo: Demo, team: dict[str, Any]) -> None:
    """The team as it was at the oldest step, changed step by step to today; each revision dated."""
    history: list[tuple[int, dict[str, Any]]] = team["history"]
    today = {k: v for k, v in team.items() if k != "history"}
    first_months, first = history[0]
    obj = await demo.insert(teams, {**today, **first})
    dated = {obj.version: first_months}
    for months, fields in [*history[1:], (0, today)]:
        obj = await teams.change(demo.ctx, obj, teams.to_columns(fields))
        dated.setdefault(obj.version, months)
    await demo.ctx.session.flush()  # the last revision too, before it is dated
    for version, months in dated.items():
        if months:
            day = add_months(demo.today, -months)
            await demo.ctx.session.execute(
                update(TeamRevision)
                .where(TeamRevision.team_id == obj.id, TeamRevision.version == version)
                .values(valid_from=dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC))
            )


async def _set_by_owner(demo: Demo, allocation: Allocation) -> None:
    """Each revision as the chain's owner sets it: only the owner may, and the feed says who did."""
    chain = CHAINS.find("code", allocation.chain, cited_by=allocation)
    owner = Principal(sub=chain.owner.subject, roles=frozenset({"chain_owner"}), name=chain.owner.name)
    as_owner = dataclasses.replace(demo.ctx, principal=owner)
    version: int | None = None
    for revision in allocation.revisions:
        stored, _ = await allocations.set(
            as_owner,
            chain.id,
            allocation.period,
            revision,
            if_match=etag(version) if version is not None else None,
            if_none_match=None,
            id_=allocation.id,
        )
        version = stored.version


async def load(ctx: RequestContext) -> None:
    demo = Demo(ctx)
    await demo.insert_all(chains, CHAINS)
    for team in demo_teams():
        await _load_team(demo, team)
    for allocation in DATA.table("allocations", Allocation):
        await _set_by_owner(demo, allocation)
    for application in DATA.table("applications", Application):
        chain = CHAINS.find("code", application.chain, cited_by=application)
        await demo.insert(applications, application, chain=chain.id)
