"""Demo data: illustrative records kept as data files beside each service, read and checked here.

A service keeps its demo records in ``services/<service>/demo/*.toml`` (TOML: the standard library
reads it, it takes comments, dates and ``52_400_000``). Each file holds arrays of tables, one table
a record with named fields; its top-level ``ids`` is the format of its records' fixed ids (filled
in with each record's ``number``), so the other services' demo data can point at them by href.

The service declares a record type per table (a :class:`Record`: unknown or missing fields are
refused) and keeps only what is domain-specific: which operation each record goes through, in
which order, and how a reference by code becomes an id. :class:`DemoData` reads the files,
:class:`Demo` is one loading (the demo principal's context and the day the demo is loaded, which
relative dates count from); ``services.chassis.cli.seed_if_empty`` loads into empty databases only.
A file that does not fit is refused with a :class:`DemoDataError` naming the file and the record.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from services.chassis.dates import add_months
from services.chassis.db import utcnow
from services.chassis.resources import Collection, ResourceMixin
from services.chassis.uow import RequestContext

FOLDER = "demo"
"""The folder beside a service's ``seed.py`` that holds its demo data files."""


class DemoDataError(ValueError):
    """A demo data file that cannot be loaded as it is; the message names the file and the record."""


class Record(BaseModel):
    """One record of a demo data file. Its fields are the resource's fields as a body gives them;
    fields marked ``Field(exclude=True)`` are the seed's own (a code it looks up, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _origin: str = PrivateAttr(default="")

    @property
    def origin(self) -> str:
        """Where the record was read: file, table and position (and number), for error messages."""
        return self._origin or type(self).__name__

    def fields(self, today: dt.date) -> dict[str, Any]:
        """The record's fields with a value, relative dates counted from ``today``. TOML has no null:
        a field that is None was left out, and stays out (the column keeps its default)."""
        return {
            name: _resolved(value, today)
            for name, info in type(self).model_fields.items()
            if not info.exclude and (value := getattr(self, name)) is not None
        }


class Numbered(Record):
    """A record with a fixed id: its file's ``ids`` format filled in with its ``number``."""

    number: int = Field(ge=1, exclude=True)
    id: str


class RelativeDate(Record):
    """A date counted from the day the demo is loaded: ``years``, ``months`` and ``days`` later
    (earlier when negative), then moved to ``month`` and ``day`` when given. ``{ months = -8 }``
    is eight months ago; ``{ years = 1, month = 12, day = 31 }`` the last day of next year. A month
    later than the 31st is the month's last day."""

    years: int = 0
    months: int = 0
    days: int = 0
    month: int | None = Field(default=None, ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)

    def on(self, today: dt.date) -> dt.date:
        shifted = add_months(today, self.years * 12 + self.months) + dt.timedelta(days=self.days)
        try:
            return shifted.replace(month=self.month or shifted.month, day=self.day or shifted.day)
        except ValueError as exc:
            raise DemoDataError(f"{self.origin}: no such day counted from {today}: {exc}") from None


class RelativeMoment(RelativeDate):
    """A moment counted like a :class:`RelativeDate`, at ``time`` (UTC) of that day."""

    time: dt.time

    def at(self, today: dt.date) -> dt.datetime:
        return dt.datetime.combine(self.on(today), self.time, dt.UTC)


Day = dt.date | RelativeDate
"""A date field: a TOML date (``2026-01-10``) or a date relative to the load day (``{ days = -60 }``)."""
Moment = AwareDatetime | RelativeMoment
"""A moment field: a TOML date-time with its offset (``2026-01-05T09:30:00Z``) or a relative moment."""


def _resolved(value: Any, today: dt.date) -> Any:
    if isinstance(value, RelativeMoment):
        return value.at(today)
    if isinstance(value, RelativeDate):
        return value.on(today)
    if isinstance(value, Record):
        return value.fields(today)
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_resolved(v, today) for v in value]
    return value


R = TypeVar("R", bound=Record)
M = TypeVar("M", bound=ResourceMixin)


@dataclass(frozen=True)
class Table(Generic[R]):
    """The records of one ``[[name]]`` array of tables of one file, in file order (the load order)."""

    path: Path
    name: str
    records: tuple[R, ...]

    def __iter__(self) -> Iterator[R]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def find(self, key: str, value: object, *, cited_by: Record) -> R:
        """The record whose ``key`` is ``value``; a record naming one that is not there is refused."""
        for record in self.records:
            if getattr(record, key) == value:
                return record
        raise DemoDataError(f"{cited_by.origin}: no record in {self.path} [[{self.name}]] has {key} = {value!r}")

    def find_optional(self, key: str, value: object | None, *, cited_by: Record) -> R | None:
        """As :meth:`find`, and None for a reference the record leaves out."""
        return None if value is None else self.find(key, value, cited_by=cited_by)


class DemoData:
    """The demo data files of one service (``<folder>/*.toml``), each read and checked once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._documents: dict[str, dict[str, Any]] = {}
        self._tables: dict[tuple[str, str], Table[Any]] = {}
        self._read: set[tuple[str, str]] = set()

    @classmethod
    def beside(cls, module_file: str) -> DemoData:
        """The ``demo/`` folder next to a module: ``DemoData.beside(__file__)`` in a service's seed."""
        return cls(Path(module_file).resolve().parent / FOLDER)

    def path(self, file: str) -> Path:
        return self.folder / f"{file}.toml"

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.toml"))

    def document(self, file: str) -> dict[str, Any]:
        """The parsed file, read once."""
        if file in self._documents:
            return self._documents[file]
        path = self.path(file)
        try:
            with path.open("rb") as handle:
                document = self._documents[file] = tomllib.load(handle)
                return document
        except FileNotFoundError as exc:
            raise DemoDataError(f"{path}: no such demo data file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise DemoDataError(f"{path}: not valid TOML: {exc}") from exc

    def _value(self, file: str, key: str) -> Any:
        document = self.document(file)
        if key not in document:
            raise DemoDataError(f"{self.path(file)}: has no {key!r}")
        self._read.add((file, key))
        return document[key]

    def id(self, file: str, number: int, key: str = "ids") -> str:
        """The fixed id of record ``number`` of ``file``: its ``ids`` format filled in (or another
        format of the file's, the hrefs of another service's demo records, say)."""
        ids = self._value(file, key)
        try:
            return str(ids.format(number))
        except (AttributeError, IndexError, KeyError, ValueError) as exc:
            raise DemoDataError(f"{self.path(file)}: {key} = {ids!r} is not a format for one number") from exc

    def table(self, file: str, model: type[R], name: str | None = None) -> Table[R]:
        """The ``[[name]]`` records of ``file`` (``name`` defaults to the file's), each checked as a ``model``."""
        name = name or file
        if (file, name) in self._tables:
            return self._tables[file, name]
        path = self.path(file)
        rows = self._value(file, name)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise DemoDataError(f"{path}: {name!r} must be records, an array of tables [[{name}]]")
        records: list[R] = []
        numbers: dict[int, int] = {}
        for position, row in enumerate(rows, start=1):
            where = f"{path} [[{name}]] record {position}"
            if issubclass(model, Numbered):
                number = row.get("number")
                if "id" in row:
                    raise DemoDataError(f"{where}: gives an id; give its number, the id follows from the file's ids")
                if not isinstance(number, int) or isinstance(number, bool):
                    raise DemoDataError(f"{where}: needs a number (a whole number), got {number!r}")
                if number in numbers:
                    raise DemoDataError(f"{where}: number {number} is taken by record {numbers[number]}")
                numbers[number] = position
                where += f" (number {number})"
                row = {**row, "id": self.id(file, number)}
            records.append(_checked(model, row, where))
        table = self._tables[file, name] = Table(path=path, name=name, records=tuple(records))
        return table

    def params(self, file: str, model: type[R], name: str) -> R:
        """The single ``[name]`` table of ``file``: the parameters of something generated, say."""
        row = self._value(file, name)
        if not isinstance(row, dict):
            raise DemoDataError(f"{self.path(file)}: {name!r} must be a table [{name}]")
        return _checked(model, row, f"{self.path(file)} [{name}]")

    def unread(self) -> list[str]:
        """What the files hold that nothing asked for (a misspelt table, say): ``file: key`` each."""
        return [
            f"{path}: {key}"
            for path in self.files()
            for key in self.document(path.stem)
            if (path.stem, key) not in self._read
        ]


def _checked(model: type[R], row: Mapping[str, Any], where: str) -> R:
    try:
        record = model.model_validate(row)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(record)'}: {error['msg']}" for error in exc.errors()
        )
        raise DemoDataError(f"{where}: {problems}") from None
    _locate(record, where)
    return record


def _locate(record: Record, where: str) -> None:
    record._origin = where
    for name in type(record).model_fields:
        value = getattr(record, name)
        for position, item in enumerate(value if isinstance(value, list | tuple) else [value], start=1):
            if isinstance(item, Record):
                _locate(item, f"{where}, {name}" + (f" {position}" if isinstance(value, list | tuple) else ""))


@dataclass(frozen=True)
class Demo:
    """One loading of demo data: the context it writes with (the demo principal's, unless a seed
    acts as someone else) and the day it happens, which relative dates count from."""

    ctx: RequestContext
    today: dt.date = field(default_factory=lambda: utcnow().date())

    def moment(self, value: dt.datetime | RelativeMoment) -> dt.datetime:
        """A moment field's value, counted from the load day when it is relative."""
        return value.at(self.today) if isinstance(value, RelativeMoment) else value

    async def insert(self, collection: Collection[M], record: Record | Mapping[str, Any], **fields: Any) -> M:
        """Create one resource through the collection's own ``insert`` (so it gets its feed event),
        from a record's fields (or API-shaped fields), ``fields`` replacing or adding some."""
        given = record.fields(self.today) if isinstance(record, Record) else dict(record)
        return await collection.insert(self.ctx, collection.to_columns({**given, **fields}))

    async def insert_all(self, collection: Collection[M], records: Iterable[Record]) -> list[M]:
        """Every record through :meth:`insert`, in order."""
        return [await self.insert(collection, record) for record in records]
