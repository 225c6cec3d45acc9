"""An initiative's money per calendar year: how a lifetime budget is spread over its years, the rules
on a budget per year, and the money of many initiatives in one year.

**Spreading.** A budget given only as a total (``budget_eur``) is spread over the calendar years the
initiative runs, in proportion to the days of each year it runs (``start`` and ``end`` both count):
1 200 000 from 2026-07-01 to 2027-06-30 is 184 days in 2026 and 181 in 2027, so 604 932 and 595 068.
Whole euros by largest remainder (``services.chassis.rounding``): the years add up to exactly the
total, and a euro left over goes to the year with the largest remainder (the earliest on a tie).
The API and the migration that carried the lifetime budgets over both use :func:`spread`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.errors import ValidationProblem
from services.chassis.rounding import largest_remainder
from services.portfolio.initiatives.models import Initiative, InitiativeBudget

TOTAL = "budget_eur"
PER_YEAR = "budget_per_year"

SPREADING = (
    "Sent without `budget_per_year`, `budget_eur` is spread over the calendar years the initiative runs, in "
    "proportion to the days of each year from `start` to `end` (both included), in whole euros by largest "
    "remainder: the years add up to exactly `budget_eur`, and a euro left over goes to the year with the "
    "largest remainder (the earliest on a tie)."
)


def days_per_year(start: dt.date, end: dt.date) -> dict[int, int]:
    """The days from ``start`` to ``end`` (both included) in each calendar year, in order."""
    return {
        year: (min(end, dt.date(year, 12, 31)) - max(start, dt.date(year, 1, 1))).days + 1
        for year in range(start.year, end.year + 1)
    }


def spread(total: int, start: dt.date, end: dt.date) -> dict[int, int]:
    """``total`` whole euros over the years from ``start`` to ``end``, in proportion to their days."""
    days = days_per_year(start, end)
    return dict(zip(days, largest_remainder(list(days.values()), total), strict=True))


def _per_year(sent: Sequence[Mapping[str, Any]], start: dt.date, end: dt.date) -> dict[int, int]:
    """A budget per year as sent, checked: each year once, and within the initiative's years."""
    years: dict[int, int] = {}
    for index, entry in enumerate(sent):
        year, amount = int(entry["year"]), int(entry["budget_eur"])
        loc: list[str | int] = ["body", PER_YEAR, index, "year"]
        if year in years:
            raise ValidationProblem.field(loc, f"{year} is given twice; give each year at most once", "duplicate_year")
        if not start.year <= year <= end.year:
            raise ValidationProblem.field(
                loc,
                f"{year} is outside the initiative's years ({start.year} to {end.year}, from its start and end)",
                "year_outside",
            )
        years[year] = amount
    return dict(sorted(years.items()))


def settle(obj: Initiative | None, values: dict[str, Any], start: dt.date, end: dt.date) -> None:
    """Turn the budget a body sends (``budget_eur``, ``budget_per_year``, or neither) into the rows to
    store (``values["budgets"]``, only when they change), under the initiative's final dates.

    - ``budget_per_year``: as sent (each year once, within ``start``..``end``); with ``budget_eur``
      too, the two must agree.
    - only ``budget_eur``: spread over the years (:func:`spread`). On an update that keeps the dates,
      the total the initiative already has changes nothing (its years stay as they are).
    - neither: required on create; on an update the years stay, and new dates must keep every year
      with money (a year without money that falls outside is dropped).
    """
    total, sent = values.pop(TOTAL, None), values.pop(PER_YEAR, None)
    stored = {b.year: b.budget_eur for b in obj.budgets} if obj is not None else None
    dates_kept = obj is not None and (obj.start, obj.end) == (start, end)
    if sent is not None:
        years = _per_year(sent, start, end)
        if total is not None and total != sum(years.values()):
            msg = f"budget_eur ({total}) is not the sum of budget_per_year ({sum(years.values())}); send one of them"
            raise ValidationProblem(
                msg,
                errors=[{"loc": ["body", field], "msg": msg, "type": "budget_mismatch"} for field in (TOTAL, PER_YEAR)],
            )
    elif total is not None and not (stored is not None and dates_kept and total == sum(stored.values())):
        years = spread(total, start, end)
    elif stored is None:
        msg = f"send budget_eur (spread over the years) or budget_per_year; {SPREADING}"
        raise ValidationProblem(
            "send budget_eur or budget_per_year",
            errors=[{"loc": ["body", field], "msg": msg, "type": "missing"} for field in (TOTAL, PER_YEAR)],
        )
    else:
        assert obj is not None
        years = _kept(obj, stored, values, start, end)
    if years != stored:
        values["budgets"] = [InitiativeBudget(year=year, budget_eur=amount) for year, amount in years.items()]


def _kept(
    obj: Initiative, stored: dict[int, int], values: Mapping[str, Any], start: dt.date, end: dt.date
) -> dict[int, int]:
    """The stored years under new dates: 422 naming the date that leaves a year with money outside."""
    outside = {year: amount for year, amount in stored.items() if not start.year <= year <= end.year}
    with_money = {year: amount for year, amount in outside.items() if amount > 0}
    if with_money:
        moved = [field for field in ("start", "end") if field in values and values[field] != getattr(obj, field)]
        listed = ", ".join(f"{year} ({amount} euros)" for year, amount in with_money.items())
        msg = (
            f"the initiative would run {start.year} to {end.year}, leaving its money in {listed} outside its years; "
            "send budget_per_year (or budget_eur, to spread it anew) with the new dates"
        )
        raise ValidationProblem(
            msg,
            errors=[
                {"loc": ["body", field], "msg": msg, "type": "money_outside_years"}
                for field in moved or ("start", "end")
            ],
        )
    return {year: amount for year, amount in stored.items() if year not in outside}


async def money_in_year(session: AsyncSession, initiative_ids: Sequence[str], year: int) -> dict[str, int]:
    """Each initiative's money in ``year`` (0 when it has none), whoever may see it."""
    rows = await session.execute(
        select(InitiativeBudget.initiative_id, InitiativeBudget.budget_eur).where(
            InitiativeBudget.initiative_id.in_(list(initiative_ids)), InitiativeBudget.year == year
        )
    )
    found = {initiative_id: int(amount) for initiative_id, amount in rows.all()}
    return {initiative_id: found.get(initiative_id, 0) for initiative_id in initiative_ids}
