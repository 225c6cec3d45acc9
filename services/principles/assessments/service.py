"""Recording assessments: pinned to a principle's revision, the facts' digest kept, the facts not;
a deviation covered by a valid explanation is recorded as ``explained``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.errors import Conflict, ValidationProblem
from services.chassis.resources import ARCHIVED, ListQuery, Operation, RefField
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.assessments.schemas import AssessmentQuery, AssessmentRead, ManualAssessmentCreate
from services.principles.common import today
from services.principles.explanations.models import Explanation
from services.principles.explanations.validity import counts_on
from services.principles.kinds import RECORD_NEED_TO_KNOW, classification_of, facts_digest, parse_target, unit_of
from services.principles.principles.models import Principle
from services.principles.reclassification import follow_subjects
from services.principles.refs import EVALUATIONS_PATH, EXPLANATIONS_PATH, PRINCIPLES_PATH
from services.principles.subjects import ChainFiltered, fetch


def latest_ids() -> Select[tuple[str]]:
    """Ids of the latest non-archived assessment per (principle, subject)."""
    ranked = (
        select(
            Assessment.id,
            func.row_number()
            .over(
                partition_by=(Assessment.principle_id, Assessment.subject),
                order_by=(Assessment.created_at.desc(), Assessment.id.desc()),
            )
            .label("rank"),
        )
        .where(Assessment.status != ARCHIVED)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


class Assessments(ChainFiltered[Assessment]):
    write_roles = ("architect",)

    async def check_local_references(
        self, ctx: RequestContext, values: Mapping[str, Any], obj: Any | None = None
    ) -> None:
        # Written only by this service's own code, from rows it has just read; the foreign keys hold.
        return None

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        assert isinstance(query, AssessmentQuery)
        clauses = super().filter_clauses(query.model_copy(update={"latest": None}))
        if query.latest:
            clauses.append(Assessment.id.in_(latest_ids()))
        return clauses


assessments = Assessments(
    service="principles",
    name="assessments",
    kind="assessment",
    model=Assessment,
    read=AssessmentRead,
    query=AssessmentQuery,
    need_to_know=RECORD_NEED_TO_KNOW,
    references={
        "principle": RefField(PRINCIPLES_PATH, column="principle_id", local=True, holds=False),
        "subject": RefField("*", holds=False),
        "explanation": RefField(EXPLANATIONS_PATH, column="explanation_id", local=True, holds=False),
        "evaluation": RefField(EVALUATIONS_PATH, column="evaluation_id", local=True, holds=False),
    },
    description=(
        "Judgements of subjects against principles (pas toe of leg uit): recorded by evaluations (`source: rule`, "
        "on behalf of the caller, or of `service:principles` when a change in another service triggered it) or "
        "by an architect for principles without a rule (`source: manual`). Each names the principle's "
        "`revision` it judged and keeps a SHA-256 of the facts it saw, never the facts. Assessments of "
        "subjects above your clearance do not exist for you; they follow the subject's current classification "
        "(as this service last read it). Filter with `latest=true` for the current state."
    ),
)


# --- recording -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """What a rule (or an architect) concluded about one subject, before it is recorded."""

    principle_id: str
    principle_revision: int
    subject: str
    subject_kind: str
    outcome: str
    source: str
    note: str | None
    facts_sha256: str | None
    classification: str | None
    unit: str | None


async def valid_explanations(
    session: AsyncSession, pairs: Iterable[tuple[str, str]], visibility: ColumnElement[bool] | None = None
) -> dict[tuple[str, str], Explanation]:
    """Explanations that count today (``explanations.validity``), by (principle id, subject href);
    with ``visibility``, only those the caller may see."""
    wanted = set(pairs)
    if not wanted:
        return {}
    principle_ids = {p for p, _ in wanted}
    found: dict[tuple[str, str], Explanation] = {}
    subjects = sorted({s for _, s in wanted})
    for start in range(0, len(subjects), 500):
        rows = await session.scalars(
            select(Explanation)
            .where(
                counts_on(today()),
                Explanation.principle_id.in_(principle_ids),
                Explanation.subject.in_(subjects[start : start + 500]),
                *([visibility] if visibility is not None else []),
            )
            .order_by(Explanation.review_by)
        )
        for row in rows:
            key = (row.principle_id, row.subject)
            if key in wanted:
                found[key] = row  # the one valid longest wins (ordered by review_by)
    return found


async def record(
    ctx: RequestContext, judgements: Sequence[Judgement], *, evaluation_id: str | None = None
) -> list[Assessment]:
    """Record judgements as assessments in the request's transaction, actor = the caller."""
    covering = await valid_explanations(
        ctx.session, [(j.principle_id, j.subject) for j in judgements if j.outcome == "deviates"]
    )
    recorded = []
    for j in judgements:
        explanation = covering.get((j.principle_id, j.subject)) if j.outcome == "deviates" else None
        values = {
            "principle_id": j.principle_id,
            "principle_revision": j.principle_revision,
            "subject": j.subject,
            "subject_kind": j.subject_kind,
            "outcome": "explained" if explanation is not None else j.outcome,
            "source": j.source,
            "note": j.note,
            "facts_sha256": j.facts_sha256,
            "explanation_id": explanation.id if explanation is not None else None,
            "evaluation_id": evaluation_id,
            "assessed_by": ctx.principal.sub,
            "data_classification": j.classification,
            "visible_to_unit": j.unit,
            "status": "recorded",
        }
        recorded.append(await assessments.insert(ctx, values))
    return recorded


async def record_manual(ctx: RequestContext, body: ManualAssessmentCreate) -> Assessment:
    """An architect's judgement on a principle without a rule (the subject read by reference first)."""
    parsed = parse_href(body.principle.href)
    async with ctx.read_session() as session:
        principle = await session.get(Principle, parsed.id) if parsed and parsed.id else None
    if principle is None or principle.status == ARCHIVED:
        raise ValidationProblem.field(["body", "principle"], f"no such principle: {body.principle.href}")
    if principle.status != "active":
        raise Conflict(f"principle {principle.code} is {principle.status}; only active principles are assessed")
    if principle.rule:
        raise Conflict(f"principle {principle.code} has a rule: evaluate it (POST /v1/evaluations) instead")
    target = parse_target(body.subject.href, ["body", "subject", "href"], allow_collection=False)
    if target.kind not in principle.applies_to:
        raise ValidationProblem.field(
            ["body", "subject"], f"principle {principle.code} does not apply to a {target.kind}"
        )
    subject = (await fetch(ctx.upstreams, [target.href], ctx.principal)).get(target.href)
    if subject is None:
        raise ValidationProblem.field(["body", "subject"], f"no such resource: {target.href}", "reference_not_found")
    judgement = Judgement(
        principle_id=principle.id,
        principle_revision=principle.revision,
        subject=target.href,
        subject_kind=target.kind,
        outcome=body.outcome,
        source="manual",
        note=body.note,
        facts_sha256=facts_digest(subject),
        classification=classification_of(subject),
        unit=unit_of(target.kind, subject),
    )
    await follow_subjects(ctx, {target.href: subject})
    return (await record(ctx, [judgement]))[0]


RECORD_MANUAL = Operation(assessments, "create", id_param=None)
"""``POST /v1/assessments``: architects (the collection's write role) record manual judgements."""
