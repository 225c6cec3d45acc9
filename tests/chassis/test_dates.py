"""Calendar months: the day of the month is kept, and clamps to the last day the target month has."""

from __future__ import annotations

import datetime as dt

import pytest

from services.chassis.dates import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 6, 15), 0, dt.date(2026, 6, 15)),
        (dt.date(2026, 6, 15), 6, dt.date(2026, 12, 15)),
        (dt.date(2026, 6, 15), -6, dt.date(2025, 12, 15)),
        # Across year ends, both ways.
        (dt.date(2026, 12, 1), 1, dt.date(2027, 1, 1)),
        (dt.date(2026, 1, 1), -1, dt.date(2025, 12, 1)),
        (dt.date(2026, 1, 15), -13, dt.date(2024, 12, 15)),
        (dt.date(2026, 1, 15), 36, dt.date(2029, 1, 15)),
        # Month ends clamp to the last day of the target month.
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
        (dt.date(2028, 3, 31), -1, dt.date(2028, 2, 29)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2026, 8, 31), 1, dt.date(2026, 9, 30)),
        (dt.date(2026, 8, 31), -6, dt.date(2026, 2, 28)),
        (dt.date(2026, 5, 31), -1, dt.date(2026, 4, 30)),
        (dt.date(2026, 4, 30), 1, dt.date(2026, 5, 30)),
        # Leap days: twelve months on or back there is no 29 February.
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2028, 2, 29), -12, dt.date(2027, 2, 28)),
        (dt.date(2028, 2, 29), 48, dt.date(2032, 2, 29)),
        (dt.date(2027, 2, 28), 12, dt.date(2028, 2, 28)),
        # 1900 and 2100 are no leap years, 2000 is.
        (dt.date(2100, 3, 31), -1, dt.date(2100, 2, 28)),
        (dt.date(2000, 3, 31), -1, dt.date(2000, 2, 29)),
        (dt.date(1900, 1, 31), 1, dt.date(1900, 2, 28)),
    ],
)
def test_calendar_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_there_and_back_is_not_always_the_same_day() -> None:
    assert add_months(add_months(dt.date(2026, 3, 31), -1), 1) == dt.date(2026, 3, 28)
    assert add_months(add_months(dt.date(2026, 3, 15), -1), 1) == dt.date(2026, 3, 15)


def test_every_day_of_a_leap_year_stays_in_its_target_month() -> None:
    day = dt.date(2028, 1, 1)
    while day.year == 2028:
        for months in (-25, -12, -1, 1, 6, 12, 25):
            moved = add_months(day, months)
            year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
            assert (moved.year, moved.month) == (year, month + 1)
            assert moved.day == day.day or (moved.day < day.day and (moved + dt.timedelta(days=1)).day == 1)
        day += dt.timedelta(days=1)


def test_dates_outside_the_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="year"):
        add_months(dt.date(1, 1, 31), -1)
    with pytest.raises(ValueError, match="year"):
        add_months(dt.date(9999, 12, 1), 1)
