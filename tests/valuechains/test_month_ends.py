"""The foundation figures at month ends: the database counts exactly the days ``add_months`` computes.

The queries compare against dates computed in Python, so a month end clamps the same way in SQL as in
``services.chassis.dates.add_months``: measured on 31 August, support ending within six months runs
up to 28 February, and a release counts as recent from 31 August a year earlier.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.chassis.dates import add_months
from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import make_application, make_chain


@pytest.mark.parametrize(
    ("as_of", "last_supported", "oldest_recent_release"),
    [
        ("2026-08-31", "2027-02-28", "2025-08-31"),
        ("2027-08-31", "2028-02-29", "2026-08-31"),  # support ends in a leap February
        ("2028-02-29", "2028-08-29", "2027-02-28"),  # measured on a leap day
        ("2026-03-31", "2026-09-30", "2025-03-31"),
    ],
)
async def test_the_database_agrees_with_add_months_at_month_ends(
    suite: Suite, tokens: Tokens, as_of: str, last_supported: str, oldest_recent_release: str
) -> None:
    day = dt.date.fromisoformat(as_of)
    assert add_months(day, 6).isoformat() == last_supported
    assert add_months(day, -12).isoformat() == oldest_recent_release
    after = (dt.date.fromisoformat(last_supported) + dt.timedelta(days=1)).isoformat()
    before = (dt.date.fromisoformat(oldest_recent_release) - dt.timedelta(days=1)).isoformat()
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        # Within the horizon on its last day, and recently released on the first day that counts.
        await make_application(admin, chain, supported_until=last_supported, last_release=oldest_recent_release)
        # One day later and one day earlier: outside.
        await make_application(admin, chain, supported_until=after, last_release=before)
        response = await admin.get("/v1/reports/foundation", params={"chain": chain["id"], "as_of": as_of})
    assert response.status_code == 200, response.text
    overall: dict[str, Any] = response.json()["overall"]
    assert overall["applications"] == 2
    assert overall["applications_past_support"] == 0
    assert overall["applications_support_ending"] == 1
    assert overall["applications_without_recent_release"] == 1
