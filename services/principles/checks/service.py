"""Judging a subject as it is about to be, against every active principle that applies, with the
explanations that count today. Read-only: a check records no assessment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select

from services.chassis.db import utcnow
from services.chassis.errors import ValidationProblem
from services.chassis.resources import ARCHIVED, META_FIELDS, Operation
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.assessments.service import assessments, valid_explanations
from services.principles.checks.schemas import ComplianceCheck, ComplianceCheckCreate
from services.principles.evaluations.service import active_principles, evaluations, judge, split
from services.principles.explanations.models import Explanation
from services.principles.explanations.service import explanations
from services.principles.kinds import parse_target
from services.principles.principles.models import Principle
from services.principles.refs import EXPLANATIONS_PATH, PRINCIPLES_PATH
from services.principles.settings import PrinciplesSettings

CHECK = Operation(evaluations, "check", id_param=None)
"""``POST /v1/compliance-checks``: who may evaluate may check (the evaluator roles)."""


def how_to_resolve(principle: Principle, subject: str | None, waiting: str | None) -> str:
    if waiting is not None:
        return f"the explanation {waiting} waits for an architect who did not ask for it to approve it"
    where = f"for {subject}" if subject else "once it exists"
    return (
        f"explain it in advance: POST /principles/v1/explanations with principle {PRINCIPLES_PATH}/{principle.id} "
        f"and the subject {where}, approved by an architect who did not ask; or change it so that it complies: "
        f"{principle.statement}"
    )


async def check(ctx: RequestContext, body: ComplianceCheckCreate) -> ComplianceCheck:
    subject_href = body.subject.href if body.subject is not None else None
    if subject_href is not None:
        kind = parse_target(subject_href, ["body", "subject", "href"], allow_collection=False).kind
        if body.kind is not None and body.kind != kind:
            raise ValidationProblem.field(["body", "kind"], f"{subject_href} is a {kind}, not a {body.kind}")
    elif body.kind is not None:
        kind = body.kind
    else:
        raise ValidationProblem.field(["body", "subject"], "give the subject (its href), or the kind of a new one")
    # The facts are judged as given (the owner sends the subject as it is about to be); what this
    # service holds about the subject shows only as far as the caller may see it.
    facts = {k: v for k, v in body.facts.items() if k not in META_FIELDS}
    if subject_href is not None:
        facts["href"] = subject_href

    async with ctx.read_session() as session:
        rules, manual = split(await active_principles(session), kind)
        manual_outcomes = await _manual_outcomes(session, ctx, manual, subject_href)
        waiting = await _waiting(session, ctx, [*rules, *manual], subject_href)
        covering = (
            await valid_explanations(
                session, [(p.id, subject_href) for p in (*rules, *manual)], explanations.visibility(ctx.principal)
            )
            if subject_href
            else {}
        )
    # The rules run outside any transaction: they may read what the subject points at.
    settings = ctx.settings_as(PrinciplesSettings)
    judgements = await judge(ctx.upstreams, ctx.principal, settings, kind, [facts], rules) if rules else []
    outcomes: dict[str, tuple[str, str | None]] = {j.principle_id: (j.outcome, j.note) for j in judgements}
    for principle in manual:
        outcomes[principle.id] = (manual_outcomes.get(principle.id, "unassessed"), None)

    judged = []
    for principle in sorted([*rules, *manual], key=lambda p: p.code):
        outcome, note = outcomes[principle.id]
        explanation = covering.get((principle.id, subject_href)) if subject_href else None
        waiting_href = waiting.get(principle.id)
        if outcome in ("deviates", "explained"):
            outcome = "explained" if explanation is not None else "deviates"
        shown = explanation.id if explanation is not None else waiting_href
        judged.append(
            {
                "principle": {"href": f"{PRINCIPLES_PATH}/{principle.id}"},
                "code": principle.code,
                "title": principle.title,
                "revision": principle.revision,
                "outcome": outcome,
                "explanation": {"href": f"{EXPLANATIONS_PATH}/{shown}"} if shown is not None else None,
                "note": note,
                "resolve": how_to_resolve(principle, subject_href, _href(waiting_href))
                if outcome == "deviates"
                else None,
            }
        )
    open_ = [p for p in judged if p["outcome"] == "deviates"]
    return ComplianceCheck.model_validate(
        {
            "subject": {"href": subject_href} if subject_href else None,
            "kind": kind,
            "judged_at": utcnow(),
            "complies_or_explained": not open_,
            "open_deviations": open_,
            "principles": judged,
        }
    )


def visible(condition: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    return [condition] if condition is not None else []


def _href(id_: str | None) -> str | None:
    return f"{EXPLANATIONS_PATH}/{id_}" if id_ is not None else None


async def _manual_outcomes(
    session: Any, ctx: RequestContext, manual: Sequence[Principle], subject: str | None
) -> dict[str, str]:
    """The latest manual assessment's outcome per principle without a rule, for this subject (of
    those the caller may see)."""
    if not manual or subject is None:
        return {}
    rows = await session.execute(
        select(Assessment.principle_id, Assessment.outcome)
        .where(
            Assessment.subject == subject,
            Assessment.principle_id.in_([p.id for p in manual]),
            Assessment.status != ARCHIVED,
            *visible(assessments.visibility(ctx.principal)),
        )
        .order_by(Assessment.created_at, Assessment.id)
    )
    return {str(pid): str(outcome) for pid, outcome in rows.all()}  # later rows win: the latest one


async def _waiting(
    session: Any, ctx: RequestContext, principles: Sequence[Principle], subject: str | None
) -> dict[str, str]:
    """Explanations still waiting for approval, per principle (of those the caller may see)."""
    if not principles or subject is None:
        return {}
    rows = await session.execute(
        select(Explanation.principle_id, Explanation.id).where(
            Explanation.subject == subject,
            Explanation.principle_id.in_([p.id for p in principles]),
            Explanation.status == "requested",
            *visible(explanations.visibility(ctx.principal)),
        )
    )
    return {str(pid): str(id_) for pid, id_ in rows.all()}
