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


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months on (back, when negative), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
