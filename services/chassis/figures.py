"""Figures under need to know: one policy for every report, register and diff of every service.

A figure is computed in one of two ways, and every answer that holds figures says which and over
how many records (``Coverage``), so that no figure ever silently differs by who asks:

- ``all``: counts of records and of what they hold (how many applications, how many open
  findings, how many assessments per outcome) count every record, classified or not. A count
  names no record and shows none of its content, and leaving classified records out would tell the
  caller (and any rule that reads the count) that things are better than they are. ``not_visible``
  says how many of the counted records the caller may not see.
- ``visible``: everything taken from a record's content (money, shares and ratios of money, names,
  dates, ranks, notes, lists of records) is computed over what the caller may see, because a total
  that included hidden records would give their content away by subtraction. ``left_out`` says how
  many records were left out.

The convention for answers: ``coverage`` is one ``Coverage`` when all of an answer's figures have one
basis and are taken from one set of records. Otherwise it is an object with one ``Coverage`` per
part, named after it: ``counts`` (basis ``all``) and ``details`` (basis ``visible``) where an answer
mixes the two kinds over the same records (``CountsAndDetails``), and a part named after its records
where an answer draws on more than one set (a round diff's ``round`` and ``against``). Whatever the
shape, every ``Coverage`` in it says its basis, so a client reads each the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Executable, Label, case, func
from sqlalchemy.ext.asyncio import AsyncSession

Basis = Literal["visible", "all"]


class Coverage(BaseModel):
    """What the figures of an answer are computed over."""

    basis: Basis = Field(
        description=(
            "`visible`: computed over the records you may see (money, shares, lists); "
            "`all`: counts every record, also those you may not see (counts only)."
        )
    )
    counted: int = Field(ge=0, description="Records the figures are computed over.")
    left_out: int = Field(ge=0, description="Records left out because you may not see them (0 when `all`).")
    not_visible: int = Field(ge=0, description="Of the counted records, those you may not see (0 when `visible`).")

    @classmethod
    def visible(cls, *, seen: int, total: int) -> Coverage:
        """Figures over the ``seen`` of ``total`` records."""
        return cls(basis="visible", counted=seen, left_out=max(total - seen, 0), not_visible=0)

    @classmethod
    def everything(cls, *, total: int, seen: int) -> Coverage:
        """Counts over all ``total`` records, of which the caller may see ``seen``."""
        return cls(basis="all", counted=total, left_out=0, not_visible=max(total - seen, 0))


class CountsAndDetails(BaseModel):
    """The coverage of an answer that holds both kinds of figure over the same records."""

    counts: Coverage = Field(description="The counts: every record (basis `all`).")
    details: Coverage = Field(
        description=(
            "What is taken from the records' content (dates, names, lists): the records you may see (basis `visible`)."
        )
    )

    @classmethod
    def of(cls, tally: Tally) -> CountsAndDetails:
        return cls(counts=tally.everything(), details=tally.visible())


@dataclass(frozen=True)
class Tally:
    """How many records a figure is computed from, and how many of them the caller may see; read from
    the two aggregates of ``tally`` in the same query (and so the same snapshot) as the figures."""

    total: int
    seen: int

    @classmethod
    def of(cls, row: Any) -> Tally:
        return cls(total=int(row.total or 0), seen=int(row.seen or 0))

    def everything(self) -> Coverage:
        return Coverage.everything(total=self.total, seen=self.seen)

    def visible(self) -> Coverage:
        return Coverage.visible(seen=self.seen, total=self.total)


def tally(record: Any, visible: ColumnElement[bool] | None) -> tuple[Label[int], Label[int]]:
    """Two aggregates for a query over records: how many there are (``total``) and how many of them
    the caller may see (``seen``; ``visible`` is the collection's need-to-know condition, None when
    the caller sees everything). Rows an outer join left empty (``record`` null) count in neither."""
    total: ColumnElement[int] = func.count(record)
    seen: ColumnElement[int] = total if visible is None else func.count(case((visible, record)))
    return total.label("total"), seen.label("seen")


async def read_tally(session: AsyncSession, stmt: Executable) -> Tally:
    """Run a ``select(*tally(...))`` and read its one row."""
    return Tally.of((await session.execute(stmt)).one())
