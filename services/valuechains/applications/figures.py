"""Foundation figures of applications ("een goed fundament"), as SQL expressions shared by every chain's
representation and the foundation report, so both count the same way.

Dates are compared in the database against bound date parameters (never date arithmetic in SQL), which
works the same on SQLite and PostgreSQL. ``supported_until`` is the last supported day: an application is
past end of support from the day after it.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, bindparam, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.dates import add_months
from services.chassis.db import utcnow
from services.chassis.figures import tally
from services.chassis.resources import ARCHIVED
from services.chassis.statements import TODAY
from services.valuechains.applications.models import Application
from services.valuechains.chains.models import Chain

IDS = "ids"
SUPPORT_HORIZON_MONTHS = 6
RELEASE_HORIZON_MONTHS = 12

DEBT_WEIGHTS: dict[str, int] = {
    "critical_finding": 10,
    "high_finding": 3,
    "application_past_support": 5,
    "application_support_ending": 2,
    "application_without_recent_release": 1,
}
"""Points of technical debt (technische schuld) per item; the score is their sum, not normalised."""

CHAIN_FIGURES = (
    "active_applications",
    "open_critical_findings",
    "open_high_findings",
    "applications_past_support",
    "applications_not_visible",
)


Day = dt.date | ColumnElement[dt.date]
"""A date as a value, or a parameter bound at execution (``statements.today_param``)."""


def on(day: Day) -> ColumnElement[dt.date]:
    return day if isinstance(day, ColumnElement) else literal(day, Date)


def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many joined applications meet ``condition`` (0, not null, when there are none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def total(column: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def active() -> ColumnElement[bool]:
    return Application.status != ARCHIVED


def past_support(as_of: Day) -> ColumnElement[bool]:
    return Application.supported_until < on(as_of)


def support_ending(as_of: dt.date) -> ColumnElement[bool]:
    """Still supported on ``as_of``, but no longer than six months after it."""
    return and_(
        Application.supported_until >= on(as_of),
        Application.supported_until <= on(add_months(as_of, SUPPORT_HORIZON_MONTHS)),
    )


def without_recent_release(as_of: dt.date) -> ColumnElement[bool]:
    """Last released more than twelve months before ``as_of``."""
    return Application.last_release < on(add_months(as_of, -RELEASE_HORIZON_MONTHS))


def eliminate_with_critical() -> ColumnElement[bool]:
    return and_(Application.disposition == "eliminate", Application.findings_critical > 0)


def foundation_columns(as_of: dt.date, visible: ColumnElement[bool] | None = None) -> list[Any]:
    """Aggregates over the applications joined to each group (the chain, or everything).

    Counts include every application; the oldest release date describes one application, so it is
    taken only over those ``visible`` to the caller (a date could profile a hidden system)."""
    last_release = Application.last_release if visible is None else case((visible, Application.last_release))
    critical = total(Application.findings_critical)
    high = total(Application.findings_high)
    past = counted(past_support(as_of))
    ending = counted(support_ending(as_of))
    stale = counted(without_recent_release(as_of))
    w = DEBT_WEIGHTS
    score = (
        critical * w["critical_finding"]
        + high * w["high_finding"]
        + past * w["application_past_support"]
        + ending * w["application_support_ending"]
        + stale * w["application_without_recent_release"]
    )
    return [
        func.count(Application.id).label("applications"),
        past.label("past_support"),
        ending.label("support_ending"),
        stale.label("without_recent_release"),
        func.min(last_release).label("oldest_release"),
        critical.label("critical"),
        high.label("high"),
        counted(eliminate_with_critical()).label("eliminate_with_critical"),
        score.label("score"),
    ]


def chain_figures_query(today: Day, visible: ColumnElement[bool] | None) -> Select[str, int, int, int, int, int]:
    """The derived figures per chain, over every chain's active applications (grouped by chain):
    their number (every one of them, whatever its classification) and how many the caller may see
    (``visible``: need to know on them), open critical and high findings, applications past support."""
    return (
        select(
            Application.chain_id,
            *tally(Application.id, visible),
            total(Application.findings_critical).label("critical"),
            total(Application.findings_high).label("high"),
            counted(past_support(today)).label("past_support"),
        )
        .where(active())
        .group_by(Application.chain_id)
    )


def figures_of(row: Any) -> dict[str, int]:
    """A chain's figures from a row of ``chain_figures_query`` (its columns, perhaps outer-joined:
    a chain without active applications has all zeros)."""
    if row.total is None:
        return dict.fromkeys(CHAIN_FIGURES, 0)
    return {
        "active_applications": int(row.total),
        "open_critical_findings": int(row.critical),
        "open_high_findings": int(row.high),
        "applications_past_support": int(row.past_support),
        "applications_not_visible": int(row.total) - int(row.seen),
    }


def chains_figures_query(today: Day, visible: ColumnElement[bool] | None) -> Select[str, int, int, int, int, int]:
    """The derived figures of the chains whose ids are bound at execution (``{"ids": [...]}``)."""
    return chain_figures_query(today, visible).where(Application.chain_id.in_(bindparam(IDS, expanding=True)))


async def chain_figures(
    session: AsyncSession, stmt: Select[str, int, int, int, int, int], chain_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """The derived figures of these chains (a page) in one query (``stmt``: ``chains_figures_query``
    with today bound as ``today_param``)."""
    figures = {id_: dict.fromkeys(CHAIN_FIGURES, 0) for id_ in chain_ids}
    params = {IDS: list(dict.fromkeys(chain_ids)), TODAY: utcnow().date()}
    for row in (await session.execute(stmt, params)).all():
        figures[row.chain_id] = figures_of(row)
    return figures


def with_figures(
    stmt: Select[Any], chain_id: str | ColumnElement[str], today: Day, visible: ColumnElement[bool] | None
) -> Select[Any]:
    """``stmt`` (selecting one chain) with that chain's figures beside it, in the same statement."""
    figures = chain_figures_query(today, visible).where(Application.chain_id == chain_id).subquery()
    return stmt.outerjoin(figures, figures.c.chain_id == Chain.id).add_columns(
        figures.c.total, figures.c.seen, figures.c.critical, figures.c.high, figures.c.past_support
    )
