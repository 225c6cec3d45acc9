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
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

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
