"""Need to know, written once: who may see a record of a given classification.

Every path that shows data asks this module, so that the rule cannot disagree with itself:
collections (lists, batch gets, get by id, ``/v1/references``), the change feeds, reports,
duplicates, the records principles keeps about other services' subjects, and, through the
owners' batch gets, the gateway's expansion.

The rule: an admin sees everything. Anyone else sees a record when it carries no classification,
when its classification is not above their clearance (``public`` < ``internal`` <
``confidential`` < ``secret``; a token without a clearance counts as ``internal``), or when the
record is visible to a unit and the caller's token names that unit (an EBO, and what is recorded
about one, is always visible to its own unit). To everyone else the record does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from services.chassis.auth import CLEARANCES, Principal, clearance_rank


def levels_visible_to(principal: Principal) -> tuple[str, ...]:
    """The classifications at or below the caller's clearance."""
    return tuple(c for c in CLEARANCES if clearance_rank(c) <= clearance_rank(principal.clearance))


def viewer_key(principal: Principal) -> tuple[bool, str, str | None]:
    """Everything the rule reads of a caller: two callers with the same key see the same rows, so a
    statement built for one (``statements.StatementCache``) serves the other."""
    return principal.is_admin, principal.clearance, principal.unit


def may_see(principal: Principal, classification: str | None, unit: str | None = None) -> bool:
    """The predicate, for records already in memory."""
    if principal.is_admin or classification is None:
        return True
    if principal.unit and unit is not None and unit == principal.unit:
        return True
    return clearance_rank(classification) <= clearance_rank(principal.clearance)


def visible_where(principal: Principal, classification: Any, unit: Any | None = None) -> ColumnElement[bool] | None:
    """The same rule as a SQL condition on the columns holding a record's classification (and the
    unit that may always see it); None when the caller sees everything."""
    if principal.is_admin:
        return None
    clauses: list[ColumnElement[bool]] = [classification.in_(levels_visible_to(principal))]
    if _nullable(classification):
        clauses.append(classification.is_(None))
    if unit is not None and principal.unit:
        clauses.append(unit == principal.unit)
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def hidden_where(principal: Principal, classification: Any, unit: Any | None = None) -> ColumnElement[bool] | None:
    """The rows ``visible_where`` leaves out, as a SQL condition of its own (a list's ``not_shown``
    counts them); None when the caller may see every row. Written out rather than as ``NOT
    visible``, which SQL's NULLs would get wrong: ``NOT (c IN (..) OR unit = :unit)`` is NULL, so
    not counted, for a hidden row without a unit. Here a row is hidden when it is classified
    (``c NOT IN (..)`` is NULL, so false, for an unclassified one) but not at a level the caller
    may see, and the caller's unit is not the one that may always see it."""
    if principal.is_admin:
        return None
    if clearance_rank(principal.clearance) >= clearance_rank(CLEARANCES[-1]):
        return None
    hidden = classification.not_in(levels_visible_to(principal))
    if unit is not None and principal.unit:
        other_unit = unit != principal.unit
        hidden = and_(hidden, or_(unit.is_(None), other_unit) if _nullable(unit) else other_unit)
    return hidden


def _nullable(column: Any) -> bool:
    # A column that can hold no classification means "unclassified" there; a NOT NULL column
    # needs no IS NULL branch (which would also keep an index on it from being used).
    expression = getattr(column, "expression", column)
    return bool(getattr(expression, "nullable", True))


@dataclass(frozen=True)
class NeedToKnow:
    """Where a collection's rows carry their classification, and the unit that may always see them."""

    classification: str = "data_classification"
    unit: str | None = None

    def where(self, model: type[Any], principal: Principal) -> ColumnElement[bool] | None:
        return visible_where(
            principal,
            getattr(model, self.classification),
            getattr(model, self.unit) if self.unit is not None else None,
        )

    def hidden(self, model: type[Any], principal: Principal) -> ColumnElement[bool] | None:
        """The rows ``where`` leaves out (None: none)."""
        return hidden_where(
            principal,
            getattr(model, self.classification),
            getattr(model, self.unit) if self.unit is not None else None,
        )

    def of(self, obj: Any) -> tuple[str | None, str | None]:
        """(classification, unit) of a row, as the change feed records them with each event."""
        return getattr(obj, self.classification), getattr(obj, self.unit) if self.unit is not None else None

    def allows(self, principal: Principal, obj: Any) -> bool:
        return may_see(principal, *self.of(obj))
