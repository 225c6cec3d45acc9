"""When an explanation counts ("leg uit" that still holds), in Python and in SQL, written once.

An explanation counts on a day when it is approved, its ``review_by`` has not passed, and, if a new
revision of its principle asked for it to be confirmed, that confirmation's ``review_deadline`` has
not passed either (today counts).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_

from services.principles.explanations.models import Explanation


def counts(obj: Explanation, on: dt.date) -> bool:
    return (
        obj.status == "approved" and obj.review_by >= on and (obj.review_deadline is None or obj.review_deadline >= on)
    )


def counts_on(on: dt.date) -> ColumnElement[bool]:
    return and_(
        Explanation.status == "approved",
        Explanation.review_by >= on,
        or_(Explanation.review_deadline.is_(None), Explanation.review_deadline >= on),
    )


def counts_until(obj: Explanation) -> dt.date | None:
    """The last day it counts, if it is approved."""
    if obj.status != "approved":
        return None
    return min(obj.review_by, obj.review_deadline) if obj.review_deadline is not None else obj.review_by
