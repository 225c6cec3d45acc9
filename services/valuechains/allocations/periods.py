"""Periods an allocation can be for: a year (2027), a half (2027-H1) or a quarter (2027-Q3)."""

import re
from collections.abc import Sequence

from services.chassis.errors import ValidationProblem

PERIOD_PATTERN = r"^(19|20|21)[0-9]{2}(-(H[12]|Q[1-4]))?$"
PERIOD_HELP = "a year (2027), a half year (2027-H1, 2027-H2) or a quarter (2027-Q1 to 2027-Q4)"
_PERIOD = re.compile(PERIOD_PATTERN)


def parse_period(value: str, loc: Sequence[str]) -> str:
    """The period as given when it is one; 422 naming ``loc`` otherwise."""
    if not _PERIOD.match(value):
        raise ValidationProblem.field(
            list(loc), f"{value!r} is not a period: use {PERIOD_HELP}, years 1900 to 2199", "period_format"
        )
    return value
