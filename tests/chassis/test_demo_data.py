"""Demo data is data: the chassis reads each service's ``demo/*.toml``, refuses a file that does not
fit naming the file and the record, and what the seeds load is exactly what the files say (that
they read all of it: tests/chassis/test_operations.py, which loads each seed in-process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from pydantic_core import to_jsonable_python

from services.chassis import demo
from services.chassis.demo import (
    Day,
    DemoData,
    DemoDataError,
    Moment,
    Numbered,
    Record,
    RelativeDate,
    RelativeMoment,
)
from services.portfolio import seed as portfolio_seed
from services.portfolio.initiatives.budgets import spread
from services.principles import seed as principles_seed
from services.valuechains import seed as valuechains_seed
from tests.conftest import Suite
from tests.support import Tokens, available_services

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


# --- the loader -------------------------------------------------------------------------------


class Person(Record):
    name: str
    unit: str


class Thing(Numbered):
    code: str
    size: int
    owner: Person
    since: Day | None = None
    seen: Moment | None = None
    note: str | None = None
    tag: str = Field(default="", exclude=True)


def write(folder: Path, text: str, name: str = "things") -> DemoData:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return DemoData(folder)


GOOD = """# ILLUSTRATIVE ONLY
ids = "0000-{:04d}"

[[things]]
number = 1
code = "A"
size = 3
owner = { name = "X (demo)", unit = "Somewhere" }
since = { months = -1 }
seen = { days = -2, time = 11:30:00 }

[[things]]
number = 7
code = "B"
size = 4_000
owner = { name = "Y (demo)", unit = "Elsewhere" }
since = 2026-01-10
seen = 2026-01-05T09:30:00Z
tag = "seed only"
"""


def test_records_are_read_with_named_fields_and_fixed_ids(tmp_path: Path) -> None:
    data = write(tmp_path, GOOD)
    things = data.table("things", Thing)
    assert [t.id for t in things] == ["0000-0001", "0000-0007"] == [data.id("things", n) for n in (1, 7)]
    today = dt.date(2026, 3, 31)
    first, second = things
    assert first.fields(today) == {
        "id": "0000-0001",
        "code": "A",
        "size": 3,
        "owner": {"name": "X (demo)", "unit": "Somewhere"},
        "since": dt.date(2026, 2, 28),  # a month before the 31st: the month's last day
        "seen": dt.datetime(2026, 3, 29, 11, 30, tzinfo=dt.UTC),
    }  # no number (it made the id), no note (left out), no tag (the seed's own)
    assert second.fields(today)["since"] == dt.date(2026, 1, 10)
    assert second.fields(today)["seen"] == dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    assert second.tag == "seed only" and "tag" not in second.fields(today)
    assert things.find("code", "B", cited_by=first) is second
    assert data.table("things", Thing) is things  # read once
    assert data.unread() == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("size = 4_000", 'size = "big"'), "[[things]] record 2 (number 7): size: Input should be a valid integer"),
        ((', unit = "Elsewhere" }', " }"), "[[things]] record 2 (number 7): owner.unit: Field required"),
        (("size = 4_000", "size = 4_000\ncolour = 'red'"), "record 2 (number 7): colour: Extra inputs are not"),
        (("number = 7", "number = 1"), "[[things]] record 2: number 1 is taken by record 1"),
        (("number = 7", 'id = "0000-0007"'), "[[things]] record 2: gives an id; give its number"),
        (("number = 7", ""), "[[things]] record 2: needs a number"),
        (("since = 2026-01-10", "since = { weeks = 2 }"), "record 2 (number 7): since."),
        (("seen = 2026-01-05T09:30:00Z", "seen = 2026-01-05T09:30:00"), "record 2 (number 7): seen."),
        (("seen = 2026-01-05T09:30:00Z", "seen = { days = 1 }"), "record 2 (number 7): seen."),
        (('code = "B"', 'code = "B"\ncode = "C"'), "not valid TOML: Cannot overwrite a value (at line 15"),
        (('code = "B"', 'code = "B'), "not valid TOML: "),
        (('ids = "0000-{:04d}"', 'ids = "0000-{}-{}"'), "ids = '0000-{}-{}' is not a format for one number"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_the_record(
    tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    old, new = change
    assert old in GOOD
    data = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(DemoDataError) as refused:
        data.table("things", Thing)
    message = str(refused.value)
    assert message.startswith(str(tmp_path / "things.toml")), message
    assert says in message, message


def test_what_a_file_names_must_be_there(tmp_path: Path) -> None:
    data = write(tmp_path, GOOD.replace("[[things]]", "[[thing]]"))
    with pytest.raises(DemoDataError, match=r"things\.toml: has no 'things'"):
        data.table("things", Thing)
    assert data.unread() == [f"{tmp_path / 'things.toml'}: ids", f"{tmp_path / 'things.toml'}: thing"]
    with pytest.raises(DemoDataError, match=r"other\.toml: no such demo data file"):
        data.table("other", Thing)

    things = write(tmp_path, GOOD).table("things", Thing)
    with pytest.raises(DemoDataError) as refused:
        things.find("code", "C", cited_by=things.records[1])
    assert str(refused.value) == (
        f"{tmp_path / 'things.toml'} [[things]] record 2 (number 7): "
        f"no record in {tmp_path / 'things.toml'} [[things]] has code = 'C'"
    )
    bad_day = RelativeDate.model_validate({"months": 1, "day": 31})
    with pytest.raises(DemoDataError, match="no such day"):
        bad_day.on(dt.date(2026, 3, 15))  # April has no 31st


def test_relative_dates_count_calendar_months_as_the_reports_do() -> None:
    # Month ends clamp to the target month's last day (services.chassis.dates), leap days included.
    assert RelativeDate(months=-1).on(dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)
    assert RelativeDate(months=-1).on(dt.date(2028, 3, 31)) == dt.date(2028, 2, 29)
    assert RelativeDate(months=12).on(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert RelativeDate(months=-13).on(dt.date(2027, 1, 31)) == dt.date(2025, 12, 31)
    for day in [dt.date(2027, 1, 1) + dt.timedelta(days=n) for n in range(0, 800, 3)]:
        assert RelativeDate(years=1, month=12, day=31).on(day) == dt.date(day.year + 1, 12, 31)
        assert RelativeDate(days=-20).on(day) == day - dt.timedelta(days=20)
        assert RelativeDate(years=-2).on(day) == RelativeDate(months=-24).on(day)


def test_every_demo_data_file_says_it_is_illustrative() -> None:
    files = sorted(SERVICES_DIR.glob(f"*/{demo.FOLDER}/*.toml"))
    assert {f.parent.parent.name for f in files} == set(available_services())
    for path in files:
        assert path.read_text(encoding="utf-8").startswith("# ILLUSTRATIVE ONLY"), path
        DemoData(path.parent).document(path.stem)  # valid TOML


# --- what the seeds load is what the files say (``demo_suite``: tests/conftest.py) --------------


async def batch(client: Any, path: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The resources at ``path`` by id, fetched with batch gets."""
    wanted = list(ids)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 100):
        response = await client.get(path, params={"id": wanted[start : start + 100], "limit": 100})
        assert response.status_code == 200, response.text
        found |= {item["id"]: item for item in response.json()["items"]}
    assert sorted(found) == sorted(wanted), path
    return found


def shown(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``body`` that ``expected`` names, to compare with it (as JSON)."""
    return {key: body.get(key) for key in expected}


def expect(record: Record, today: dt.date, **refs: Any) -> dict[str, Any]:
    """A record's fields as its resource shows them: JSON, references as ``{"href": ...}``."""
    fields = {**record.fields(today), **{k: {"href": v} if v is not None else None for k, v in refs.items()}}
    return dict(to_jsonable_python(fields))


async def check_table(client: Any, path: str, records: Iterable[Numbered], today: dt.date, **refs: Any) -> None:
    """Every record is a resource at ``path`` with the record's fields; ``refs`` gives, per reference
    field, a function from the record to the href it points at."""
    listed = list(records)
    stored = await batch(client, path, [r.id for r in listed])
    for record in listed:
        expected = expect(record, today, **{field: href(record) for field, href in refs.items()})
        assert shown(stored[record.id], expected) == expected, record.origin


def load_day() -> dt.date:
    return demo.utcnow().date()  # fixed by ``demo_suite``


async def test_valuechains_loads_what_its_files_say(demo_suite: Suite, tokens: Tokens) -> None:
    seed, today = valuechains_seed, load_day()
    chains = {c.code: c for c in seed.CHAINS}
    href = "/valuechains/v1/chains/{}".format
    async with demo_suite.client("valuechains", tokens("admin")) as client:
        await check_table(client, "/v1/chains", seed.CHAINS, today)
        await check_table(
            client,
            "/v1/applications",
            seed.DATA.table("applications", seed.Application),
            today,
            chain=lambda a: href(chains[a.chain].id),
        )

        allocations = seed.DATA.table("allocations", seed.Allocation)
        stored = await batch(client, "/v1/allocations", [a.id for a in allocations])
        for allocation in allocations:
            body, last = stored[allocation.id], allocation.revisions[-1]
            expected = expect(last, today, chain=href(chains[allocation.chain].id))
            expected |= {"period": allocation.period, "revision": len(allocation.revisions)}
            assert shown(body, expected) == expected, allocation.origin
            revisions = (await client.get(body["revisions_href"].removeprefix("/valuechains"))).json()["items"]
            wanted = [expect(v, today) for v in allocation.revisions]
            assert [shown(r, w) for r, w in zip(revisions, wanted, strict=True)] == wanted, allocation.origin
            assert {r["by"]["subject"] for r in revisions} == {chains[allocation.chain].owner.subject}

        draw = seed.DATA.params("teams", seed.Draw, "draw")
        mixes = seed.DATA.table("teams", seed.TeamMix, "chains")
        count = sum(m.teams for m in mixes)
        teams = await batch(client, "/v1/teams", [seed.DATA.id("teams", n) for n in range(1, count + 1)])
        for mix in mixes:
            mine = [t for t in teams.values() if t["chain"]["href"] == href(chains[mix.chain].id)]
            assert len(mine) == mix.teams, mix.origin
            for team in mine:
                theme, call_sign = team["name"].rsplit(" ", 1)
                assert theme in mix.themes and call_sign in draw.call_signs, team["name"]
                assert draw.fte_min <= team["fte_internal"] + team["fte_external"] <= draw.fte_max
                assert team["fte_external"] == team["fte_hired"] + team["fte_partner"]
                assert 1 <= team["maturity"] <= len(draw.maturity_weights)


async def test_portfolio_loads_what_its_files_say(demo_suite: Suite, tokens: Tokens) -> None:
    seed, today = portfolio_seed, load_day()
    programmes = {p.code: p for p in seed.DATA.table("programmes", seed.Programme)}
    chains = {c.code: c.href for c in seed.DATA.table("value_chains", seed.ValueChain)}
    initiatives = {i.number: i for i in seed.demo_initiatives()}
    href = "/portfolio/v1/{}/{}".format
    async with demo_suite.client("portfolio", tokens("admin")) as client:
        await check_table(client, "/v1/programmes", programmes.values(), today)
        await check_table(
            client,
            "/v1/initiatives",
            seed.demo_initiatives(),
            today,
            programme=lambda i: href("programmes", programmes[i.programme].id) if i.programme else None,
            value_chain=lambda i: chains[i.value_chain],
        )
        stored_initiatives = await batch(client, "/v1/initiatives", [i.id for i in initiatives.values()])
        applications = {a.name: a.href for a in seed.DATA.table("applications", seed.Application)}
        for initiative in initiatives.values():
            named = [
                {"application": {"href": applications[link.application]}, "effect": link.effect}
                for link in initiative.applications
            ]
            got = stored_initiatives[initiative.id]["applications"]
            assert sorted(got, key=str) == sorted(named, key=str), initiative.origin
        assert any(i.applications for i in initiatives.values())

        ebos = seed.DATA.table("ebos", seed.Ebo)
        await check_table(
            client, "/v1/ebos", ebos, today, value_chain=lambda e: chains[e.value_chain] if e.value_chain else None
        )
        stored = await batch(client, "/v1/ebos", [e.id for e in ebos])
        for ebo in ebos:
            body = stored[ebo.id]
            assert body["status"] == ebo.status, ebo.origin
            if ebo.status != "registered":
                assert body["decision"]["reason"] == ebo.decision_reason, ebo.origin

        def money(n: int, period: str) -> int:
            """Initiative ``n``'s money in the year of ``period``, as its file gives it (or spread)."""
            i, year = initiatives[n], int(period[:4])
            if i.budget_per_year is not None:
                return sum(b.budget_eur for b in i.budget_per_year if b.year == year)
            assert i.budget_eur is not None, i.origin
            return spread(i.budget_eur, i.start, i.end).get(year, 0)

        # Each round: the items it started from (less those stopped; their budgets the money in its
        # own year when it plans another year), changed, plus its own (the money in its year).
        rounds = seed.DATA.table("rounds", seed.Round)
        number_of = {i.id: n for n, i in initiatives.items()}
        items_of: dict[int, dict[int, dict[str, Any]]] = {}
        period_of = {r.number: r.period for r in rounds}
        for round_ in rounds:
            start = items_of[round_.from_round] if round_.from_round else {}
            items = {n: {**item} for n, item in start.items() if item["decision"] != "stop"}
            if round_.from_round and period_of[round_.from_round][:4] != round_.period[:4]:
                items = {n: item | {"budget_eur": money(n, round_.period)} for n, item in items.items()}
            for change in round_.changes:
                items[change.initiative] |= expect(change, today)
            for added in round_.items:
                items[added.initiative] = expect(added, today) | {"budget_eur": money(added.initiative, round_.period)}
            items_of[round_.number] = items

            body = (await client.get(f"/v1/rounds/{round_.id}")).json()
            start_href = href("rounds", seed.DATA.id("rounds", round_.from_round)) if round_.from_round else None
            expected = expect(round_, today, from_round=start_href) | {
                "status": "closed" if round_.closed_at else "open",
                "opened_at": to_jsonable_python(round_.opened_at),
                "closed_at": to_jsonable_python(round_.closed_at),
            }
            assert shown(body, expected) == expected, round_.origin
            stored_items = {number_of[i["initiative"]["href"].rsplit("/", 1)[1]]: i for i in body["items"]}
            assert {n: shown(stored_items[n], item) for n, item in items.items()} == items, round_.origin
            assert len(stored_items) == len(items), round_.origin


async def test_principles_loads_what_its_files_say(demo_suite: Suite, tokens: Tokens) -> None:
    seed, today = principles_seed, load_day()
    principles = {p.code: p for p in seed.PRINCIPLES}
    revisions = {r.principle: r for r in seed.DATA.table("revisions", seed.Revision)}
    async with demo_suite.client("principles", tokens("admin")) as client:
        await check_table(client, "/v1/principles", [p for p in seed.PRINCIPLES if p.code not in revisions], today)
        assert [p["id"] for p in seed.DEMO_PRINCIPLES] == [p.id for p in seed.PRINCIPLES]
        for code, revision in revisions.items():  # the file's text is revision 1, the revision's is now
            principle = principles[code]
            now = (await client.get(f"/v1/principles/{principle.id}")).json()
            first = (await client.get(f"/v1/principles/{principle.id}/versions/1")).json()
            assert now["revision"] == 2 and now["implications"] == revision.implications, revision.origin
            assert first["implications"] == principle.implications, principle.origin

        explanations = seed.DATA.table("explanations", seed.Explanation)
        await check_table(
            client,
            "/v1/explanations",
            explanations,
            today,
            principle=lambda e: f"/principles/v1/principles/{principles[e.principle].id}",
            subject=lambda e: seed.initiative(e.initiative),
        )
        stored = await batch(client, "/v1/explanations", [e.id for e in explanations])
        started = {seed.initiative(m.initiative): m.active_since for m in seed.DATA.table("milestones", seed.Milestone)}
        for explanation in explanations:  # asked when the file says, not when it was seeded
            asked = explanation.requested_at
            requested = asked.at(today) if isinstance(asked, RelativeMoment) else asked
            shown_now = stored[explanation.id]
            assert shown_now["created_at"] == to_jsonable_python(requested), explanation.origin
            # Late: approved after its initiative became active (milestones.toml); undecided without one.
            since = started.get(seed.initiative(explanation.initiative))
            if explanation.status != "approved" or since is None:
                assert shown_now["late"] is None, explanation.origin
            else:
                assert explanation.approved_at is not None
                assert shown_now["late"] is (explanation.approved_at > since), explanation.origin
            # Approved under a revision that was since replaced: to be confirmed.
            revised = explanation.principle in revisions and explanation.status == "approved"
            assert shown_now["needs_review"] is revised, explanation.origin

        reviews = seed.DATA.table("reviews", seed.Review)
        await check_table(
            client, "/v1/simplicity-reviews", reviews, today, subject=lambda r: seed.initiative(r.initiative)
        )


async def test_demo_foundation_report_says_who_addresses_what(demo_suite: Suite, tokens: Tokens) -> None:
    """Across the services' demo data: most applications past support or with critical findings have
    an initiative that addresses them (portfolio's applications.toml), three do not."""
    async with demo_suite.client("valuechains", tokens("admin", clearance="secret")) as client:
        report = (await client.get("/v1/reports/foundation")).json()
    assert report["incomplete"] == []
    addressed = {a["name"]: a["addressed"] for a in report["attention"]}
    assert {name for name, done in addressed.items() if not done} == {
        "Declaratiesysteem (oud)",
        "Koppelvlak Internationale Uitwisseling",
        "Portofonie Beheerconsole",
    }
    old = next(a for a in report["attention"] if a["name"] == "Meldkamerkoppeling (oud)")
    assert [(i["name"], i["effect"]) for i in old["addressed_by"]] == [("Onderhoud meldkamersysteem", "retires")]
    assert report["unaddressed"] == 3
