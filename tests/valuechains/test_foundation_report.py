"""The foundation report against hand-computed numbers, on a fixed day (``as_of``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.chassis.dates import add_months
from tests.conftest import Suite
from tests.support import Tokens
from tests.valuechains.helpers import findings, make_application, make_chain

AS_OF = "2026-06-15"


async def foundation_fixture(admin: Any) -> dict[str, Any]:
    """A: four active applications around every boundary (and one archived); B: one; C: none;
    D: an archived chain. Measured on 2026-06-15: support ends within 6 months up to 2026-12-15,
    and a release counts as recent from 2025-06-15."""
    chains = {name: await make_chain(admin) for name in "ABCD"}
    a, b, d = chains["A"], chains["B"], chains["D"]
    made = {
        # Past support (its last day was yesterday), last released one day too long ago, phased out with criticals.
        "a1": await make_application(
            admin,
            a,
            name="Oud systeem",
            disposition="eliminate",
            supported_until="2026-06-14",
            last_release="2025-06-14",
            findings=findings(2, 1, 5, 5),
        ),
        # Supported through today (ends within 6 months), released exactly 12 months ago (still recent).
        "a2": await make_application(
            admin,
            a,
            name="Randgeval",
            supported_until=AS_OF,
            last_release="2025-06-15",
            findings=findings(0, 4),
        ),
        # Support ends exactly 6 months from today: within; released after as_of; secret and flagged.
        "a3": await make_application(
            admin,
            a,
            name="Geheim uit te faseren",
            disposition="eliminate",
            supported_until="2026-12-15",
            last_release="2026-07-01",
            findings=findings(critical=1),
            data_classification="secret",
        ),
        # One day beyond the 6 months; eliminate without critical findings is not flagged.
        "a4": await make_application(
            admin,
            a,
            name="Net buiten",
            disposition="eliminate",
            supported_until="2026-12-16",
            last_release="2026-01-01",
            findings=findings(0, 0, 7, 7),
        ),
        "a5": await make_application(admin, a, supported_until="2020-01-01", findings=findings(9, 9)),
        "b1": await make_application(
            admin,
            b,
            disposition="tolerate",
            supported_until="2024-01-31",
            last_release="2023-02-28",
            findings=findings(0, 2),
            data_classification="confidential",
        ),
        "d1": await make_application(admin, d, supported_until="2020-01-01", findings=findings(5, 5)),
    }
    assert (await admin.delete(f"/v1/applications/{made['a5']['id']}")).status_code == 200
    forced = await admin.delete(f"/v1/chains/{d['id']}", params={"force": "true", "reason": "test: left out"})
    assert forced.status_code == 200, forced.text
    return {"chains": chains, "applications": made}


def chain_params(chains: dict[str, Any], **extra: str) -> list[tuple[str, Any]]:
    return [("chain", c["href"]) for c in chains.values()] + list(extra.items())


async def test_foundation_report_matches_hand_computed_numbers(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        fixture = await foundation_fixture(admin)
    chains, apps = fixture["chains"], fixture["applications"]
    async with suite.client("valuechains", tokens("reader")) as reader:
        response = await reader.get("/v1/reports/foundation", params=chain_params(chains, as_of=AS_OF))
        assert response.status_code == 200, response.text
        report = response.json()
    assert report["as_of"] == AS_OF
    assert report["weights"] == {
        "critical_finding": 10,
        "high_finding": 3,
        "application_past_support": 5,
        "application_support_ending": 2,
        "application_without_recent_release": 1,
    }
    rows = {row["code"]: row for row in report["chains"]}
    code = {name: c["code"] for name, c in chains.items()}
    assert code["D"] not in rows  # archived chain left out, even when asked for
    assert [r["code"] for r in report["chains"]] == sorted(rows)
    assert rows[code["A"]] == {
        "chain": {"href": chains["A"]["href"]},
        "code": code["A"],
        "name": "Testketen",
        "applications": 4,  # the archived one does not count; the secret one does
        "applications_past_support": 1,  # a1
        "applications_support_ending": 2,  # a2 (ends today) and a3 (ends in exactly 6 months)
        "applications_without_recent_release": 1,  # a1 (a2 is exactly 12 months old)
        "oldest_release": "2025-06-14",
        "max_release_age_days": 366,
        "open_critical_findings": 3,
        "open_high_findings": 5,
        "eliminate_with_critical_findings": 2,  # a1 and a3, not a4
        "technical_debt_score": 55,  # 10*3 + 3*5 + 5*1 + 2*2 + 1*1
        "technical_debt_per_application": 13.8,  # 55 / 4 = 13.75, half up
    }
    assert rows[code["B"]] == {
        "chain": {"href": chains["B"]["href"]},
        "code": code["B"],
        "name": "Testketen",
        "applications": 1,
        "applications_past_support": 1,
        "applications_support_ending": 0,
        "applications_without_recent_release": 1,
        "oldest_release": None,  # its one application is confidential: a date would describe it
        "max_release_age_days": None,
        "open_critical_findings": 0,
        "open_high_findings": 2,
        "eliminate_with_critical_findings": 0,
        "technical_debt_score": 12,  # 3*2 + 5*1 + 1*1
        "technical_debt_per_application": 12.0,
    }
    assert rows[code["C"]] == {
        "chain": {"href": chains["C"]["href"]},
        "code": code["C"],
        "name": "Testketen",
        "applications": 0,
        "applications_past_support": 0,
        "applications_support_ending": 0,
        "applications_without_recent_release": 0,
        "oldest_release": None,
        "max_release_age_days": None,
        "open_critical_findings": 0,
        "open_high_findings": 0,
        "eliminate_with_critical_findings": 0,
        "technical_debt_score": 0,
        "technical_debt_per_application": None,
    }
    assert report["overall"] == {
        "chains": 3,
        "applications": 5,
        "applications_past_support": 2,
        "applications_support_ending": 2,
        "applications_without_recent_release": 2,
        "oldest_release": "2025-06-14",  # of those this reader may see
        "max_release_age_days": 366,
        "open_critical_findings": 3,
        "open_high_findings": 7,
        "eliminate_with_critical_findings": 2,
        "technical_debt_score": 67,
        "technical_debt_per_application": 13.4,
    }
    # A reader without clearance sees the flagged internal application; the secret one only as a count.
    assert report["flagged"] == [
        {
            "application": {"href": apps["a1"]["href"]},
            "name": "Oud systeem",
            "chain": {"href": chains["A"]["href"]},
            "code": code["A"],
            "open_critical_findings": 2,
        }
    ]
    assert report["flagged_not_shown"] == 1
    # Five active applications counted, two of them (a3 secret, b1 confidential) hidden from this reader:
    # the counts include them, the oldest release and the flagged list are taken from the other three.
    assert report["coverage"] == {
        "counts": {"basis": "all", "counted": 5, "left_out": 0, "not_visible": 2},
        "details": {"basis": "visible", "counted": 3, "left_out": 2, "not_visible": 0},
    }


async def test_flagged_applications_follow_clearance_and_findings(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        fixture = await foundation_fixture(admin)
    chains, apps = fixture["chains"], fixture["applications"]
    params = chain_params(chains, as_of=AS_OF)
    async with suite.client("valuechains", tokens("reader", clearance="secret")) as cleared:
        report = (await cleared.get("/v1/reports/foundation", params=params)).json()
        assert [f["application"]["href"] for f in report["flagged"]] == [apps["a3"]["href"], apps["a1"]["href"]]
        assert report["flagged_not_shown"] == 0
        assert report["coverage"]["counts"] == {"basis": "all", "counted": 5, "left_out": 0, "not_visible": 0}
        assert report["coverage"]["details"] == {"basis": "visible", "counted": 5, "left_out": 0, "not_visible": 0}
    async with suite.client("valuechains", tokens("admin")) as admin:
        closed = await admin.patch(
            f"/v1/applications/{apps['a1']['id']}", json={"findings": {"critical": 0}}, headers={"If-Match": '"1"'}
        )
        assert closed.status_code == 200
        report = (await admin.get("/v1/reports/foundation", params=params)).json()
        assert [f["application"]["href"] for f in report["flagged"]] == [apps["a3"]["href"]]
        row = next(r for r in report["chains"] if r["code"] == chains["A"]["code"])
        assert row["open_critical_findings"] == 1 and row["eliminate_with_critical_findings"] == 1
        assert row["technical_debt_score"] == 55 - 2 * 10


async def test_as_of_moves_the_measuring_day(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        fixture = await foundation_fixture(admin)
        params: list[tuple[str, Any]] = [("chain", fixture["chains"]["A"]["href"])]

        async def row(as_of: str | None) -> dict[str, Any]:
            extra = [("as_of", as_of)] if as_of else []
            response = await admin.get("/v1/reports/foundation", params=params + extra)
            assert response.status_code == 200, response.text
            report: dict[str, Any] = response.json()
            # One chain in the report: its row and the overall figures are the same numbers.
            [chain_row] = report["chains"]
            assert all(chain_row[k] == v for k, v in report["overall"].items() if k != "chains")
            return report

        # A year earlier nothing was past support yet, everything ends later than 6 months away,
        # and the release of 2026-07-01 lies in the future (its age counts as 0, not negative).
        early = (await row("2025-06-15"))["overall"]
        assert early["applications"] == 4
        assert (early["applications_past_support"], early["applications_support_ending"]) == (0, 0)
        assert early["applications_without_recent_release"] == 0
        assert early["max_release_age_days"] == 1
        later = (await row("2027-01-01"))["overall"]
        assert later["applications_past_support"] == 4 and later["applications_support_ending"] == 0
        # Without as_of the report is for today (UTC).
        before = dt.datetime.now(dt.UTC).date()
        today = await row(None)
        assert today["as_of"] in {before.isoformat(), dt.datetime.now(dt.UTC).date().isoformat()}
        for bad in ("2026-02-30", "15-06-2026", "1969-12-31", "2200-01-01", "9999-12-31", "today"):
            response = await admin.get("/v1/reports/foundation", params=[("as_of", bad)])
            assert response.status_code == 422, (bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        assert (await admin.get("/v1/reports/foundation", params=[("colour", "blue")])).status_code == 400


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 6, 15), 6, dt.date(2026, 12, 15)),
        (dt.date(2026, 6, 15), -12, dt.date(2025, 6, 15)),
        (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
        (dt.date(2028, 2, 29), -12, dt.date(2027, 2, 28)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2026, 12, 1), 1, dt.date(2027, 1, 1)),
    ],
)
def test_months_are_calendar_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


async def test_the_oldest_release_describes_only_applications_the_reader_may_see(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as admin:
        chain = await make_chain(admin)
        await make_application(admin, chain, last_release="2019-03-07", data_classification="secret")
        await make_application(admin, chain, last_release="2024-01-10", data_classification="internal")
    params = {"chain": chain["id"], "as_of": "2026-06-15"}
    async with suite.client("valuechains", tokens("reader")) as reader:
        [row] = (await reader.get("/v1/reports/foundation", params=params)).json()["chains"]
    assert row["applications"] == 2  # counts include what the reader may not see
    assert row["oldest_release"] == "2024-01-10"  # a date would describe the hidden one
    async with suite.client("valuechains", tokens("reader", clearance="secret")) as cleared:
        [row] = (await cleared.get("/v1/reports/foundation", params=params)).json()["chains"]
    assert row["oldest_release"] == "2019-03-07"
