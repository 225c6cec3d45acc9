"""Figures under need to know (services.chassis.figures), end to end: no figure of any report, register
or diff silently depends on who asks.

One world of its own (fresh databases) is built in two steps. First the records everyone may see: a
chain with teams, an allocation and applications; initiatives, EBOs and two rounds; a principle with
assessments and an explanation. Every report is then asked as an admin: those answers are the figures
over the visible records. Then classified records are added to every part of the world (applications,
initiatives and their round items, an EBO, assessments and an explanation about a secret initiative),
and every report is asked again, as the admin and as a reader without clearance.

For each report, taken from the services' OpenAPI documents by path (`/v1/reports/*`, `*/diff`,
`/v1/duplicates`, `/v1/explanations/register`), the answer must carry `coverage`, and for each of its
parts (`REPORTS` says which figures each part covers, and its basis):

- basis `visible`: the reader's figures are exactly the admin's over the visible records, the reader
  counts as many records as there are visible ones, and the admin counts the reader's plus what was
  left out for the reader;
- basis `all`: the reader's figures are the admin's, both count the same records, and the reader is
  told exactly how many of them they may not see (the classified ones added).

A report found in a document that the table does not know fails the test: give it its calls and its
figures below, so that a new report is covered the day it is added."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from services.chassis.figures import Basis, Coverage
from tests.conftest import Suite, committed_services, migrated_databases
from tests.portfolio.helpers import ebo_body, initiative_body, round_body
from tests.principles.helpers import architect, evaluate, make_principle
from tests.principles.test_reports import explain
from tests.support import Tokens
from tests.valuechains.helpers import application_body, chain_body, findings, split, team_body

SERVICES = ("valuechains", "portfolio", "principles")
AS_OF = "2026-12-01"
PERIOD = "2026"
YEAR = 2026
BUDGET_RULE = "subject.budget_eur <= 1500000"
UNCLEARED_UNIT = "Eenheid Zeeland"
REGISTERS = {"/v1/duplicates", "/v1/explanations/register"}


def is_report(path: str) -> bool:
    """The answers that hold figures, as the OpenAPI documents name them."""
    return path.startswith("/v1/reports/") or path.endswith("/diff") or path in REGISTERS


# --- the world --------------------------------------------------------------------------------------


@dataclass
class World:
    chain: dict[str, Any] = field(default_factory=dict)
    rounds: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The round diffed ("after") and the one it is diffed against ("before")."""
    principle: dict[str, Any] = field(default_factory=dict)
    application: dict[str, Any] = field(default_factory=dict)
    """A visible application with critical findings, which a visible and a secret initiative address."""


async def created(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def today_plus(days: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)


async def visible_part(suite: Suite, tokens: Tokens, world: World) -> None:
    """What every reader may see."""
    admin = tokens("admin", sub="u-figures-admin", clearance="secret")
    async with suite.client("valuechains", admin) as valuechains:
        chain = await created(valuechains, "/v1/chains", chain_body())
        for team in (team_body(fte_internal=4, fte_hired=1.5), team_body(name="Beta", fte_hired=3)):
            await created(valuechains, f"/v1/chains/{chain['id']}/teams", team)
        put = await valuechains.put(f"/v1/chains/{chain['id']}/allocations/{PERIOD}", json=split(budget_eur=2_000_000))
        assert put.status_code == 201, put.text
        old, _ = [
            await created(valuechains, f"/v1/chains/{chain['id']}/applications", body)
            for body in (
                application_body(
                    name="Oud", disposition="eliminate", findings=findings(2, 1), last_release="2024-01-01"
                ),
                application_body(name="Nieuw", last_release="2025-05-01"),
            )
        ]
    async with suite.client("portfolio", admin) as portfolio:
        href = chain["href"]
        retires = [{"application": {"href": old["href"]}, "effect": "retires"}]
        i1 = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(href, name="Digitale aangifte", budget_eur=2_000_000, applications=retires),
        )
        i2 = await created(portfolio, "/v1/initiatives", initiative_body(href, name="Digitale aangifte online"))
        i3 = await created(
            portfolio, "/v1/initiatives", initiative_body(href, name="Beheer HR-systeem", kind="maintenance")
        )
        await created(portfolio, "/v1/ebos", ebo_body())
        await created(portfolio, "/v1/ebos", ebo_body(unit="Eenheid Amsterdam", name="Verhoor Planner"))
        before = await created(portfolio, "/v1/rounds", round_body(name="Voor", period="2026-T1"))
        for initiative, rank, decision in ((i1, 10, "continue"), (i2, 20, "start")):
            body = {"initiative": {"href": initiative["href"]}, "rank": rank, "decision": decision, "note": "Voor."}
            await created(portfolio, f"/v1/rounds/{before['id']}/items", body)
        after = await created(
            portfolio, "/v1/rounds", round_body(name="Na", period="2026-T2", from_round={"href": before["href"]})
        )
        stopped = next(i for i in after["items"] if i["initiative"]["href"] == i2["href"])
        patched = await portfolio.patch(
            stopped["href"].removeprefix("/portfolio"),
            json={"decision": "stop", "note": "Gestopt."},
            headers={"If-Match": f'"{stopped["version"]}"'},
        )
        assert patched.status_code == 200, patched.text
        body = {"initiative": {"href": i3["href"]}, "rank": 30, "decision": "start", "budget_eur": 400_000}
        await created(portfolio, f"/v1/rounds/{after['id']}/items", body)
    world.chain, world.rounds, world.application = chain, {"before": before, "after": after}, old
    first, second = architect(tokens, sub="arch-figures-1"), architect(tokens, sub="arch-figures-2")
    async with suite.client("principles", first) as one, suite.client("principles", second) as two:
        principle = await make_principle(one, rule=BUDGET_RULE, category="finance_control")
        for initiative in (i1, i2, i3):
            await evaluate(one, initiative["href"])
        await explain(one, two, principle, i1, today_plus(30))
    world.principle = principle


async def classified_part(suite: Suite, tokens: Tokens, world: World) -> None:
    """Classified records in every part of the world: the reader may see none of them."""
    chain = world.chain
    admin = tokens("admin", sub="u-figures-admin", clearance="secret")
    async with suite.client("valuechains", admin) as valuechains:
        for body in (
            application_body(
                name="Geheim oud",
                disposition="eliminate",
                findings=findings(1, 4),
                last_release="2019-01-01",
                supported_until="2020-01-01",
                data_classification="secret",
            ),
            application_body(name="Vertrouwelijk", data_classification="confidential"),
        ):
            await created(valuechains, f"/v1/chains/{chain['id']}/applications", body)
    async with suite.client("portfolio", admin) as portfolio:
        href = chain["href"]
        s1 = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(
                href,
                name="Digitale aangifte geheim",
                budget_eur=3_000_000,
                data_classification="secret",
                applications=[{"application": {"href": world.application["href"]}, "effect": "renews"}],
            ),
        )
        s2 = await created(
            portfolio,
            "/v1/initiatives",
            initiative_body(href, name="Geheime inlichtingen", budget_eur=2_000_000, data_classification="secret"),
        )
        await created(portfolio, "/v1/ebos", ebo_body(name="Verhoorplanner geheim", data_classification="secret"))
        before, after = world.rounds["before"], world.rounds["after"]
        for round_, initiative, rank, budget in (
            (before, s1, 40, 3_000_000),
            (after, s1, 40, 2_500_000),  # a budget move the reader may not see
            (after, s2, 50, 2_000_000),  # added, hidden
        ):
            body = {
                "initiative": {"href": initiative["href"]},
                "rank": rank,
                "decision": "continue",
                "budget_eur": budget,
            }
            await created(portfolio, f"/v1/rounds/{round_['id']}/items", {**body, "note": "Geheim."})
    first, second = architect(tokens, sub="arch-figures-1"), architect(tokens, sub="arch-figures-2")
    async with suite.client("principles", first) as one, suite.client("principles", second) as two:
        for initiative in (s1, s2):  # both deviate; s1 is explained, s2 stays open
            await evaluate(one, initiative["href"])
        await explain(one, two, world.principle, s1, today_plus(30))


# --- the reports and their figures ------------------------------------------------------------------


def omit(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data[k] for k in keys}


Figures = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Part:
    basis: Basis
    figures: Figures
    """The figures this part of `coverage` covers, taken from an answer."""


@dataclass(frozen=True)
class Call:
    query: tuple[tuple[str, Any], ...] = ()
    accept: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.query)


def query(**params: Any) -> Call:
    return Call(tuple(params.items()))


@dataclass(frozen=True)
class Report:
    parts: Callable[[Call], dict[str, Part]]
    """Per part of `coverage` ("" when it is one Coverage): its basis and its figures."""
    calls: Callable[[World], list[Call]] = lambda world: [Call()]
    path: Callable[[World, str], str] = lambda world, template: template
    classified: bool = True
    """False when the report's records carry no classification (nothing can be hidden from anyone)."""


RELEASE = ("oldest_release", "max_release_age_days")


def foundation_counts(answer: dict[str, Any]) -> Any:
    return {
        "chains": [omit(row, *RELEASE) for row in answer["chains"]],
        "overall": omit(answer["overall"], *RELEASE),
    }


def foundation_details(answer: dict[str, Any]) -> Any:
    return {
        "chains": [pick(row, "code", *RELEASE) for row in answer["chains"]],
        "overall": pick(answer["overall"], *RELEASE),
        "flagged": answer["flagged"],
        "attention": answer["attention"],
        "unaddressed": answer["unaddressed"],
    }


def compliance(call: Call) -> dict[str, Part]:
    by_subject = call.params["group_by"] == "subject"
    return {
        "counts": Part("all", lambda a: {"totals": a["totals"], **({} if by_subject else {"groups": a["groups"]})}),
        "details": Part(
            "visible",
            lambda a: {
                "open_deviations": a["open_deviations"],
                "missing_reviews": a["missing_reviews"],
                **({"groups": a["groups"]} if by_subject else {}),
            },
        ),
        "explanations": Part(
            "visible", lambda a: pick(a, "expired_explanations", "expiring_explanations", "late_explanations")
        ),
    }


def whole(basis: Basis, *volatile: str) -> Callable[[Call], dict[str, Part]]:
    """One Coverage over the whole answer (less what changes by the moment it is made)."""
    return lambda call: {"": Part(basis, lambda a: omit(a, "coverage", *volatile))}


REPORTS: dict[tuple[str, str], Report] = {
    ("valuechains", "/v1/reports/staffing"): Report(whole("all"), classified=False),
    ("valuechains", "/v1/reports/staffing/history"): Report(
        # The period under way is measured at the moment of asking (`as_of`), so that is left out; each
        # period's own coverage is of the same basis as the answer's.
        lambda call: {"": Part("all", lambda a: [omit(p, "as_of") for p in a["periods"]])},
        calls=lambda world: [query(period="month"), query(period="quarter")],
        classified=False,
    ),
    ("valuechains", "/v1/reports/maturity"): Report(whole("all", "as_of"), classified=False),
    ("valuechains", "/v1/reports/allocations"): Report(
        whole("visible"), calls=lambda world: [query(period=PERIOD)], classified=False
    ),
    ("valuechains", "/v1/reports/foundation"): Report(
        lambda call: {"counts": Part("all", foundation_counts), "details": Part("visible", foundation_details)},
        calls=lambda world: [query(as_of=AS_OF)],
    ),
    ("portfolio", "/v1/rounds/{id}/diff"): Report(
        lambda call: {
            "round": Part("visible", lambda a: omit(a, "coverage")),
            "against": Part("visible", lambda a: omit(a, "coverage")),
        },
        calls=lambda world: [query(against=world.rounds["before"]["id"])],
        path=lambda world, template: template.replace("{id}", world.rounds["after"]["id"]),
    ),
    ("portfolio", "/v1/duplicates"): Report(
        whole("visible"),
        calls=lambda world: [query(kind=kind, min_score=0, limit=100) for kind in ("ebo", "initiative")],
    ),
    ("portfolio", "/v1/reports/ratio"): Report(
        whole("visible"), calls=lambda world: [query(round=world.rounds["after"]["id"]), query(year=YEAR)]
    ),
    ("portfolio", "/v1/reports/reconciliation"): Report(whole("visible"), calls=lambda world: [query(year=YEAR)]),
    ("principles", "/v1/reports/compliance"): Report(
        compliance, calls=lambda world: [query(group_by=g) for g in ("category", "principle", "subject")]
    ),
    ("principles", "/v1/reports/compliance/chains"): Report(whole("all", "generated_at")),
    ("principles", "/v1/explanations/register"): Report(
        whole("visible", "generated_at"), calls=lambda world: [Call(), Call(accept="text/csv")]
    ),
}


async def ask(client: httpx2.AsyncClient, service: str, path: str, call: Call) -> dict[str, Any]:
    """The answer as JSON; every page of a paged one; a CSV export as its rows and its headers' coverage."""
    headers = {"Accept": call.accept} if call.accept else {}
    answer = await client.get(path, params=call.params, headers=headers)
    assert answer.status_code == 200, f"{path} {call}: {answer.status_code} {answer.text}"
    if call.accept == "text/csv":
        return {
            "items": list(csv.DictReader(io.StringIO(answer.text))),
            "coverage": {
                "basis": "visible",
                "counted": int(answer.headers["IV-Records-Counted"]),
                "left_out": int(answer.headers["IV-Records-Left-Out"]),
                "not_visible": 0,
            },
        }
    body: dict[str, Any] = answer.json()
    while body.get("next"):
        page = (await client.get(body.pop("next").removeprefix(f"/{service}"))).json()
        assert page.get("coverage") == body.get("coverage"), f"{path}: every page says the same coverage"
        body = {**page, "items": body["items"] + page["items"]}
    body.pop("next", None)
    return body


@dataclass
class Answers:
    """Per (service, path, call): the admin's answer before the classified records, and the admin's and
    the reader's after."""

    before: dict[tuple[str, str, Call], dict[str, Any]] = field(default_factory=dict)
    admin: dict[tuple[str, str, Call], dict[str, Any]] = field(default_factory=dict)
    reader: dict[tuple[str, str, Call], dict[str, Any]] = field(default_factory=dict)
    documented: dict[str, set[str]] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def world_services(
    tmp_path_factory: pytest.TempPathFactory, var_dir: Path, tag: str
) -> AsyncIterator[tuple[Suite, dict[str, dict[str, Any]]]]:
    """The services on fresh databases of their own, and per service each report's GET operation as its
    OpenAPI document has it (by path)."""
    folder = tmp_path_factory.mktemp(f"{tag}-{uuid.uuid4().hex[:6]}")
    async with (
        migrated_databases(folder, tag) as databases,
        committed_services(var_dir, databases, background_tasks=False) as suite,
    ):
        documented = {}
        for service in SERVICES:
            paths = suite.apps[service].openapi()["paths"]
            documented[service] = {p: item["get"] for p, item in paths.items() if "get" in item and is_report(p)}
        yield suite, documented


@pytest.fixture(scope="module")
async def answers(tmp_path_factory: pytest.TempPathFactory, var_dir: Path, tokens: Tokens) -> AsyncIterator[Answers]:
    async with world_services(tmp_path_factory, var_dir, "figures") as (suite, documented):
        world = World()
        found = Answers(documented={service: set(operations) for service, operations in documented.items()})
        admin = tokens("admin", sub="u-figures-admin", clearance="secret")
        reader = tokens("reader", sub="u-figures-reader", clearance="internal", unit=UNCLEARED_UNIT)

        async def ask_all(token: dict[str, str], into: dict[tuple[str, str, Call], dict[str, Any]]) -> None:
            for (service, template), report in REPORTS.items():
                if template not in found.documented[service]:
                    continue  # the test says so
                async with suite.client(service, token) as client:
                    for call in report.calls(world):
                        into[(service, template, call)] = await ask(client, service, report.path(world, template), call)

        await visible_part(suite, tokens, world)
        await ask_all(admin, found.before)
        await classified_part(suite, tokens, world)
        await ask_all(admin, found.admin)
        await ask_all(reader, found.reader)
        yield found


def parts_of(coverage: Any) -> dict[str, Coverage]:
    """Each Coverage of an answer's `coverage`, by part ("" when it is one)."""
    assert isinstance(coverage, dict), coverage
    if "basis" in coverage:
        return {"": Coverage.model_validate(coverage)}
    return {key: Coverage.model_validate(value) for key, value in coverage.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_no_figure_depends_silently_on_who_asks(answers: Answers, service: str) -> None:
    documented = answers.documented[service]
    listed = {path for s, path in REPORTS if s == service}
    assert documented, f"{service} documents no report: is_report() no longer finds them"
    unknown = documented - listed
    assert not unknown, f"give {sorted(unknown)} of {service} its calls and its figures in REPORTS"
    assert not listed - documented, f"{sorted(listed - documented)} are gone from {service}: drop them here"

    problems: list[str] = []
    checked = 0
    for (s, template, call), admin in answers.admin.items():
        if s != service:
            continue
        where = f"{template} {call}"
        report = REPORTS[(service, template)]
        before, reader = answers.before[(s, template, call)], answers.reader[(s, template, call)]
        missing = [
            name
            for name, answer in (("admin", admin), ("reader", reader), ("before", before))
            if "coverage" not in answer
        ]
        if missing:
            problems.append(f"{where}: no coverage in the answer to {', '.join(missing)}")
            continue
        expected = report.parts(call)
        covered = {
            who: parts_of(answer["coverage"])
            for who, answer in (("admin", admin), ("reader", reader), ("before", before))
        }
        if set(covered["reader"]) != set(expected):
            problems.append(f"{where}: coverage has parts {sorted(covered['reader'])}, expected {sorted(expected)}")
            continue
        hidden = 0
        for key, part in expected.items():
            label = f"{where} coverage{'.' + key if key else ''}"
            mine, theirs, then = covered["reader"][key], covered["admin"][key], covered["before"][key]
            if {mine.basis, theirs.basis} != {part.basis}:
                problems.append(f"{label}: basis {mine.basis}, expected {part.basis} (services/chassis/figures.py)")
                continue
            if theirs.left_out or theirs.not_visible:
                problems.append(f"{label}: the admin sees everything, yet {theirs}")
            if part.basis == "visible":
                # The reader's figures are exactly those over the visible records: the admin's before
                # the classified ones were added.
                if part.figures(reader) != part.figures(before):
                    problems.append(f"{label}: the reader's figures are not those over the visible records")
                if mine.counted != then.counted or mine.not_visible:
                    problems.append(f"{label}: the reader counts {mine}, the visible records are {then.counted}")
                if theirs.counted != mine.counted + mine.left_out:
                    problems.append(f"{label}: admin counts {theirs.counted}, reader {mine.counted} + {mine.left_out}")
                hidden += mine.left_out
            else:
                if part.figures(reader) != part.figures(admin):
                    problems.append(f"{label}: counts over everything differ between the admin and the reader")
                if mine.counted != theirs.counted or mine.left_out:
                    problems.append(f"{label}: the reader counts {mine}, the admin {theirs}")
                if mine.not_visible != theirs.counted - then.counted:
                    problems.append(f"{label}: not_visible {mine.not_visible}, added {theirs.counted - then.counted}")
                hidden += mine.not_visible
        if report.classified and not hidden:
            problems.append(f"{where}: the world hides nothing from the reader here, so this proves nothing")
        checked += 1
    assert checked, f"no report of {service} was checked"
    assert not problems, "\n".join(problems)
