"""Demo data is data: the chassis reads each service's ``demo/*.toml`` and refuses a file that does
not fit, naming the file and the record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import Field

from services.chassis.demo import (
    Day,
    DemoData,
    DemoDataError,
    Moment,
    Numbered,
    Record,
    RelativeDate,
)
from services.valuechains.applications.figures import add_months

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


def test_relative_dates_count_months_as_the_foundation_report_does() -> None:
    days = [dt.date(2027, 1, 1) + dt.timedelta(days=n) for n in range(0, 800, 3)]
    for day in [*days, dt.date(2028, 2, 29), dt.date(2027, 1, 31), dt.date(2027, 12, 31)]:
        for months in (-40, -13, -12, -1, 0, 1, 5, 6, 12, 48):
            assert RelativeDate(months=months).on(day) == add_months(day, months), (day, months)
        assert RelativeDate(years=1, month=12, day=31).on(day) == dt.date(day.year + 1, 12, 31)
        assert RelativeDate(days=-20).on(day) == day - dt.timedelta(days=20)
