"""The reports over teams: staffing now, staffing over time and the agile maturity over time.

FTE are summed as integer tenths and shares are integer arithmetic on those sums (per mille, half
up), so SQLite and PostgreSQL give the same answers and nothing is summed as a float.

**The past is a query.** Every version of a team is a row of ``team_revisions``, valid from the
moment of the write that made it (``services/valuechains/teams/models.py`` says why this table and
not the change feed). The teams at a moment are each team's latest revision from before it, when
that revision is not archived; one query answers it for every period of a report at once (a
common table of the moments, joined to the revisions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    select,
    true,
    union_all,
)

from services.chassis.dates import add_months
from services.chassis.db import UTCDateTime, utcnow
from services.chassis.errors import ValidationProblem
from services.chassis.figures import Tally, tally
from services.chassis.resources import ARCHIVED
from services.chassis.uow import RequestContext
from services.valuechains.chains.models import Chain
from services.valuechains.refs import CHAINS_PATH
from services.valuechains.reports.history_schemas import (
    MAX_PERIODS,
    ChainMaturity,
    Distribution,
    Level,
    LevelChange,
    MaturityChange,
    MaturityFigures,
    MaturityReport,
    PeriodKind,
    StaffingHistory,
    StaffingHistoryQuery,
    StaffingPeriod,
)
from services.valuechains.reports.schemas import ChainStaffing, OnArchivedChains, StaffingReport, StaffingTotals
from services.valuechains.reports.service import chain_filter, chain_ids
from services.valuechains.teams.models import Team, TeamRevision
from services.valuechains.teams.service import teams

LEVELS = range(1, 6)


# --- figures over a set of team rows -----------------------------------------------------------------


def staffing_columns(internal: Any, hired: Any, partner: Any, team_id: Any) -> list[Any]:
    """Teams, FTE per kind and the external share (per mille, half up) over grouped team rows."""
    fte_internal = func.coalesce(func.sum(internal), 0)
    fte_hired = func.coalesce(func.sum(hired), 0)
    fte_partner = func.coalesce(func.sum(partner), 0)
    external = fte_hired + fte_partner
    total = fte_internal + external
    return [
        func.count(team_id).label("teams"),
        fte_internal.label("internal"),
        fte_hired.label("hired"),
        fte_partner.label("partner"),
        case((total > 0, (external * 1000 + total // 2) // total), else_=None).label("share_permille"),
    ]


def limit_columns(hired: Any, partner: Any, internal: Any, default_tenths: int) -> list[Any]:
    """The chain's limit (its own, or the default) and whether the grouped rows are above it."""
    external = func.coalesce(func.sum(hired), 0) + func.coalesce(func.sum(partner), 0)
    total = external + func.coalesce(func.sum(internal), 0)
    limit = func.coalesce(Chain.external_share_limit_tenths, literal(default_tenths, Integer))
    return [
        Chain.external_share_limit_tenths.label("own_limit"),
        case((external * 1000 > limit * total, 1), else_=0).label("flagged"),
    ]


def staffing_values(row: Any) -> dict[str, Any]:
    internal, hired, partner = int(row.internal), int(row.hired), int(row.partner)
    return {
        "teams": int(row.teams),
        "fte_internal": internal / 10,
        "fte_hired": hired / 10,
        "fte_partner": partner / 10,
        "fte_external": (hired + partner) / 10,
        "fte_total": (internal + hired + partner) / 10,
        "external_share": None if row.share_permille is None else int(row.share_permille) / 10,
    }


def chain_staffing(row: Any, default: Decimal) -> ChainStaffing:
    own = row.own_limit
    return ChainStaffing(
        chain={"href": f"{CHAINS_PATH}/{row.id}"},
        code=row.code,
        name=row.name,
        **staffing_values(row),
        external_share_limit=float(default) if own is None else own / 10,
        limit_source="default" if own is None else "chain",
        above_limit=bool(row.flagged),
    )


def totals_of(row: Any, items: Sequence[ChainStaffing]) -> StaffingTotals:
    return StaffingTotals(
        chains=int(row.chains), chains_above_limit=sum(1 for item in items if item.above_limit), **staffing_values(row)
    )


NO_TEAMS = SimpleNamespace(chains=0, teams=0, internal=0, hired=0, partner=0, share_permille=None, total=0, seen=0)
"""The totals of a period without any chain in the report (a ``chain`` filter that matches none)."""


def tenths_of(limit: Decimal) -> int:
    return int(limit * 10)


# --- staffing now ------------------------------------------------------------------------------------


async def staffing_report(ctx: RequestContext, default_limit: Decimal, chains: Sequence[str]) -> StaffingReport:
    """Counts of teams and of the people in them: over every active team (basis `all`)."""
    where = chain_filter(chains)
    figures = staffing_columns(Team.fte_internal_tenths, Team.fte_hired_tenths, Team.fte_partner_tenths, Team.id)
    joined = and_(Team.chain_id == Chain.id, Team.status != ARCHIVED)
    per_chain = (
        select(
            Chain.id,
            Chain.code,
            Chain.name,
            *figures,
            *limit_columns(
                Team.fte_hired_tenths, Team.fte_partner_tenths, Team.fte_internal_tenths, tenths_of(default_limit)
            ),
        )
        .select_from(Chain)
        .outerjoin(Team, joined)
        .where(*where)
        .group_by(Chain.id, Chain.code, Chain.name, Chain.external_share_limit_tenths)
        .order_by(Chain.code)
    )
    totals = (
        select(
            func.count(func.distinct(Chain.id)).label("chains"),
            *figures,
            *tally(Team.id, teams.visibility(ctx.principal)),
        )
        .select_from(Chain)
        .outerjoin(Team, joined)
        .where(*where)
    )
    kept = select(func.count(func.distinct(Chain.id)).label("chains"), *figures).where(
        Team.chain_id == Chain.id,
        Team.status != ARCHIVED,
        Chain.status == ARCHIVED,
        *([Chain.id.in_(chain_ids(chains))] if chains else []),
    )
    rows = (await ctx.session.execute(per_chain)).all()
    total = (await ctx.session.execute(totals)).one()
    left = (await ctx.session.execute(kept)).one()
    on_archived = staffing_values(left)
    items = [chain_staffing(r, default_limit) for r in rows]
    return StaffingReport(
        default_limit=float(default_limit),
        chains=items,
        totals=totals_of(total, items),
        coverage=Tally.of(total).everything(),
        on_archived_chains=OnArchivedChains(
            chains=int(left.chains),
            **{k: v for k, v in on_archived.items() if k != "external_share"},
        ),
    )


# --- periods and the teams at a moment ----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date
    moment: dt.datetime
    """The moment its figures describe: its end, or now when it has not ended."""


def period_start(kind: PeriodKind, day: dt.date) -> dt.date:
    month = day.month if kind == "month" else 3 * ((day.month - 1) // 3) + 1
    return dt.date(day.year, month, 1)


def period_months(kind: PeriodKind) -> int:
    return 1 if kind == "month" else 3


def period_label(kind: PeriodKind, start: dt.date) -> str:
    return f"{start.year}-{start.month:02d}" if kind == "month" else f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def period_of(kind: PeriodKind, day: dt.date, now: dt.datetime) -> Period:
    start = period_start(kind, day)
    following = add_months(start, period_months(kind))
    return Period(period_label(kind, start), start, following - dt.timedelta(days=1), min(midnight(following), now))


def periods_between(kind: PeriodKind, first: dt.date, last: dt.date, now: dt.datetime) -> list[Period]:
    periods: list[Period] = []
    start = period_start(kind, first)
    while start <= last:
        if len(periods) == MAX_PERIODS:
            raise ValidationProblem.field(
                ["query", "from"],
                f"from {first} to {last} is more than {MAX_PERIODS} {kind}s; ask for a shorter span or longer periods",
                "too_many_periods",
            )
        periods.append(period_of(kind, start, now))
        start = add_months(start, period_months(kind))
    return periods


def moments_table(moments: Sequence[dt.datetime]) -> CTE:
    """A common table (idx, moment) of the moments asked about. The moments are typed binds (not
    CASTs: SQLite would cast a date-time to a number), which the PostgreSQL drivers send typed."""
    rows = [
        select(literal(i, Integer).label("idx"), literal(m, UTCDateTime()).label("moment"))
        for i, m in enumerate(moments)
    ]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).cte("moments")


def teams_at(moments: CTE) -> CTE:
    """(idx, team_id, chain_id, FTE, maturity) of every team active at each moment: each team's latest
    revision from before the moment, unless that revision archived it."""
    latest = (
        select(moments.c.idx, TeamRevision.team_id, func.max(TeamRevision.version).label("version"))
        .select_from(moments)
        .join(TeamRevision, TeamRevision.valid_from < moments.c.moment)
        .group_by(moments.c.idx, TeamRevision.team_id)
        .cte("latest")
    )
    return (
        select(
            latest.c.idx,
            TeamRevision.team_id,
            TeamRevision.chain_id,
            TeamRevision.fte_internal_tenths,
            TeamRevision.fte_hired_tenths,
            TeamRevision.fte_partner_tenths,
            TeamRevision.maturity,
        )
        .select_from(latest)
        .join(TeamRevision, and_(TeamRevision.team_id == latest.c.team_id, TeamRevision.version == latest.c.version))
        .where(TeamRevision.status != ARCHIVED)
        .cte("state")
    )


def team_visibility(ctx: RequestContext) -> ColumnElement[bool] | None:
    """Need to know on teams (none today: teams carry no classification); a condition on ``Team``."""
    return teams.visibility(ctx.principal)


def distinct_tally(team_id: Any, visible: ColumnElement[bool] | None) -> list[Any]:
    """``tally`` over distinct teams: a team counts once however many moments it is in."""
    total = func.count(func.distinct(team_id))
    seen = total if visible is None else func.count(func.distinct(case((visible, team_id))))
    return [total.label("total"), seen.label("seen")]


# --- staffing over time ------------------------------------------------------------------------------


async def staffing_history(ctx: RequestContext, default_limit: Decimal, query: StaffingHistoryQuery) -> StaffingHistory:
    now = utcnow()
    today = now.date()
    last = query.to or today
    if last > today:
        raise ValidationProblem.field(
            ["query", "to"], f"to ({last}) is after today ({today}): history ends today", "future"
        )
    first = query.from_ or add_months(period_start(query.period, last), -(12 - period_months(query.period)))
    if first > last:
        raise ValidationProblem.field(["query", "from"], f"from ({first}) is after to ({last})", "date_order")
    periods = periods_between(query.period, first, last, now)
    moments = moments_table([p.moment for p in periods])
    state = teams_at(moments)
    visible = team_visibility(ctx)
    where = chain_filter(query.chain)
    figures = staffing_columns(
        state.c.fte_internal_tenths, state.c.fte_hired_tenths, state.c.fte_partner_tenths, state.c.team_id
    )
    on_chain = and_(state.c.idx == moments.c.idx, state.c.chain_id == Chain.id)

    def base(*columns: Any) -> Any:
        stmt = select(*columns).select_from(moments).join(Chain, true()).outerjoin(state, on_chain)
        if visible is not None:
            stmt = stmt.outerjoin(Team, Team.id == state.c.team_id)
        return stmt.where(*where)

    per_chain = base(
        moments.c.idx,
        Chain.id,
        Chain.code,
        Chain.name,
        *figures,
        *limit_columns(
            state.c.fte_hired_tenths, state.c.fte_partner_tenths, state.c.fte_internal_tenths, tenths_of(default_limit)
        ),
    ).group_by(moments.c.idx, Chain.id, Chain.code, Chain.name, Chain.external_share_limit_tenths)
    totals = base(
        moments.c.idx, func.count(func.distinct(Chain.id)).label("chains"), *figures, *tally(state.c.team_id, visible)
    ).group_by(moments.c.idx)
    overall = base(*distinct_tally(state.c.team_id, visible))

    rows: dict[int, list[ChainStaffing]] = {i: [] for i in range(len(periods))}
    for r in (await ctx.session.execute(per_chain.order_by(moments.c.idx, Chain.code))).all():
        rows[int(r.idx)].append(chain_staffing(r, default_limit))
    sums = {int(r.idx): r for r in (await ctx.session.execute(totals)).all()}
    everyone = (await ctx.session.execute(overall)).one()
    return StaffingHistory(
        period=query.period,
        from_=periods[0].start,
        to=periods[-1].end,
        default_limit=float(default_limit),
        periods=[
            StaffingPeriod(
                period=p.label,
                start=p.start,
                end=p.end,
                as_of=p.moment,
                chains=rows[i],
                totals=totals_of(sums.get(i, NO_TEAMS), rows[i]),
                coverage=Tally.of(sums.get(i, NO_TEAMS)).everything(),
            )
            for i, p in enumerate(periods)
        ],
        coverage=Tally.of(everyone).everything(),
    )


# --- agile maturity over time ------------------------------------------------------------------------


def level_columns(maturity: Any, team_id: Any) -> list[Any]:
    return [
        func.count(team_id).label("teams"),
        func.coalesce(func.sum(maturity), 0).label("maturity_sum"),
        *(
            func.coalesce(func.sum(case((maturity == level, 1), else_=0)), 0).label(f"level_{level}")
            for level in LEVELS
        ),
    ]


def distribution(row: Any | None) -> Distribution:
    if row is None:
        return Distribution(teams=0, levels=[Level(maturity=k, teams=0) for k in LEVELS], average=None)
    count, total = int(row.teams), int(row.maturity_sum)
    return Distribution(
        teams=count,
        levels=[Level(maturity=k, teams=int(getattr(row, f"level_{k}"))) for k in LEVELS],
        # One decimal, half up, in integers: the same on every database and platform.
        average=None if count == 0 else ((total * 20 + count) // (2 * count)) / 10,
    )


def compare(now: Distribution, then: Distribution, up: int, down: int) -> MaturityFigures:
    return MaturityFigures(
        current=now,
        previous=then,
        change=MaturityChange(
            teams=now.teams - then.teams,
            levels=[
                LevelChange(maturity=a.maturity, teams=a.teams - b.teams)
                for a, b in zip(now.levels, then.levels, strict=True)
            ],
            average=None if now.average is None or then.average is None else round(now.average - then.average, 1),
            teams_up=up,
            teams_down=down,
        ),
    )


PREVIOUS, CURRENT = 0, 1


async def maturity_report(
    ctx: RequestContext, kind: PeriodKind, as_of: dt.date | None, chains: Sequence[str]
) -> MaturityReport:
    now = utcnow()
    day = as_of or now.date()
    current = min(midnight(day + dt.timedelta(days=1)), now)
    start = period_start(kind, day)
    previous = period_of(kind, add_months(start, -period_months(kind)), now)
    moments = moments_table([previous.moment, current])
    state = teams_at(moments)
    visible = team_visibility(ctx)
    where = chain_filter(chains)
    on_chain = and_(state.c.idx == moments.c.idx, state.c.chain_id == Chain.id)

    def base(*columns: Any) -> Any:
        stmt = select(*columns).select_from(moments).join(Chain, true()).outerjoin(state, on_chain)
        if visible is not None:
            stmt = stmt.outerjoin(Team, Team.id == state.c.team_id)
        return stmt.where(*where)

    levels = level_columns(state.c.maturity, state.c.team_id)
    per_chain = base(moments.c.idx, Chain.id, Chain.code, Chain.name, *levels).group_by(
        moments.c.idx, Chain.id, Chain.code, Chain.name
    )
    overall = base(moments.c.idx, *levels).group_by(moments.c.idx)
    then, later = state.alias("then"), state.alias("later")
    rose, fell = (
        case((later.c.maturity > then.c.maturity, 1), else_=0),
        case((later.c.maturity < then.c.maturity, 1), else_=0),
    )
    moved = (
        select(later.c.chain_id, func.sum(rose).label("up"), func.sum(fell).label("down"))
        .select_from(later)
        .join(then, and_(then.c.team_id == later.c.team_id, then.c.idx == PREVIOUS))
        .join(Chain, Chain.id == later.c.chain_id)
        .where(later.c.idx == CURRENT, *where)
        .group_by(later.c.chain_id)
    )
    counted = base(*distinct_tally(state.c.team_id, visible))

    by_chain: dict[str, dict[int, Any]] = {}
    labels: dict[str, Any] = {}
    for r in (await ctx.session.execute(per_chain.order_by(Chain.code, moments.c.idx))).all():
        by_chain.setdefault(r.id, {})[int(r.idx)] = r
        labels[r.id] = r
    totals = {int(r.idx): r for r in (await ctx.session.execute(overall)).all()}
    moves = {r.chain_id: (int(r.up or 0), int(r.down or 0)) for r in (await ctx.session.execute(moved)).all()}
    everyone = (await ctx.session.execute(counted)).one()
    return MaturityReport(
        period=kind,
        as_of=current,
        previous_period=previous.label,
        previous_as_of=previous.moment,
        chains=[
            ChainMaturity(
                chain={"href": f"{CHAINS_PATH}/{chain_id}"},
                code=labels[chain_id].code,
                name=labels[chain_id].name,
                **compare(
                    distribution(rows.get(CURRENT)), distribution(rows.get(PREVIOUS)), *moves.get(chain_id, (0, 0))
                ).model_dump(),
            )
            for chain_id, rows in by_chain.items()
        ],
        overall=compare(
            distribution(totals.get(CURRENT)),
            distribution(totals.get(PREVIOUS)),
            sum(up for up, _ in moves.values()),
            sum(down for _, down in moves.values()),
        ),
        coverage=Tally.of(everyone).everything(),
    )
