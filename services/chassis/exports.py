"""Reports as JSON or CSV, from one helper: what a memo needs from any report, register or diff.

A report endpoint declares what its CSV holds once, as an ``Export`` (which parts of the answer
become rows, which reference columns get their target's name beside them), and answers with
``await EXPORT.respond(ctx, media, report)``; ``media`` is the ``Accepted`` dependency:

- **content negotiation**: ``Accept`` chooses ``application/json`` (the default) or ``text/csv``
  (q-values honoured); anything else is 406 problem+json, before the report is computed;
- **the same numbers**: the CSV is written from the JSON answer itself (``model_dump(mode="json")``),
  so every figure is the JSON's, as the JSON writes it;
- **a stable column order**, taken from the answer's model (its fields in declared order, nested
  objects as dotted columns: ``budget_eur.maintenance``), never from the data: an empty report has
  the same header line as a full one. An answer with several parts (rows per chain, a totals row,
  a list of flagged records) is one CSV whose first column ``section`` names the part each row
  comes from (``chains``, ``totals``, ``flagged``; ``report`` for the answer's own fields), in the
  order the export lists them. The i-th row of a section is the i-th element of that list in JSON;
- **names beside hrefs**: for each reference column the export names, the CSV holds the target's
  name in the column after it (``value_chain.href`` → ``value_chain.name``, ``subject`` →
  ``subject_name``), resolved with one batch request per target collection at its owner, with the
  caller's token (``Upstreams.batch_get``): services never copy each other's data; a target of
  the exporting service itself is read in the request's own transaction, under the same need to
  know (one statement, no request to itself). A target the
  caller may not see, or that is not there, is ``(unresolved: not found)`` (need to know: no name
  of anything the caller is not cleared for, and no telling hidden from missing); one whose owner
  is down is ``(unresolved: unavailable)``; the rest of the export is unaffected;
- **coverage headers** (``services.chassis.figures``), in both formats: ``IV-Records-Basis``,
  ``IV-Records-Counted``, ``IV-Records-Left-Out``, ``IV-Records-Not-Visible``: plain values when the
  answer's ``coverage`` is one ``Coverage``; an RFC 8941 dictionary by part
  (``counts=142, details=138``) when it has parts;
- a file name in ``Content-Disposition`` and ``Vary: Accept``;
- cells a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return) get a leading ``'``; numbers are written as numbers, ``null`` as an empty cell,
  lists of values joined with ``;``.

``Export.responses()`` documents both media types, the headers and 406 in the OpenAPI document.
"""

from __future__ import annotations

import csv
import io
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Header
from pydantic import BaseModel
from starlette.responses import Response

from services.chassis.auth import Principal
from services.chassis.errors import NotAcceptable, Problem, problem_responses
from services.chassis.figures import Coverage
from services.chassis.references import Upstreams, group_by_collection
from services.chassis.resources.collection import Collection
from services.chassis.tasks import gather
from services.chassis.uow import RequestContext

JSON = "application/json"
CSV = "text/csv"
OFFERED = (JSON, CSV)

SECTION = "section"
REPORT_SECTION = "report"
"""The label of the rows taken from the answer's own fields (an export's section ``""``)."""
UNRESOLVED_NOT_FOUND = "(unresolved: not found)"
UNRESOLVED_UNAVAILABLE = "(unresolved: unavailable)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LABEL_FIELDS = ("name", "title", "code", "period")
"""What a resource is called, in this order: the first of these it has."""

COVERAGE_HEADERS = ("IV-Records-Basis", "IV-Records-Counted", "IV-Records-Left-Out", "IV-Records-Not-Visible")
_COVERAGE_FIELDS = ("basis", "counted", "left_out", "not_visible")


def negotiate(accept: str | None, offered: Sequence[str] = OFFERED) -> str:
    """The best of ``offered`` for an Accept header (absent or empty: the first); 406 when none is acceptable."""
    if accept is None or not accept.strip():
        return offered[0]
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        for rank, candidate in enumerate(offered):
            kind = candidate.split("/")[0]
            if quality > 0 and media in (candidate, f"{kind}/*", "*/*"):
                score = (quality, -rank, candidate)
                best = score if best is None or score > best else best
    if best is None:
        raise NotAcceptable(f"this report is available as {' or '.join(offered)}; Accept was {accept!r}")
    return best[2]


def accepted_media(
    accept: Annotated[str | None, Header(description="`application/json` (default) or `text/csv`.")] = None,
) -> str:
    return negotiate(accept)


Accepted = Annotated[str, Depends(accepted_media)]
"""The media type a report answers in, negotiated before the report is computed (406 otherwise)."""


def csv_cell(value: Any) -> Any:
    """A JSON value as a cell; text a spreadsheet would take for a formula gets a leading single quote."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        value = ";".join(str(csv_cell(v)) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- columns from the answer's model --------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``X | None``, ``Annotated[X, ...]`` and ``Optional[X]``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _item(annotation: Any) -> tuple[bool, Any]:
    """(is a list, the element's annotation)."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) is list:
        return True, _unwrap(get_args(annotation)[0])
    return False, annotation


def _flat_columns(model: type[BaseModel], prefix: str = "", skip: Iterable[str] = ()) -> list[str]:
    """Dotted columns of a model's fields: nested objects flattened, lists of values as one column,
    lists of objects left out (a report that lists them has them as a section of their own)."""
    columns: list[str] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        is_list, inner = _item(info.annotation)
        nested = _model(inner)
        key = info.alias or name  # as the answer writes it (``from``, not ``from_``)
        if is_list:
            if nested is None:
                columns.append(prefix + key)
        elif nested is not None:
            columns.extend(_flat_columns(nested, f"{prefix}{key}."))
        else:
            columns.append(prefix + key)
    return columns


def _flat_values(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        return out
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flat_values(value, f"{prefix}{key}."))
        else:
            out[prefix + str(key)] = value
    return out


def _elements(data: Any, path: list[str], outer: dict[str, Any], prefix: str = "") -> list[Any]:
    """The elements at a dotted ``path`` (lists and objects on the way), each with the values of the
    elements it is inside of (their own fields other than lists of objects, prefixed by the path)."""
    if not isinstance(data, Mapping):
        return []
    value = data.get(path[0])
    found = value if isinstance(value, list) else [] if value is None else [value]
    if len(path) == 1:
        return [{**outer, **_flat_values(e)} if isinstance(e, Mapping) else e for e in found] if outer else found
    rows: list[Any] = []
    for element in found:
        if not isinstance(element, Mapping):
            continue
        own = {k: v for k, v in element.items() if k != path[1] and not _lists_objects(v)}
        here = {**outer, **_flat_values(own, f"{prefix}{path[0]}.")}
        rows += _elements(element, path[1:], here, f"{prefix}{path[0]}.")
    return rows


def _path_columns(model: type[BaseModel], path: list[str], prefix: str = "") -> list[str]:
    """The columns of a dotted section: the outer elements' own fields (prefixed), then the inner ones."""
    info = model.model_fields.get(path[0])
    nested = _model(_item(info.annotation)[1]) if info is not None else None
    if nested is None:
        return []
    if len(path) == 1:
        return _flat_columns(nested)
    own = [
        n
        for n, i in nested.model_fields.items()
        if n != path[1] and not (_item(i.annotation)[0] and _model(_item(i.annotation)[1]))
    ]
    outer = _flat_columns(nested, f"{prefix}{path[0]}.", skip=set(nested.model_fields) - set(own))
    return outer + [c for c in _path_columns(nested, path[1:], f"{prefix}{path[0]}.") if c not in outer]


def _lists_models(annotation: Any) -> bool:
    is_list, inner = _item(annotation)
    return is_list and _model(inner) is not None


def _lists_objects(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, Mapping) for v in value)


def name_column(column: str) -> str:
    """Where the name of a reference column's target goes: ``x.href`` → ``x.name``, ``x`` → ``x_name``."""
    return column.removesuffix(".href") + ".name" if column.endswith(".href") else column + "_name"


@dataclass(frozen=True)
class Export:
    """What a report's CSV holds: which parts of the answer become rows, and which reference columns get
    their target's name beside them.

    ``sections``: paths of the answer's fields, each a list (a row per element) or an object (one row);
    a dotted path (``periods.chains``) reaches into the elements of a list: a row per inner element,
    with the outer element's own values beside it (``periods.period``, ``periods.start``). ``""``
    stands for the answer's own fields other than the sections, lists and ``coverage`` (the
    ``report`` row). One section: no ``section`` column. ``names``: reference columns (as in the CSV:
    ``value_chain.href``, ``subject``) whose target's name goes in the column after them.
    ``exclude``: columns left out (long prose that a memo does not need in every row). ``coverage``:
    whether the answer carries figures, and so the ``IV-Records-*`` headers (a log does not)."""

    filename: str
    sections: tuple[str, ...]
    names: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    coverage: bool = True

    @property
    def note(self) -> str:
        """What the operation's description says about the CSV (appended to it)."""
        parts = ", ".join(f"`{s or REPORT_SECTION}`" for s in self.sections)
        text = (
            "\n\n**CSV**: `Accept: text/csv` gives the same figures as a CSV file (`application/json` is the "
            "default; any other `Accept` is 406). "
        )
        if len(self.sections) > 1:
            text += (
                f"Its first column, `section`, names the part of the answer a row comes from ({parts}; `report` "
                "is the answer's own fields), columns are the JSON's fields (nested ones dotted), in a fixed order. "
            )
        if self.names:
            named = ", ".join(f"`{name_column(c)}`" for c in self.names)
            text += (
                f"Beside references their names ({named}), read from their owners with your token: "
                "`(unresolved: not found)` when you may not see it, `(unresolved: unavailable)` when its owner "
                "does not answer. "
            )
        text += (
            "Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage "
            "return) gets a leading `'`; JSON gives every value as stored."
        )
        return text + (" Coverage is in the headers `IV-Records-*`, in both formats." if self.coverage else "")

    def columns(self, model: type[BaseModel]) -> list[str]:
        return list(_columns(self, model))

    def responses(self, model: type[BaseModel], *statuses: int, description: str = "The report.") -> dict[Any, Any]:
        """OpenAPI ``responses`` for a report answered by this export: the JSON (the route's
        ``response_model``), the CSV with its header line as example, the coverage headers, 406, and
        the problem statuses given."""
        header_line = ",".join(self.columns(model)) + "\r\n"
        return {
            200: {
                "description": description,
                "content": {CSV: {"schema": {"type": "string"}, "example": header_line}},
                "headers": HEADER_DOCS if self.coverage else {},
            },
            **problem_responses(*sorted({*statuses, 406})),
        }

    async def respond(
        self, ctx: RequestContext, media: str, report: BaseModel, *, filename: str | None = None
    ) -> Response:
        """The report in the negotiated media type, with the coverage headers."""
        headers = {"Vary": "Accept", **coverage_headers(getattr(report, "coverage", None))}
        if media != CSV:
            return Response(report.model_dump_json(by_alias=True), media_type=JSON, headers=headers)
        text = await self.csv(ctx, report)
        name = (filename or self.filename).replace('"', "")
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(text, media_type="text/csv; charset=utf-8", headers=headers)

    def rows(self, report: BaseModel) -> list[dict[str, Any]]:
        """The rows, as flattened JSON values by column (names not yet filled in)."""
        data = report.model_dump(mode="json", by_alias=True)
        rows: list[dict[str, Any]] = []
        labelled = len(self.sections) > 1
        for section in self.sections:
            if section == "":
                skip = (*self.sections, "coverage")
                own = {k: v for k, v in data.items() if k not in skip and not _lists_objects(v)}
                found: list[Any] = [own]
            else:
                found = _elements(data, section.split("."), {})
            for element in found:
                row = _flat_values(element) if isinstance(element, Mapping) else {section: element}
                if labelled:
                    row[SECTION] = section or REPORT_SECTION
                rows.append(row)
        return rows

    async def csv(self, ctx: RequestContext, report: BaseModel) -> str:
        columns = self.columns(type(report))
        rows = self.rows(report)
        hrefs = [row[c] for row in rows for c in self.names if isinstance(row.get(c), str)]
        labels = await resolve_names(ctx.upstreams, ctx.principal, hrefs, here=ctx)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            for column in self.names:
                value = row.get(column)
                row[name_column(column)] = labels.get(value) if isinstance(value, str) else None
            writer.writerow({c: csv_cell(row.get(c)) for c in columns})
        return buffer.getvalue()


@cache
def _columns(export: Export, model: type[BaseModel]) -> tuple[str, ...]:
    columns: list[str] = [SECTION] if len(export.sections) > 1 else []
    for section in export.sections:
        if section == "":
            skip = {*export.sections, "coverage"}
            own = [
                name
                for name, info in model.model_fields.items()
                if name not in skip and not (_item(info.annotation)[0] and _model(_item(info.annotation)[1]))
            ]
            found = _flat_columns(model, skip=set(model.model_fields) - set(own))
        elif "." in section:
            found = _path_columns(model, section.split("."))
        elif section in model.model_fields:
            _, inner = _item(model.model_fields[section].annotation)
            nested = _model(inner)
            found = _flat_columns(nested) if nested is not None else [section]
        else:
            continue  # a part this kind of answer does not have (a ratio by year has no trend)
        columns.extend(c for c in found if c not in columns)
    for column in export.names:
        if column in columns:
            columns.insert(columns.index(column) + 1, name_column(column))
    return tuple(c for c in columns if c not in export.exclude)


# --- names of what other services hold ------------------------------------------------------------


def label_of(representation: Mapping[str, Any]) -> str | None:
    for field in LABEL_FIELDS:
        value = representation.get(field)
        if isinstance(value, str) and value:
            return value
    return None


async def resolve_names(
    upstreams: Upstreams, principal: Principal, hrefs: Iterable[str], *, here: RequestContext | None = None
) -> dict[str, str | None]:
    """Each href's name, with one batch request per target collection at its owner with the caller's
    token; the unresolved markers for what the caller may not see (or is not there) and for an owner
    that cannot answer. Values that are no href of this platform get no name (None).

    With ``here`` (the request), a collection of this service is read in the request's own
    transaction, under the same need to know, instead of asking this service over HTTP: one
    statement, and names consistent with the rows the report was computed from."""
    by_collection, others = group_by_collection(hrefs)
    names: dict[str, str | None] = dict.fromkeys(others)
    request = here.request if here is not None else None
    own: dict[str, Collection[Any]] = getattr(request.app.state, "collections", {}) if request is not None else {}
    found_at: dict[str, dict[str, dict[str, Any]] | None] = {}
    for path in by_collection:  # one session: one statement after another
        if here is not None and path in own:
            found_at[path] = await _read_here(here, own[path], by_collection[path])

    async def fetch(path: str) -> dict[str, dict[str, Any]] | None:
        try:
            return await upstreams.batch_get(path, by_collection[path], principal)
        except Problem:
            return None  # the owner is down or refused: its names stay unresolved

    elsewhere = [p for p in by_collection if p not in found_at]
    found_at |= dict(zip(elsewhere, await gather(*(fetch(p) for p in elsewhere)), strict=True))
    for path, found in found_at.items():
        for id_ in by_collection[path]:
            if found is None:
                names[f"{path}/{id_}"] = UNRESOLVED_UNAVAILABLE
            else:
                item = found.get(id_)
                names[f"{path}/{id_}"] = (label_of(item) or UNRESOLVED_NOT_FOUND) if item else UNRESOLVED_NOT_FOUND
    return names


async def _read_here(ctx: RequestContext, collection: Collection[Any], ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """This service's records of ``ids`` that the caller may see, as the API represents them."""
    rows = await ctx.session.scalars(collection.base_select(ctx.principal).where(collection.model.id.in_(ids)))
    return {row.id: collection.representation(row) for row in rows}


# --- coverage in headers --------------------------------------------------------------------------


def coverage_headers(coverage: Any) -> dict[str, str]:
    """The coverage of an answer as headers: plain values for one ``Coverage``, an RFC 8941
    dictionary by part (``counts=142, details=138``) for an answer with parts."""
    if isinstance(coverage, Coverage):
        return {h: str(getattr(coverage, f)) for h, f in zip(COVERAGE_HEADERS, _COVERAGE_FIELDS, strict=True)}
    if isinstance(coverage, BaseModel):
        parts = {
            name: value
            for name in type(coverage).model_fields
            if isinstance(value := getattr(coverage, name), Coverage)
        }
        return {
            h: ", ".join(f"{name}={getattr(part, f)}" for name, part in parts.items())
            for h, f in zip(COVERAGE_HEADERS, _COVERAGE_FIELDS, strict=True)
        }
    return {}


_HEADER_TEXT = {
    "IV-Records-Basis": "`visible` or `all` (`coverage.basis`, services/chassis/figures.py)",
    "IV-Records-Counted": "records the figures are computed over (`coverage.counted`)",
    "IV-Records-Left-Out": "records left out because you may not see them (`coverage.left_out`)",
    "IV-Records-Not-Visible": "of the counted records, those you may not see (`coverage.not_visible`)",
}
HEADER_DOCS: dict[str, Any] = {
    name: {
        "description": (
            f"{text}, in JSON and CSV alike: a plain value when `coverage` is one Coverage, a dictionary by "
            "part (`counts=142, details=138`) when it has parts."
        ),
        "schema": {"type": "string"},
    }
    for name, text in _HEADER_TEXT.items()
}
