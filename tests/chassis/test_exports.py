"""Memo-ready exports (services/chassis/exports.py), on every report, register and diff of every service.

The world of the figures test (tests/chassis/test_figures.py: visible and classified records in every
part) is built once more, and every report the services' OpenAPI documents list is asked, as an admin
and as a reader without clearance, for JSON and for CSV. For each answer:

- the operation documents both media types, the coverage headers and 406;
- the CSV parses, its header line is the documented one (a fixed column order), and its rows are the
  JSON's: per `section`, as many rows as the JSON's list holds, and every cell the JSON's value at that
  place (nested fields dotted), so the CSV has the same numbers as the JSON;
- beside each reference column named in the CSV, the name its owner gives the same caller (fetched here
  one by one, with that caller's token), or `(unresolved: not found)` when the caller may not see it;
- the coverage headers say what the JSON's `coverage` says;
- `Accept: application/xml` is 406 problem+json.

Then need to know in names (an initiative classified after principles last read it: the reader still sees
the explanation about it, never its name) and an owner that is down (`(unresolved: unavailable)`, the
export still answers).

A report found in a document that neither `REPORTS` (of the figures test) nor `NOT_EXPORTS` knows fails."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from services.chassis.exports import UNRESOLVED_NOT_FOUND, UNRESOLVED_UNAVAILABLE, label_of
from services.chassis.routing import parse_href
from tests.chassis.test_figures import (
    REPORTS,
    SERVICES,
    UNCLEARED_UNIT,
    Call,
    World,
    classified_part,
    visible_part,
    world_services,
)
from tests.conftest import Suite
from tests.support import Tokens

NOT_EXPORTS = {("portfolio", "/v1/duplicates")}
"""Paged lists of candidates to review, not reports for a memo."""
VOLATILE = {"generated_at", "as_of", "periods.as_of"}
"""Columns that differ between two requests made a moment apart (a period under way ends now)."""
CSV = "text/csv"


def flat(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def cell(value: Any) -> str:
    """How a JSON value reads in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(cell(v) for v in value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def name_columns(columns: list[str]) -> dict[str, str]:
    """Name column -> the reference column it names."""
    found = {}
    for column in columns:
        if column.endswith(".name") and column.removesuffix(".name") + ".href" in columns:
            found[column] = column.removesuffix(".name") + ".href"
        elif column.endswith("_name") and column.removesuffix("_name") in columns:
            found[column] = column.removesuffix("_name")
    return found


@dataclass
class Exported:
    json: dict[str, Any]
    csv: httpx2.Response
    rows: list[dict[str, str]]
    columns: list[str]


@dataclass
class Exports:
    documented: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Per service: each report's GET operation."""
    answers: dict[tuple[str, str, str, Call], Exported] = field(default_factory=dict)
    """(who, service, template, call) -> the JSON and CSV answers."""
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    """(who, href) -> what its owner calls it for that caller, or the not-found marker."""
    refused: dict[tuple[str, str], httpx2.Response] = field(default_factory=dict)
    hidden_name: dict[str, Any] = field(default_factory=dict)
    down: dict[str, httpx2.Response] = field(default_factory=dict)


def calls_of(report: tuple[str, str], world: World) -> list[Call]:
    """The report's calls, each once (its CSV is asked here anyway)."""
    return list(dict.fromkeys(Call(c.query) for c in REPORTS[report].calls(world)))


async def name_of(suite: Suite, token: dict[str, str], href: str) -> str | None:
    parsed = parse_href(href)
    if parsed is None or parsed.id is None:
        return None
    async with suite.client(parsed.service, token) as client:
        answer = await client.get(href.removeprefix(f"/{parsed.service}"))
    if answer.status_code == 404:
        return UNRESOLVED_NOT_FOUND
    assert answer.status_code == 200, answer.text
    return label_of(answer.json())


@pytest.fixture(scope="module")
async def exports(tmp_path_factory: pytest.TempPathFactory, var_dir: Path, tokens: Tokens) -> AsyncIterator[Exports]:
    async with world_services(tmp_path_factory, var_dir, "exports") as (suite, documented):
        world = World()
        found = Exports(documented=documented)
        await visible_part(suite, tokens, world)
        await classified_part(suite, tokens, world)
        who = {
            "admin": tokens("admin", sub="u-exports-admin", clearance="secret"),
            "reader": tokens("reader", sub="u-exports-reader", clearance="internal", unit=UNCLEARED_UNIT),
        }

        async def ask_all(label: str, token: dict[str, str]) -> None:
            for (service, template), report in REPORTS.items():
                if (service, template) in NOT_EXPORTS or template not in found.documented[service]:
                    continue
                path = report.path(world, template)
                async with suite.client(service, token) as client:
                    for call in calls_of((service, template), world):
                        as_json = await client.get(path, params=call.params, headers={"Accept": "application/json"})
                        as_csv = await client.get(path, params=call.params, headers={"Accept": CSV})
                        assert as_json.status_code == 200, f"{path} {call}: {as_json.text}"
                        assert as_csv.status_code == 200, f"{path} {call}: {as_csv.text}"
                        reader = csv.DictReader(io.StringIO(as_csv.text))
                        rows = list(reader)
                        exported = Exported(as_json.json(), as_csv, rows, list(reader.fieldnames or []))
                        found.answers[(label, service, template, call)] = exported
                        for ref in name_columns(exported.columns).values():
                            for row in rows:
                                if row[ref] and (label, row[ref]) not in found.names:
                                    resolved = await name_of(suite, token, row[ref])
                                    found.names[(label, row[ref])] = resolved or ""
                    found.refused[(service, template)] = await client.get(
                        path,
                        params=calls_of((service, template), world)[0].params,
                        headers={"Accept": "application/xml"},
                    )

        for label, token in who.items():
            await ask_all(label, token)

        # Need to know in names: the initiative explained in the visible part becomes secret. Principles
        # has not read it since (no follower here), so the reader still sees the explanation about it.
        admin = who["admin"]
        async with suite.client("portfolio", admin) as portfolio:
            items = (await portfolio.get("/v1/initiatives", params={"limit": 100})).json()["items"]
            explained = next(i for i in items if i["name"] == "Digitale aangifte")
            reclassified = await portfolio.patch(
                f"/v1/initiatives/{explained['id']}",
                json={"data_classification": "secret"},
                headers={"If-Match": f'"{explained["version"]}"'},
            )
            assert reclassified.status_code == 200, reclassified.text
        async with suite.client("principles", who["reader"]) as principles:
            register = await principles.get("/v1/explanations/register", headers={"Accept": CSV})
            found.hidden_name = {"initiative": explained, "register": register}
        # An owner that is down: the names it would give are unavailable, the rest of the export stands.
        suite.transport.down.add("portfolio.test")
        try:
            async with suite.client("principles", admin) as principles:
                found.down["register"] = await principles.get("/v1/explanations/register", headers={"Accept": CSV})
        finally:
            suite.transport.down.discard("portfolio.test")
        suite.transport.down.add("valuechains.test")
        try:
            async with suite.client("portfolio", admin) as portfolio:
                found.down["ratio"] = await portfolio.get(
                    "/v1/reports/ratio", params={"year": 2026}, headers={"Accept": CSV}
                )
        finally:
            suite.transport.down.discard("valuechains.test")
        yield found


def answers_of(exports: Exports, service: str) -> list[tuple[str, str, Call, Exported]]:
    found = [(who, template, call, e) for (who, s, template, call), e in exports.answers.items() if s == service]
    assert found, f"no report of {service} was exported"
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_report_documents_json_csv_and_406(exports: Exports, service: str) -> None:
    documented = set(exports.documented[service])
    known = {path for s, path in (*REPORTS, *NOT_EXPORTS) if s == service}
    assert documented, f"{service} documents no report"
    assert not documented - known, f"give {sorted(documented - known)} its calls in tests/chassis/test_figures.py"
    for path, operation in exports.documented[service].items():
        if (service, path) in NOT_EXPORTS:
            continue
        ok = operation["responses"]["200"]
        assert {"application/json", CSV} <= set(ok["content"]), f"{path}: {sorted(ok['content'])}"
        assert {"IV-Records-Counted", "IV-Records-Left-Out"} <= set(ok.get("headers", {})), path
        assert "406" in operation["responses"], path
        assert "`Accept: text/csv`" in operation["description"], f"{path}: the description says nothing of CSV"


@pytest.mark.parametrize("service", SERVICES)
def test_the_csv_has_the_rows_and_numbers_of_the_json(exports: Exports, service: str) -> None:
    problems: list[str] = []
    for who, template, call, exported in answers_of(exports, service):
        where = f"{who} {template} {call}"
        response, body = exported.csv, exported.json
        if not response.headers["content-type"].startswith(CSV):
            problems.append(f"{where}: content-type {response.headers['content-type']}")
        disposition = response.headers.get("content-disposition", "")
        if not (disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')):
            problems.append(f"{where}: Content-Disposition {disposition!r}")
        documented = exports.documented[service][template]["responses"]["200"]["content"][CSV]["example"]
        by_round = not ("year" in call.params and template == "/v1/reports/ratio")  # documented: the ratio by round
        if by_round and exported.columns != documented.strip().split(","):
            problems.append(f"{where}: columns {exported.columns}, documented {documented!r}")
        names = name_columns(exported.columns)
        sectioned = exported.columns[0] == "section"
        by_section: dict[str, list[dict[str, str]]] = {}
        for row in exported.rows:
            by_section.setdefault(row["section"] if sectioned else "", []).append(row)
        for section, rows in by_section.items():
            if section == "report":
                listed = [k for k, v in body.items() if isinstance(v, list) and any(isinstance(x, dict) for x in v)]
                parts: list[Any] = [{k: v for k, v in body.items() if k not in (*by_section, "coverage", *listed)}]
            elif section == "":
                parts = next(v for v in body.values() if isinstance(v, list))
            else:
                parts = at_path(body, section.split("."))
            if len(parts) != len(rows):
                problems.append(f"{where} {section}: {len(rows)} CSV rows, {len(parts)} in JSON")
                continue
            for part, row in zip(parts, rows, strict=True):
                values = flat(part)
                for column in exported.columns:
                    if column in VOLATILE or column == "section" or column in names:
                        continue
                    expected = cell(values[column]) if column in values else ""
                    if row[column] != expected:
                        problems.append(f"{where} {section}.{column}: CSV {row[column]!r}, JSON {expected!r}")
        if not any(by_section.values()):
            problems.append(f"{where}: the CSV holds no rows, so it proves nothing")
    assert not problems, "\n".join(problems[:40])


def at_path(body: dict[str, Any], path: list[str], outer: dict[str, Any] | None = None, prefix: str = "") -> list[Any]:
    """The JSON's elements at a section's dotted path, each (when inside others) with the values of
    the elements it is in, as the CSV should have them: ``periods.chains`` -> ``periods.start``."""
    value = body.get(path[0])
    found = value if isinstance(value, list) else [] if value is None else [value]
    if len(path) == 1:
        return [{**outer, **flat(e)} for e in found] if outer is not None else found
    inside: list[Any] = []
    for element in found:
        own = {
            k: v
            for k, v in element.items()
            if k != path[1] and not (isinstance(v, list) and any(isinstance(x, dict) for x in v))
        }
        here = {**(outer or {}), **{f"{prefix}{path[0]}.{k}": v for k, v in flat(own).items()}}
        for row in at_path(element, path[1:], here, f"{prefix}{path[0]}."):
            inside.append(row)
    return inside


@pytest.mark.parametrize("service", SERVICES)
def test_names_stand_beside_hrefs(exports: Exports, service: str) -> None:
    problems: list[str] = []
    resolved = 0
    for who, template, call, exported in answers_of(exports, service):
        for name, ref in name_columns(exported.columns).items():
            for row in exported.rows:
                expected = exports.names.get((who, row[ref]), "") if row[ref] else ""
                if row[name] != expected:
                    problems.append(f"{who} {template} {call} {name}: {row[name]!r}, its owner says {expected!r}")
                resolved += bool(expected) and not expected.startswith("(unresolved")
    assert not problems, "\n".join(problems[:40])
    if service != "valuechains":  # valuechains' reports hold names of their own and no other service's
        assert resolved, f"no name of another service's resource was resolved in {service}'s exports"


@pytest.mark.parametrize("service", SERVICES)
def test_coverage_headers_say_what_the_json_says(exports: Exports, service: str) -> None:
    problems: list[str] = []
    for who, template, call, exported in answers_of(exports, service):
        coverage = exported.json["coverage"]
        parts = {"": coverage} if "basis" in coverage else coverage
        for header, key in (
            ("IV-Records-Basis", "basis"),
            ("IV-Records-Counted", "counted"),
            ("IV-Records-Left-Out", "left_out"),
            ("IV-Records-Not-Visible", "not_visible"),
        ):
            expected = (
                str(coverage[key]) if "basis" in coverage else ", ".join(f"{p}={c[key]}" for p, c in parts.items())
            )
            if exported.csv.headers.get(header) != expected:
                problems.append(f"{who} {template} {call} {header}: {exported.csv.headers.get(header)!r}, {expected!r}")
    assert not problems, "\n".join(problems)


def test_anything_but_json_or_csv_is_406(exports: Exports) -> None:
    assert exports.refused
    for (service, template), response in exports.refused.items():
        assert response.status_code == 406, f"{service} {template}: {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/not-acceptable"


def test_a_name_the_caller_may_not_see_stays_unresolved(exports: Exports) -> None:
    initiative, register = exports.hidden_name["initiative"], exports.hidden_name["register"]
    assert register.status_code == 200, register.text
    rows = [r for r in csv.DictReader(io.StringIO(register.text)) if r["subject"] == initiative["href"]]
    assert rows, "the reader no longer sees the explanation about the reclassified initiative"
    assert {r["subject_name"] for r in rows} == {UNRESOLVED_NOT_FOUND}
    assert initiative["name"] not in register.text


def test_an_owner_that_is_down_leaves_its_names_unavailable(exports: Exports) -> None:
    register, ratio = exports.down["register"], exports.down["ratio"]
    assert register.status_code == 200 and ratio.status_code == 200, (register.text, ratio.text)
    subjects = {r["subject_name"] for r in csv.DictReader(io.StringIO(register.text))}
    assert subjects == {UNRESOLVED_UNAVAILABLE}
    chains = [r for r in csv.DictReader(io.StringIO(ratio.text)) if r["value_chain.href"]]
    assert chains and {r["value_chain.name"] for r in chains} == {UNRESOLVED_UNAVAILABLE}
