"""Calendar arithmetic on dates, the same in every service.

``add_months`` moves a date by whole calendar months and keeps its day of the month. A day the
target month does not have becomes that month's last day: 31 March minus one month is 28 February
(29 February in a leap year), 31 August plus one month is 30 September, and 29 February plus or
minus twelve months is 28 February. So the result never leaves the target month, and going back
and forth is not always the identity (31 March - 1 month + 1 month is 28 or 29 March).

Queries compare columns against dates computed here (bound as parameters), never against date
arithmetic in SQL, so SQLite and PostgreSQL agree with Python by construction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: Any) -> Any:
    """A day as the documents say, ``YYYY-MM-DD``: pydantic would also take ``0`` or ``"20260101"``
    as seconds since 1970, or a date with a time, and answer for a day the caller did not mean."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "Input should be a day, YYYY-MM-DD")


IsoDay = Annotated[dt.date, BeforeValidator(iso_day)]
"""A date in a body or a query, taken only as ``YYYY-MM-DD``."""


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months on (back, when negative), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
