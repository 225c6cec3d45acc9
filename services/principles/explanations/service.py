"""The rules of explanations ("leg uit"): who may ask, four eyes on approval, and when one counts.

- Asking: a portfolio manager, an architect, or the subject's owner: a token with the ``chain_owner``
  role whose ``sub`` is the ``owner.subject`` of the subject itself (chains, programmes), or else of
  the chain its ``value_chain``/``chain`` reference points at (initiatives, EBOs, teams, allocations),
  read by reference with the caller's token. A matching ``sub`` without that role is not enough:
  readers only read.
- Approving or rejecting: an architect (or admin) who is not the requester; only once.
- Counting: approved, and ``review_by`` not passed. Approving re-evaluates that subject for that
  principle, so a ``deviates`` becomes ``explained`` at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from services.chassis.auth import Principal
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound, ValidationProblem
from services.chassis.figures import tally
from services.chassis.resources import ARCHIVED, ListQuery, Operation, Precondition, RefField
from services.chassis.resources.pipeline import act, admit
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.common import today
from services.principles.evaluations.service import judge, record_evaluation
from services.principles.explanations.models import Explanation, SubjectMilestone
from services.principles.explanations.schemas import (
    ApprovalBody,
    ConfirmationBody,
    ExplanationCreate,
    ExplanationQuery,
    ExplanationRead,
    RegisterQuery,
    RejectionBody,
)
from services.principles.explanations.validity import counts, counts_on, counts_until
from services.principles.kinds import RECORD_NEED_TO_KNOW, classification_of, parse_target, unit_of
from services.principles.principles.models import Principle
from services.principles.reclassification import follow_subjects
from services.principles.refs import PRINCIPLES_PATH
from services.principles.settings import PrinciplesSettings
from services.principles.subjects import ChainFiltered, chain_href, chain_subjects, fetch

REQUESTER_ROLES = ("portfolio_manager", "architect")
OWNER_ROLE = "chain_owner"
OWNER_REFERENCES = ("value_chain", "chain")


def is_valid(obj: Explanation, on: dt.date | None = None) -> bool:
    return counts(obj, on or today())


def latest_review_by(ctx: RequestContext, on: dt.date) -> dt.date:
    """The furthest ``review_by`` an explanation approved on ``on`` may have."""
    return on + dt.timedelta(days=ctx.settings_as(PrinciplesSettings).explanation_max_validity_days)


def check_review_by(ctx: RequestContext, review_by: dt.date, loc: list[str | int]) -> None:
    """422 unless ``review_by`` is in the future and within the maximum validity."""
    on = today()
    if review_by <= on:
        raise ValidationProblem.field(loc, "review_by must be a date in the future")
    furthest = latest_review_by(ctx, on)
    if review_by > furthest:
        raise ValidationProblem.field(
            loc,
            f"an explanation counts at most {(furthest - on).days} days: review_by must be on or before "
            f"{furthest}; ask again (or confirm it) when it is due",
            "review_by_too_far",
        )


class Explanations(ChainFiltered[Explanation]):
    write_roles = ("architect",)
    action_roles = {
        "create": (*REQUESTER_ROLES, OWNER_ROLE),
        "archive": (*REQUESTER_ROLES, OWNER_ROLE),
        "approve": ("architect",),
        "reject": ("architect",),
        "confirm": ("architect",),
    }

    def authorize(self, principal: Principal, action: str, *, record: Explanation | None, parent: Any | None) -> None:
        if record is None:
            return  # asking: who may ask is checked by ``request`` with the subject in hand
        if action in ("approve", "reject", "confirm") and record.requested_by == principal.sub:
            raise Forbidden(f"four eyes: the requester cannot {action} their own explanation")
        withdrawing = record.requested_by == principal.sub and record.status == "requested"
        if action == "archive" and not principal.has_role("architect") and not withdrawing:
            raise Forbidden("an explanation is withdrawn by its requester while it is requested, or by an architect")

    def check_state(self, obj: Explanation, action: str) -> None:
        if action in ("approve", "reject") and obj.status != "requested":
            raise Conflict(f"this explanation was already {obj.status}")
        if action == "confirm" and (obj.status != "approved" or obj.needs_review_since is None):
            raise Conflict("only an approved explanation that needs review after a new revision is confirmed")

    async def check_local_references(
        self, ctx: RequestContext, values: Mapping[str, Any], obj: Any | None = None
    ) -> None:
        return None  # the principle was read just before, and the foreign key holds

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Explanation]) -> dict[str, dict[str, Any]]:
        on = today()
        return {
            o.id: {
                "valid": is_valid(o, on),
                "needs_review": o.needs_review_since is not None,
                "counts_until": counts_until(o),
            }
            for o in objs
        }

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        assert isinstance(query, ExplanationQuery)
        clauses = super().filter_clauses(query.model_copy(update={"review_by_before": None, "needs_review": None}))
        if query.review_by_before is not None:
            clauses += [Explanation.status == "approved", Explanation.review_by <= query.review_by_before]
        if query.needs_review is True:
            clauses += [Explanation.status == "approved", Explanation.needs_review_since.is_not(None)]
        elif query.needs_review is False:
            clauses += [Explanation.needs_review_since.is_(None)]
        return clauses


explanations = Explanations(
    service="principles",
    name="explanations",
    kind="explanation",
    model=Explanation,
    read=ExplanationRead,
    query=ExplanationQuery,
    need_to_know=RECORD_NEED_TO_KNOW,
    references={
        "principle": RefField(PRINCIPLES_PATH, column="principle_id", local=True, holds=False),
        "subject": RefField("*", holds=False),
    },
    description=(
        '"Leg uit": a deviation from a principle, explained in advance and recorded so that agreements are '
        "clear and transparent. Asked by a portfolio manager, the subject's owner (role `chain_owner`) or an "
        "architect, only for a subject that deviates; approved or rejected by an architect who is not the "
        "requester (four eyes). Approved explanations count until `review_by` (at most the configured maximum "
        "validity after approval); a new revision of the principle asks for them to be confirmed "
        "(`needs_review`), and they keep counting until `review_deadline`. `late` says whether it was approved "
        "only after its subject became active. Explanations of subjects above your clearance do not exist for "
        "you; their classification follows the subject's current one (as this service last read it)."
    ),
)


async def owner_of(ctx: RequestContext, subject: Mapping[str, Any], *, depth: int = 0) -> str | None:
    """The accountable person for a subject: its own owner, or its chain's (read by reference)."""
    owner = subject.get("owner")
    if isinstance(owner, Mapping) and isinstance(owner.get("subject"), str):
        return str(owner["subject"])
    for field in OWNER_REFERENCES:
        ref = subject.get(field)
        href = ref.get("href") if isinstance(ref, Mapping) else None
        if isinstance(href, str) and depth == 0:
            chain = (await fetch(ctx.upstreams, [href], ctx.principal)).get(href)
            return await owner_of(ctx, chain, depth=1) if chain is not None else None
    return None


async def is_owner(ctx: RequestContext, subject: Mapping[str, Any]) -> bool:
    """Ownership acts through the chain_owner role: a matching ``sub`` alone is not enough (a reader only reads)."""
    principal = ctx.principal
    return principal.has_role(OWNER_ROLE) and await owner_of(ctx, subject) == principal.sub


async def _principle(ctx: RequestContext, href: str, loc: Sequence[str | int]) -> Principle:
    parsed = parse_href(href)
    async with ctx.read_session() as session:
        principle = await session.get(Principle, parsed.id) if parsed and parsed.id else None
    if principle is None or principle.status == ARCHIVED:
        raise ValidationProblem.field(loc, f"no such principle: {href}", "reference_not_found")
    return principle


async def request(ctx: RequestContext, body: ExplanationCreate) -> Explanation:
    """Record a request for an explanation (everything outside this service is read first): only for
    a subject that deviates from the principle now, and not while another request or a valid
    explanation for the same principle and subject stands."""
    principal = ctx.principal
    check_review_by(ctx, body.review_by, ["body", "review_by"])
    principle = await _principle(ctx, body.principle.href, ["body", "principle"])
    if principle.status == "retired":
        raise Conflict(f"principle {principle.code} is retired; there is nothing to deviate from")
    target = parse_target(body.subject.href, ["body", "subject", "href"], allow_collection=False)
    if target.kind not in principle.applies_to:
        raise ValidationProblem.field(
            ["body", "subject"], f"principle {principle.code} does not apply to a {target.kind}"
        )
    subject = (await fetch(ctx.upstreams, [target.href], principal)).get(target.href)
    if subject is None:
        raise ValidationProblem.field(["body", "subject"], f"no such resource: {target.href}", "reference_not_found")
    if not principal.has_role(*REQUESTER_ROLES) and not await is_owner(ctx, subject):
        raise Forbidden(
            "an explanation is asked by a portfolio manager, an architect, or the subject's owner "
            f"(role {OWNER_ROLE}, whose sub is the owner.subject of the subject or of its chain)"
        )
    await ensure_deviates(ctx, principle, target.kind, subject)
    await follow_subjects(ctx, {target.href: subject})
    standing = await ctx.session.scalar(
        select(Explanation.id)
        .where(
            Explanation.principle_id == principle.id,
            Explanation.subject == target.href,
            or_(Explanation.status == "requested", counts_on(today())),
        )
        .order_by(Explanation.created_at)
    )
    if standing is not None:
        href = explanations.href(standing)
        raise Conflict(
            f"{href} already explains (or asks to explain) why {target.href} deviates from {principle.code}; "
            "change or withdraw that one instead",
            extra={"existing": href},
        )
    milestone = await ctx.session.get(SubjectMilestone, target.href)
    return await explanations.insert(
        ctx,
        {
            "principle_id": principle.id,
            "principle_revision": principle.revision,
            "subject": target.href,
            "subject_kind": target.kind,
            "reason": body.reason,
            "review_by": body.review_by,
            "requested_by": principal.sub,
            "data_classification": classification_of(subject),
            "visible_to_unit": unit_of(target.kind, subject),
            # Asked when the work had started already: whatever happens, it did not come in advance.
            "late": True if milestone is not None else None,
            "status": "requested",
        },
    )


async def ensure_deviates(ctx: RequestContext, principle: Principle, kind: str, subject: dict[str, Any]) -> None:
    """409 when there is nothing to explain: the principle's rule says the subject complies, or (for a
    principle without a rule) no manual assessment says it deviates."""
    href = str(subject.get("href"))
    if principle.rule is not None:
        judgements = await judge(
            ctx.upstreams, ctx.principal, ctx.settings_as(PrinciplesSettings), kind, [subject], [principle]
        )
        outcome = judgements[0].outcome if judgements else "complies"
        if outcome == "complies":
            raise Conflict(
                f"{href} complies with {principle.code} ({principle.title}): there is nothing to explain",
                extra={"outcome": outcome},
            )
        return
    async with ctx.read_session() as session:
        latest = await session.scalar(
            select(Assessment.outcome)
            .where(
                Assessment.principle_id == principle.id,
                Assessment.subject == href,
                Assessment.status != ARCHIVED,
            )
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        )
    if latest not in ("deviates", "explained"):
        raise Conflict(
            f"no assessment says {href} deviates from {principle.code} ({principle.title}): there is nothing to "
            "explain yet (an architect records the deviation first: POST /v1/assessments)",
            extra={"outcome": latest},
        )


async def decide(ctx: RequestContext, body: ApprovalBody | RejectionBody) -> Explanation:
    """Approve or reject, four eyes; an approval re-evaluates the subject for the principle."""
    principal = ctx.principal
    approve = isinstance(body, ApprovalBody)
    current = (await admit(ctx, APPROVE if approve else REJECT)).record
    assert isinstance(current, Explanation)
    review_by = (body.review_by if isinstance(body, ApprovalBody) else None) or current.review_by
    if approve:
        check_review_by(ctx, review_by, ["body", "review_by"])
    async with ctx.read_session() as session:
        principle = await session.get(Principle, current.principle_id)
    if principle is None:
        raise NotFound(f"no explanation {current.id}")

    # Read the subject now (with the approver's token), before this request's transaction: what is
    # recorded about it follows its classification, and a rule judges it again.
    subject = (await fetch(ctx.upstreams, [current.subject], principal)).get(current.subject) if approve else None
    rerun = (
        subject is not None
        and principle.status == "active"
        and principle.rule is not None
        and current.subject_kind in principle.applies_to
    )
    settings = ctx.settings_as(PrinciplesSettings)
    judgements = (
        await judge(ctx.upstreams, principal, settings, current.subject_kind, [subject], [principle])
        if rerun and subject is not None
        else []
    )

    async def decision(obj: Explanation) -> dict[str, Any]:
        now = utcnow()
        values: dict[str, Any] = (
            {"status": "approved", "approved_by": principal.sub, "approved_at": now, "review_by": review_by}
            if approve
            else {"status": "rejected", "rejected_by": principal.sub, "rejected_at": now}
        )
        if approve:
            milestone = await ctx.session.get(SubjectMilestone, obj.subject)
            if milestone is not None:
                values["late"] = now > milestone.active_since
        values["decision_note"] = body.note
        return values

    obj: Explanation = await act(ctx, APPROVE if approve else REJECT, decision)
    if subject is not None:
        await follow_subjects(ctx, {current.subject: subject})
    if rerun and subject is not None:
        await record_evaluation(
            ctx,
            target=current.subject,
            scope="resource",
            kind=current.subject_kind,
            trigger="explanation",
            subjects=[subject],
            judgements=judgements,
            manual=[],
        )
    return obj


async def confirm(ctx: RequestContext, body: ConfirmationBody) -> Explanation:
    """Confirm an explanation under its principle's current revision (four eyes): it counts again
    until ``review_by`` without a deadline."""
    principal = ctx.principal
    current = (await admit(ctx, CONFIRM)).record
    assert isinstance(current, Explanation)
    if body.review_by is not None:
        check_review_by(ctx, body.review_by, ["body", "review_by"])
    elif current.review_by > latest_review_by(ctx, today()):
        raise ValidationProblem.field(["body", "review_by"], "give a review_by within the maximum validity")

    async def confirmation(obj: Explanation) -> dict[str, Any]:
        revision = await ctx.session.scalar(select(Principle.revision).where(Principle.id == obj.principle_id))
        values: dict[str, Any] = {
            "principle_revision": revision,
            "needs_review_since": None,
            "review_deadline": None,
            "approved_by": principal.sub,
            "approved_at": utcnow(),
            "decision_note": body.note,
        }
        if body.review_by is not None:
            values["review_by"] = body.review_by
        return values

    obj: Explanation = await act(ctx, CONFIRM, confirmation)
    return obj


async def ask_for_review(ctx: RequestContext, principle: Principle) -> int:
    """A new revision of ``principle``: every approved explanation asked under an older revision needs
    review, and keeps counting for the configured number of days (in the revision's transaction)."""
    deadline = today() + dt.timedelta(days=ctx.settings_as(PrinciplesSettings).revision_review_days)
    rows = (
        await ctx.session.scalars(
            select(Explanation).where(
                Explanation.principle_id == principle.id,
                Explanation.status == "approved",
                Explanation.principle_revision < principle.revision,
                Explanation.needs_review_since.is_(None),
            )
        )
    ).all()
    now = utcnow()
    for row in rows:
        deadline_here = min(deadline, row.review_by)
        await explanations.change(ctx, row, {"needs_review_since": now, "review_deadline": deadline_here})
    return len(rows)


async def record_activation(ctx: RequestContext, subject: str, at: dt.datetime) -> bool:
    """The subject's work started at ``at`` (the first time only): decide, once, which of its
    explanations came late (approved after that moment, or not yet approved)."""
    if await ctx.session.get(SubjectMilestone, subject) is not None:
        return False
    ctx.session.add(SubjectMilestone(subject=subject, active_since=at, recorded_at=utcnow()))
    rows = (
        await ctx.session.scalars(
            select(Explanation).where(
                Explanation.subject == subject,
                Explanation.late.is_(None),
                Explanation.status.in_(("requested", "approved")),
            )
        )
    ).all()
    for row in rows:
        late = row.status == "requested" or (row.approved_at is not None and row.approved_at > at)
        await explanations.change(ctx, row, {"late": late})
    await ctx.session.flush()
    return True


async def register_filters(ctx: RequestContext, query: RegisterQuery) -> list[ColumnElement[bool]]:
    """The register's filters as SQL; the subjects of the chains asked for are read from their owners."""
    clauses: list[ColumnElement[bool]] = []
    if query.year is not None:
        start = dt.datetime(query.year, 1, 1, tzinfo=dt.UTC)
        clauses += [Explanation.created_at >= start, Explanation.created_at < start.replace(year=query.year + 1)]
    if query.principle:
        ids = []
        for value in query.principle:
            parsed = parse_href(value)
            if parsed is not None and (parsed.collection_path != PRINCIPLES_PATH or parsed.id is None):
                raise ValidationProblem.field(["query", "principle"], f"not a principle: {value!r}")
            ids.append(parsed.id if parsed is not None else value)
        clauses.append(Explanation.principle_id.in_(ids))
    if query.status:
        clauses.append(Explanation.status.in_(query.status))
    if query.chain:
        subjects: set[str] = set()
        for value in query.chain:
            subjects.update(await chain_subjects(ctx.upstreams, ctx.principal, chain_href(value, ("query", "chain"))))
        clauses.append(Explanation.subject.in_(sorted(subjects)))
    return clauses


def register_query(principal: Principal, filters: Sequence[ColumnElement[bool]] = ()) -> Select[Explanation, str, str]:
    stmt = (
        select(Explanation, Principle.code, Principle.title)
        .join(Principle, Principle.id == Explanation.principle_id)
        .where(*filters)
        .order_by(Explanation.created_at, Explanation.id)
    )
    visible = explanations.visibility(principal)
    return stmt.where(visible) if visible is not None else stmt


def register_tally(principal: Principal, filters: Sequence[ColumnElement[bool]] = ()) -> Select[int, int]:
    """How many explanations the (filtered) register holds, and how many of them the caller may see."""
    return select(*tally(Explanation.id, explanations.visibility(principal))).where(*filters)


def register_row(obj: Explanation, code: str, title: str, on: dt.date) -> dict[str, Any]:
    return {
        "href": explanations.href(obj.id),
        "principle": f"{PRINCIPLES_PATH}/{obj.principle_id}",
        "principle_code": code,
        "principle_title": title,
        "principle_revision": obj.principle_revision,
        "subject": obj.subject,
        "subject_kind": obj.subject_kind,
        "reason": obj.reason,
        "status": obj.status,
        "valid": is_valid(obj, on),
        "late": obj.late,
        "needs_review": obj.needs_review_since is not None,
        "counts_until": counts_until(obj),
        "requested_by": obj.requested_by,
        "requested_at": obj.created_at,
        "approved_by": obj.approved_by,
        "approved_at": obj.approved_at,
        "rejected_by": obj.rejected_by,
        "rejected_at": obj.rejected_at,
        "review_by": obj.review_by,
        "decision_note": obj.decision_note,
    }


REQUEST = Operation(explanations, "create", id_param=None)
APPROVE = Operation(explanations, "approve", Precondition.OPTIONAL)
REJECT = Operation(explanations, "reject", Precondition.OPTIONAL)
CONFIRM = Operation(explanations, "confirm", Precondition.OPTIONAL)
