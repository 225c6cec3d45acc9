"""The compliance report: counts and lists computed in the database, over the latest assessment per
principle and subject, with outcomes as they stand today (an explanation whose review_by has passed
no longer explains anything)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.dates import add_months
from services.chassis.db import utcnow
from services.chassis.errors import Problem
from services.chassis.figures import Tally, read_tally, tally
from services.chassis.resources import ARCHIVED
from services.chassis.resources.referrers import service_principal
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.assessments.service import assessments, latest_ids
from services.principles.common import today
from services.principles.explanations.models import Explanation, SubjectMilestone
from services.principles.explanations.service import explanations
from services.principles.explanations.validity import counts_on
from services.principles.kinds import CHAINS_PATH, COLLECTION_OF_KIND, Target
from services.principles.principles.models import Principle
from services.principles.refs import ASSESSMENTS_PATH, EXPLANATIONS_PATH, PRINCIPLES_PATH
from services.principles.reports.schemas import ComplianceByChain, ComplianceCoverage, ComplianceReport, GroupBy
from services.principles.reviews.models import SimplicityReview
from services.principles.reviews.service import reviews
from services.principles.subjects import chain_filters, fetch, fetch_collection

OUTCOMES = ("complies", "deviates", "explained", "not_applicable", "error")
EXPIRING_DAYS = 90
REVIEW_MONTHS = 6
MAX_INITIATIVES = 10_000


def effective_outcome(on: dt.date) -> ColumnElement[str]:
    """A recorded deviation is `explained` exactly while a valid explanation covers it."""
    covered = exists().where(
        Explanation.principle_id == Assessment.principle_id,
        Explanation.subject == Assessment.subject,
        counts_on(on),
    )
    return case(
        (Assessment.outcome.in_(("deviates", "explained")), case((covered, "explained"), else_="deviates")),
        else_=Assessment.outcome,
    )


def _latest() -> list[ColumnElement[bool]]:
    """The assessments the report is about: the latest per principle and subject, of active principles."""
    return [Assessment.id.in_(latest_ids()), Principle.status == "active"]


def _where(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """The same, as far as the caller may see them: for what names subjects (lists, groups by subject)."""
    visible = assessments.visibility(ctx.principal)
    return [*_latest(), visible] if visible is not None else _latest()


async def _totals(ctx: RequestContext, on: dt.date) -> tuple[dict[str, int], Tally]:
    """Assessments per outcome: counts, so over every latest assessment (basis `all`), with how many
    of them the caller may see, in one query."""
    visible = assessments.visibility(ctx.principal)
    inner = (
        select(
            effective_outcome(on).label("outcome"),
            Assessment.id.label("id"),
            *([visible.label("visible")] if visible is not None else []),
        )
        .select_from(Assessment)
        .join(Principle, Principle.id == Assessment.principle_id)
        .where(*_latest())
        .subquery()
    )
    seen_if = inner.c.visible if visible is not None else None
    rows = (
        await ctx.session.execute(select(inner.c.outcome, *tally(inner.c.id, seen_if)).group_by(inner.c.outcome))
    ).all()
    totals: dict[str, int] = dict.fromkeys((*OUTCOMES, "total"), 0)
    for row in rows:  # one row per outcome
        totals[row.outcome] = int(row.total)
    totals["total"] = sum(int(row.total) for row in rows)
    return totals, Tally(total=totals["total"], seen=sum(int(row.seen) for row in rows))


async def _groups(ctx: RequestContext, group_by: GroupBy, on: dt.date) -> list[dict[str, Any]]:
    """Counts per outcome in each group: over every latest assessment by category or principle (counts);
    by subject only over the subjects the caller may see, because a group names its subject."""
    key: Any = {"category": Principle.category, "principle": Principle.id, "subject": Assessment.subject}[group_by]
    inner = (
        select(
            key.label("key"),
            Principle.code.label("code"),
            Principle.title.label("title"),
            effective_outcome(on).label("outcome"),
        )
        .select_from(Assessment)
        .join(Principle, Principle.id == Assessment.principle_id)
        .where(*(_where(ctx) if group_by == "subject" else _latest()))
        .subquery()
    )
    stmt = (
        select(inner.c.key, func.min(inner.c.code), func.min(inner.c.title), inner.c.outcome, func.count())
        .group_by(inner.c.key, inner.c.outcome)
        .order_by(inner.c.key)
    )
    groups: dict[str, dict[str, Any]] = {}
    for group_key, code, title, outcome, count in (await ctx.session.execute(stmt)).all():
        if group_by == "principle":
            label, group_key = f"{code} {title}", f"{PRINCIPLES_PATH}/{group_key}"
        else:
            label = group_key
        group = groups.setdefault(group_key, {"key": group_key, "label": label, "total": 0})
        group[outcome] = group.get(outcome, 0) + count
        group["total"] += count
    return list(groups.values())


async def _open_deviations(ctx: RequestContext, on: dt.date) -> list[dict[str, Any]]:
    outcome = effective_outcome(on)
    stmt = (
        select(Assessment.id, Assessment.principle_id, Principle.code, Assessment.subject, Assessment.created_at)
        .join(Principle, Principle.id == Assessment.principle_id)
        .where(*_where(ctx), outcome == "deviates")
        .order_by(Principle.code, Assessment.subject)
    )
    return [
        {
            "assessment": {"href": f"{ASSESSMENTS_PATH}/{id_}"},
            "principle": {"href": f"{PRINCIPLES_PATH}/{pid}"},
            "principle_code": code,
            "subject": {"href": subject},
            "since": at,
        }
        for id_, pid, code, subject, at in (await ctx.session.execute(stmt)).all()
    ]


async def _approved(
    ctx: RequestContext, session: AsyncSession, *clauses: ColumnElement[bool]
) -> list[tuple[Explanation, str]]:
    stmt = (
        select(Explanation, Principle.code)
        .join(Principle, Principle.id == Explanation.principle_id)
        .where(Explanation.status == "approved", *clauses)
        .order_by(Explanation.review_by, Explanation.id)
    )
    visible = explanations.visibility(ctx.principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return [(e, code) for e, code in (await session.execute(stmt)).all()]


def _explanation_item(obj: Explanation, code: str) -> dict[str, Any]:
    return {
        "explanation": {"href": f"{EXPLANATIONS_PATH}/{obj.id}"},
        "principle": {"href": f"{PRINCIPLES_PATH}/{obj.principle_id}"},
        "principle_code": code,
        "subject": {"href": obj.subject},
        "approved_by": obj.approved_by,
        "approved_at": obj.approved_at,
        "review_by": obj.review_by,
    }


async def _late(ctx: RequestContext) -> list[dict[str, Any]]:
    """Explanations that came late (decided once, when their subject first became active)."""
    stmt = (
        select(Explanation, Principle.code, SubjectMilestone.active_since)
        .join(Principle, Principle.id == Explanation.principle_id)
        .outerjoin(SubjectMilestone, SubjectMilestone.subject == Explanation.subject)
        .where(Explanation.late.is_(True), Explanation.status == "approved")
        .order_by(Explanation.approved_at, Explanation.id)
    )
    visible = explanations.visibility(ctx.principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return [
        {**_explanation_item(obj, code), "subject_active_since": since}
        for obj, code, since in (await ctx.session.execute(stmt)).all()
    ]


async def _active_initiatives(ctx: RequestContext) -> list[dict[str, Any]]:
    """The active initiatives, from the portfolio with the caller's token."""
    path = COLLECTION_OF_KIND["initiative"]
    target = Target(
        href=f"{path}?status=active", collection_path=path, kind="initiative", id=None, query=(("status", "active"),)
    )
    found = await fetch_collection(ctx.upstreams, target, ctx.principal, cap=MAX_INITIATIVES, loc=["query"])
    return [i for i in found if i.get("status") == "active" and isinstance(i.get("href"), str)]


async def _missing_reviews(
    ctx: RequestContext, initiatives: Sequence[dict[str, Any]], on: dt.date
) -> list[dict[str, Any]]:
    """Active initiatives lacking a start review, or an execution review in the last 6 months."""
    hrefs = [i["href"] for i in initiatives]
    latest: dict[tuple[str, str], dt.date] = {}
    visible = reviews.visibility(ctx.principal)
    for start in range(0, len(hrefs), 500):
        stmt = (
            select(SimplicityReview.subject, SimplicityReview.phase, func.max(SimplicityReview.reviewed_on))
            .where(SimplicityReview.subject.in_(hrefs[start : start + 500]), SimplicityReview.status != ARCHIVED)
            .group_by(SimplicityReview.subject, SimplicityReview.phase)
        )
        if visible is not None:
            stmt = stmt.where(visible)
        for subject, phase, last in (await ctx.session.execute(stmt)).all():
            latest[(subject, phase)] = last
    since = add_months(on, -REVIEW_MONTHS)
    missing = []
    for initiative in initiatives:
        href = initiative["href"]
        gaps = []
        if (href, "start") not in latest:
            gaps.append("start")
        last_execution = latest.get((href, "execution"))
        if last_execution is None or last_execution < since:
            gaps.append("execution")
        if gaps:
            missing.append(
                {
                    "initiative": {"href": href},
                    "name": initiative.get("name") if isinstance(initiative.get("name"), str) else None,
                    "missing": gaps,
                    "last_execution_review": last_execution,
                }
            )
    return missing


async def compliance(ctx: RequestContext, group_by: GroupBy) -> ComplianceReport:
    on = today()
    incomplete: list[str] = []
    # What other services hold is read first, outside this request's transaction.
    initiatives: list[dict[str, Any]] | None
    try:
        initiatives = await _active_initiatives(ctx)
    except Problem as exc:
        initiatives = None
        incomplete.append(f"missing_reviews: {exc.detail}")
    missing = await _missing_reviews(ctx, initiatives, on) if initiatives is not None else []
    late = await _late(ctx)

    groups = await _groups(ctx, group_by, on)
    totals, assessed = await _totals(ctx, on)
    approved = select(*tally(Explanation.id, explanations.visibility(ctx.principal))).where(
        Explanation.status == "approved"
    )
    explained = await read_tally(ctx.session, approved)
    soon = on + dt.timedelta(days=EXPIRING_DAYS)
    expired = await _approved(ctx, ctx.session, Explanation.review_by < on)
    expiring = await _approved(ctx, ctx.session, and_(Explanation.review_by >= on, Explanation.review_by <= soon))
    return ComplianceReport.model_validate(
        {
            "generated_at": utcnow(),
            "as_of": on,
            "group_by": group_by,
            "totals": totals,
            "groups": groups,
            "open_deviations": await _open_deviations(ctx, on),
            "expired_explanations": [_explanation_item(e, c) for e, c in expired],
            "expiring_explanations": [_explanation_item(e, c) for e, c in expiring],
            "late_explanations": late,
            "missing_reviews": missing,
            "incomplete": incomplete,
            "coverage": ComplianceCoverage(
                counts=assessed.everything(), details=assessed.visible(), explanations=explained.visible()
            ),
        }
    )


# --- compliance by principle and chain (the heatmap) ---------------------------------------------


async def _placed(ctx: RequestContext, subjects: Sequence[str]) -> dict[str, str]:
    """Subject href -> the href of the chain it belongs to now, as its owner says (read by reference,
    one batch per collection, never stored); a chain belongs to itself. Read as this service, which
    is cleared for everything: the placing feeds counts only (basis `all`), which name no subject,
    so a count is the same whoever asks."""
    principal = await service_principal(ctx)
    fields = {p: n for p, n in (await chain_filters(ctx.upstreams, principal)).items() if p != CHAINS_PATH}
    wanted = [s for s in subjects if s.rsplit("/", 1)[0] in fields]
    placed = {s: s for s in subjects if s.rsplit("/", 1)[0] == CHAINS_PATH}
    for href, found in (await fetch(ctx.upstreams, wanted, principal)).items():
        ref = (found or {}).get(fields[href.rsplit("/", 1)[0]])
        chain = ref.get("href") if isinstance(ref, dict) else None
        if isinstance(chain, str):
            placed[href] = chain
    return placed


async def compliance_by_chain(ctx: RequestContext) -> ComplianceByChain:
    """Counts per outcome for each active principle and chain: every latest assessment counts (basis
    `all`), each in the chain its subject belongs to now; one whose subject belongs to no chain (or
    is gone) counts in the principle's `not_placed`."""
    on = today()
    inner = (
        select(
            Principle.id.label("principle"),
            Principle.code.label("code"),
            Principle.title.label("title"),
            Principle.category.label("category"),
            Assessment.subject.label("subject"),
            effective_outcome(on).label("outcome"),
        )
        .select_from(Assessment)
        .join(Principle, Principle.id == Assessment.principle_id)
        .where(*_latest())
        .subquery()
    )
    stmt = (
        select(inner.c.principle, inner.c.code, inner.c.title, inner.c.category, inner.c.subject, inner.c.outcome)
        .add_columns(func.count().label("n"))
        .group_by(*inner.c)
        .order_by(inner.c.code, inner.c.principle)
    )
    rows = (await ctx.session.execute(stmt)).all()
    _, assessed = await _totals(ctx, on)
    incomplete: list[str] = []
    try:
        placed = await _placed(ctx, sorted({row.subject for row in rows}))
    except Problem as exc:
        placed = {}
        incomplete.append(f"chains: {exc.detail}")
    principles: dict[str, dict[str, Any]] = {}
    for row in rows:  # one row per principle, subject and outcome: counted by the database
        entry = principles.setdefault(
            row.principle,
            {
                "principle": {"href": f"{PRINCIPLES_PATH}/{row.principle}"},
                "code": row.code,
                "title": row.title,
                "category": row.category,
                "chains": {},
                "not_placed": {},
                "totals": {},
            },
        )
        chain = placed.get(row.subject)
        cell = entry["chains"].setdefault(chain, {"chain": {"href": chain}}) if chain else entry["not_placed"]
        for counts in (cell, entry["totals"]):
            counts[row.outcome] = counts.get(row.outcome, 0) + int(row.n)
            counts["total"] = counts.get("total", 0) + int(row.n)
    return ComplianceByChain.model_validate(
        {
            "generated_at": utcnow(),
            "as_of": on,
            "principles": [
                {**entry, "chains": sorted(entry["chains"].values(), key=lambda c: c["chain"]["href"])}
                for entry in principles.values()
            ],
            "incomplete": incomplete,
            "coverage": assessed.everything(),
        }
    )
