"""What the compliance report and the register are computed over, said in `coverage`
(services.chassis.figures): counts of assessments count every assessment, what names subjects or
explanations is over what the caller may see, and each part says how much it left out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from tests.conftest import Suite
from tests.principles.helpers import architect, evaluate, make_chain, make_initiative, make_principle
from tests.principles.test_reports import explain, report, retire_all_active, today
from tests.support import Tokens

BUDGET_RULE = "subject.budget_eur <= 1500000"


def everything(counted: int, not_visible: int) -> dict[str, Any]:
    return {"basis": "all", "counted": counted, "left_out": 0, "not_visible": not_visible}


def visible(counted: int, left_out: int) -> dict[str, Any]:
    return {"basis": "visible", "counted": counted, "left_out": left_out, "not_visible": 0}


async def register(client: Any) -> tuple[dict[str, Any], list[dict[str, str]], dict[str, str]]:
    as_json = await client.get("/v1/explanations/register")
    as_csv = await client.get("/v1/explanations/register", headers={"Accept": "text/csv"})
    assert as_json.status_code == as_csv.status_code == 200
    assert as_json.headers["IV-Records-Counted"] == as_csv.headers["IV-Records-Counted"]
    assert as_json.headers["IV-Records-Left-Out"] == as_csv.headers["IV-Records-Left-Out"]
    headers = {k: as_csv.headers[k] for k in ("IV-Records-Counted", "IV-Records-Left-Out")}
    return as_json.json(), list(csv.DictReader(io.StringIO(as_csv.text))), headers


async def test_compliance_counts_everything_and_lists_what_the_caller_may_see(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    await retire_all_active(suite, tokens)  # only this test's principle judges, in this test's transaction
    subjects = {
        name: await make_initiative(suite, tokens, chain, budget_eur=budget, data_classification=classification)
        for name, budget, classification in (
            ("v1", 2_000_000, "internal"),  # deviates, open
            ("v2", 1_000_000, "internal"),  # complies
            ("v3", 2_500_000, "internal"),  # deviates, explained
            ("s1", 3_000_000, "secret"),  # deviates, explained (expiring)
            ("s2", 1_000_000, "confidential"),  # complies
            ("s3", 2_000_000, "secret"),  # deviates, open
        )
    }
    reader = tokens("reader", sub="u-figures-reader", clearance="internal", unit="Eenheid Zeeland")
    async with (
        suite.client("principles", architect(tokens, sub="arch-figures-1")) as one,
        suite.client("principles", architect(tokens, sub="arch-figures-2")) as two,
        suite.client("principles", reader) as uncleared,
    ):
        registered_before = [await register(c) for c in (one, uncleared)]
        explained_before = [(await report(c, "principle"))["coverage"]["explanations"] for c in (one, uncleared)]
        principle = await make_principle(one, rule=BUDGET_RULE, category="finance_control")
        for subject in subjects.values():
            await evaluate(one, subject["href"])
        x_v3 = await explain(one, two, principle, subjects["v3"], today() + dt.timedelta(days=300))
        x_s1 = await explain(one, two, principle, subjects["s1"], today() + dt.timedelta(days=30))

        for group_by in ("category", "principle", "subject"):
            cleared, shown = await report(one, group_by), await report(uncleared, group_by)
            # Counts: the same for both, every assessment; what the reader may not see is said.
            assert shown["totals"] == cleared["totals"]
            assert shown["totals"] == {
                "complies": 2,
                "deviates": 2,
                "explained": 2,
                "not_applicable": 0,
                "error": 0,
                "total": 6,
            }
            assert cleared["coverage"]["counts"] == everything(6, 0)
            assert shown["coverage"]["counts"] == everything(6, 3)
            # Details: over the assessments the reader may see; three are left out.
            assert cleared["coverage"]["details"] == visible(6, 0)
            assert shown["coverage"]["details"] == visible(3, 3)
            assert [d["subject"]["href"] for d in cleared["open_deviations"]] == sorted(
                [subjects["v1"]["href"], subjects["s3"]["href"]]
            )
            assert [d["subject"]["href"] for d in shown["open_deviations"]] == [subjects["v1"]["href"]]
            if group_by == "subject":
                # A group names its subject: only those the reader may see, adding up to the visible part.
                assert {g["key"] for g in shown["groups"]} == {subjects[n]["href"] for n in ("v1", "v2", "v3")}
                assert sum(g["total"] for g in shown["groups"]) == 6 - 3
                assert sum(g["total"] for g in cleared["groups"]) == 6
            else:
                assert shown["groups"] == cleared["groups"]
                assert sum(g["total"] for g in shown["groups"]) == 6
            # Explanations: over the approved ones the reader may see; the secret one is left out.
            before_cleared, before_shown = explained_before
            assert cleared["coverage"]["explanations"] == visible(before_cleared["counted"] + 2, 0)
            assert shown["coverage"]["explanations"] == visible(
                before_shown["counted"] + 1, before_shown["left_out"] + 1
            )
            expiring = {i["explanation"]["href"] for i in shown["expiring_explanations"]}
            assert x_s1["href"] in {i["explanation"]["href"] for i in cleared["expiring_explanations"]}
            assert x_s1["href"] not in expiring and x_v3["href"] not in expiring

        # The register: the explanations the reader may see, and how many were left out, in JSON and CSV.
        (all_json, all_csv, all_headers), (some_json, some_csv, some_headers) = [
            await register(c) for c in (one, uncleared)
        ]
        for (before_json, _, _), after_json, after_csv, headers, hidden in (
            (registered_before[0], all_json, all_csv, all_headers, 0),
            (registered_before[1], some_json, some_csv, some_headers, 1),
        ):
            assert after_json["coverage"] == visible(
                before_json["coverage"]["counted"] + 2 - hidden, before_json["coverage"]["left_out"] + hidden
            )
            assert after_json["coverage"]["counted"] == after_json["count"] == len(after_csv)
            assert headers == {
                "IV-Records-Counted": str(after_json["coverage"]["counted"]),
                "IV-Records-Left-Out": str(after_json["coverage"]["left_out"]),
            }
        assert x_s1["href"] not in {row["href"] for row in some_csv}
        assert x_v3["href"] in {row["href"] for row in some_csv}
