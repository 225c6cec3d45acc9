"""Evaluations: read the subject(s) by reference with the caller's token, run every active rule that
applies to their kind in the rule worker, and record one assessment per principle and subject.

Everything another service is asked happens before this request's transaction starts; the
transaction then only records what was concluded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.auth import Principal
from services.chassis.errors import ValidationProblem
from services.chassis.references import Upstreams
from services.chassis.resources import Collection, Operation, RefField
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.assessments.service import Judgement, assessments, record
from services.principles.evaluations.models import Evaluation
from services.principles.evaluations.schemas import EvaluationQuery, EvaluationRead
from services.principles.kinds import (
    RECORD_NEED_TO_KNOW,
    Target,
    classification_of,
    facts_digest,
    highest,
    parse_target,
    unit_of,
)
from services.principles.principles.models import Principle
from services.principles.reclassification import follow_subjects
from services.principles.refs import ASSESSMENTS_PATH, PRINCIPLES_PATH
from services.principles.rules.engine import evaluate
from services.principles.settings import PrinciplesSettings
from services.principles.subjects import expand, fetch, fetch_collection, fields_to_expand

EVALUATOR_ROLES = ("architect", "portfolio_manager", "chain_owner")
SUBJECT_LOC: list[str | int] = ["body", "subject", "href"]


class Evaluations(Collection[Evaluation]):
    action_roles = {"create": EVALUATOR_ROLES, "check": EVALUATOR_ROLES}

    async def check_local_references(
        self, ctx: RequestContext, values: Mapping[str, Any], obj: Any | None = None
    ) -> None:
        return None

    def representation(self, obj: Evaluation) -> dict[str, Any]:
        data = super().representation(obj)
        data["manual_principles"] = [{"href": f"{PRINCIPLES_PATH}/{pid}"} for pid in obj.manual_principles or []]
        data["all_assessments"] = f"{ASSESSMENTS_PATH}?evaluation={obj.id}"
        return data

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Evaluation]) -> dict[str, dict[str, Any]]:
        """Counts per outcome of what each evaluation recorded, of the assessments this caller may see."""
        summaries: dict[str, dict[str, int]] = {o.id: {"total": 0} for o in objs}
        stmt = (
            select(Assessment.evaluation_id, Assessment.outcome, func.count())
            .where(Assessment.evaluation_id.in_(list(summaries)))
            .group_by(Assessment.evaluation_id, Assessment.outcome)
        )
        visible = assessments.visibility(ctx.principal)
        if visible is not None:
            stmt = stmt.where(visible)
        for evaluation_id, outcome, count in (await ctx.session.execute(stmt)).all():
            summary = summaries[str(evaluation_id)]
            summary[outcome] = summary.get(outcome, 0) + count
            summary["total"] += count
        return {id_: {"summary": summary} for id_, summary in summaries.items()}


evaluations = Evaluations(
    service="principles",
    name="evaluations",
    kind="evaluation",
    model=Evaluation,
    read=EvaluationRead,
    query=EvaluationQuery,
    need_to_know=RECORD_NEED_TO_KNOW,
    references={"target": RefField("*", holds=False)},
    description=(
        "Runs of the rules over live subjects: who asked, what was read, and a summary of the assessments "
        "recorded. Create one with `POST /v1/evaluations`; the change-feed follower creates them too."
    ),
)

EVALUATE = Operation(evaluations, "create", id_param=None)


# --- running -------------------------------------------------------------------------------------


async def active_principles(session: AsyncSession) -> list[Principle]:
    return list(
        (await session.scalars(select(Principle).where(Principle.status == "active").order_by(Principle.code))).all()
    )


def split(principles: Sequence[Principle], kind: str) -> tuple[list[Principle], list[Principle]]:
    """The principles for ``kind``: (with a rule, without a rule)."""
    mine = [p for p in principles if kind in (p.applies_to or [])]
    return [p for p in mine if p.rule], [p for p in mine if not p.rule]


async def applicable(session: AsyncSession, kind: str) -> tuple[list[Principle], list[Principle]]:
    """Active principles for ``kind``: (with a rule, without a rule)."""
    return split(await active_principles(session), kind)


async def judge(
    upstreams: Upstreams,
    principal: Principal,
    settings: PrinciplesSettings,
    kind: str,
    subjects: Sequence[dict[str, Any]],
    rules: Sequence[Principle],
) -> list[Judgement]:
    """Run each rule on each subject (references a rule reads expanded one level, with this caller's token)."""
    if not rules or not subjects:
        return []
    fields = fields_to_expand(p.rule for p in rules)
    seen = await expand(upstreams, subjects, fields, principal)
    jobs = [(str(p.rule), s) for s in seen for p in rules]
    results = iter(await evaluate(jobs, settings))
    judgements = []
    for subject in seen:
        digest = facts_digest(subject)
        related = [subject.get(f) for f in fields]
        classification = highest(
            classification_of(subject), *(classification_of(r) for r in related if isinstance(r, Mapping))
        )
        for principle in rules:
            result = next(results)
            outcome = "error" if result.error is not None else ("complies" if result.value else "deviates")
            judgements.append(
                Judgement(
                    principle_id=principle.id,
                    principle_revision=principle.revision,
                    subject=str(subject.get("href")),
                    subject_kind=kind,
                    outcome=outcome,
                    source="rule",
                    note=result.error,
                    facts_sha256=digest,
                    classification=classification,
                    unit=unit_of(kind, subject),
                )
            )
    return judgements


async def record_evaluation(
    ctx: RequestContext,
    *,
    target: str,
    scope: str,
    kind: str,
    trigger: str,
    subjects: Sequence[Mapping[str, Any]],
    judgements: Sequence[Judgement],
    manual: Sequence[Principle],
) -> tuple[Evaluation, list[Assessment]]:
    """Store the evaluation and its assessments in the request's transaction."""
    classification = highest(*(classification_of(s) for s in subjects), *(j.classification for j in judgements))
    units = {unit_of(kind, s) for s in subjects}
    evaluation = await evaluations.insert(
        ctx,
        {
            "target": target,
            "scope": scope,
            "subject_kind": kind,
            "trigger": trigger,
            "requested_by": ctx.principal.sub,
            "subjects": len(subjects),
            "manual_principles": [p.id for p in manual],
            "data_classification": classification,
            "visible_to_unit": units.pop() if scope == "resource" and len(units) == 1 else None,
            "status": "completed",
        },
    )
    recorded = await record(ctx, judgements, evaluation_id=evaluation.id)
    return evaluation, recorded


async def read_subjects(ctx: RequestContext, target: Target, loc: Sequence[str | int]) -> list[dict[str, Any]]:
    if target.is_collection:
        return await fetch_collection(
            ctx.upstreams,
            target,
            ctx.principal,
            cap=ctx.settings_as(PrinciplesSettings).max_collection_subjects,
            loc=loc,
        )
    found = (await fetch(ctx.upstreams, [target.href], ctx.principal)).get(target.href)
    if found is None:
        raise ValidationProblem.field(loc, f"no such resource: {target.href}", "reference_not_found")
    return [found]


async def run(ctx: RequestContext, href: str) -> tuple[Evaluation, list[Assessment]]:
    """``POST /v1/evaluations``: one subject or a whole collection, on behalf of the caller."""
    target = parse_target(href, SUBJECT_LOC, allow_collection=True)
    async with ctx.read_session() as session:
        rules, manual = await applicable(session, target.kind)
    subjects = await read_subjects(ctx, target, SUBJECT_LOC)
    judgements = await judge(
        ctx.upstreams, ctx.principal, ctx.settings_as(PrinciplesSettings), target.kind, subjects, rules
    )
    # What was recorded about these subjects before follows their classification as read now.
    seen = {str(s.get("href")): s for s in subjects}
    if not target.is_collection:
        seen[target.href] = subjects[0]
    await follow_subjects(ctx, seen)
    return await record_evaluation(
        ctx,
        target=href,
        scope="collection" if target.is_collection else "resource",
        kind=target.kind,
        trigger="request",
        subjects=subjects,
        judgements=judgements,
        manual=manual,
    )


async def shown_assessments(ctx: RequestContext, evaluation: Evaluation) -> list[Any]:
    """The assessments a single evaluation shows: all for one subject, the non-complying for a collection."""
    stmt = assessments.base_select(ctx.principal).where(Assessment.evaluation_id == evaluation.id)
    if evaluation.scope == "collection":
        stmt = stmt.where(Assessment.outcome != "complies")
    rows = (await ctx.session.scalars(stmt.order_by(Assessment.subject, Assessment.id))).all()
    return await assessments.render_many(ctx, rows)
