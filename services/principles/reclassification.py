"""Need to know after reclassification: what this service holds about a subject follows the subject's
*current* classification, not the one it had when each record was written.

Assessments, evaluations (of exactly one subject), explanations and simplicity reviews each carry
their subject's classification (and, for EBOs, its unit), which decides who may see them. A subject
classified higher later must take those records along. So whenever this service reads a subject
from its owner (an evaluation, a manual assessment, an explanation request or approval, a review,
the change-feed follower), the records about it that carry another classification or unit are
brought to the current one, in the same transaction as what that work records.

Each record brought along is an ordinary audited update: its version moves (a new ETag) and the
change feed gets an event carrying the new classification, so the feed hides the record's history
from those no longer cleared for it as well. A subject that does not exist for the reader tells
nothing about its classification: its records stay as they are.

An evaluation of a whole collection is classified by the highest of its subjects and is left as
it is (its summary only counts the assessments the caller may see). When recorded, an assessment
whose rule read a referenced resource takes the higher of both classifications; the resources
rules read through references (chains, programmes) carry no classification on this platform, so
the subject's own is the one that counts here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm.exc import StaleDataError

from services.chassis.db import utcnow
from services.chassis.errors import Conflict
from services.chassis.resources import COLLECTIONS
from services.chassis.uow import RequestContext
from services.principles.assessments.models import Assessment
from services.principles.evaluations.models import Evaluation
from services.principles.explanations.models import Explanation
from services.principles.kinds import classification_of, subject_kind, unit_of
from services.principles.refs import ASSESSMENTS_PATH, EVALUATIONS_PATH, EXPLANATIONS_PATH, REVIEWS_PATH
from services.principles.reviews.models import SimplicityReview

CHUNK = 500


@dataclass(frozen=True)
class Holder:
    """A collection of records about subjects: where it names the subject, and which rows count."""

    path: str
    model: type[Any]
    subject: Any
    only: ColumnElement[bool] | None = None


HOLDERS = (
    Holder(ASSESSMENTS_PATH, Assessment, Assessment.subject),
    Holder(EVALUATIONS_PATH, Evaluation, Evaluation.target, Evaluation.scope == "resource"),
    Holder(EXPLANATIONS_PATH, Explanation, Explanation.subject),
    Holder(REVIEWS_PATH, SimplicityReview, SimplicityReview.subject),
)


def current(href: str, representation: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(classification, unit) of a subject as its owner serves it now."""
    kind = subject_kind(href) or ""
    return classification_of(representation), unit_of(kind, representation)


async def follow_subjects(ctx: RequestContext, seen: Mapping[str, Mapping[str, Any] | None]) -> int:
    """Bring the records about each subject read (href -> its representation, or None when it does not
    exist for the reader) to the subject's current classification and unit; how many records moved."""
    wanted: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    for href, representation in seen.items():
        if representation is not None and subject_kind(href) is not None:
            wanted[current(href, representation)].add(href)
    moved = 0
    for (classification, unit), hrefs in wanted.items():
        ordered = sorted(hrefs)
        for holder in HOLDERS:
            model = holder.model
            for start in range(0, len(ordered), CHUNK):
                stmt = (
                    select(model)
                    .where(
                        holder.subject.in_(ordered[start : start + CHUNK]),
                        or_(
                            model.data_classification.is_distinct_from(classification),
                            model.visible_to_unit.is_distinct_from(unit),
                        ),
                    )
                    .order_by(model.id)
                )
                if holder.only is not None:
                    stmt = stmt.where(holder.only)
                for obj in (await ctx.session.scalars(stmt)).all():
                    await _restamp(ctx, holder, obj, classification, unit)
                    moved += 1
    return moved


async def _restamp(ctx: RequestContext, holder: Holder, obj: Any, classification: str | None, unit: str | None) -> None:
    """One record to its subject's classification and unit: a compare-and-swap and a feed event."""
    changes: dict[str, list[Any]] = {}
    if obj.data_classification != classification:
        changes["data_classification"] = [obj.data_classification, classification]
    if obj.visible_to_unit != unit:
        changes["visible_to_unit"] = [obj.visible_to_unit, unit]
    subject = str(getattr(obj, holder.subject.key))
    obj.data_classification = classification
    obj.visible_to_unit = unit
    obj.updated_at = utcnow()
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        # Named by the subject the caller has just read, never by a record they may not see yet.
        raise Conflict(f"records about {subject} changed meanwhile; try again") from exc
    await COLLECTIONS[holder.path].record(ctx, obj, "updated", changes)
