"""The list envelope and keyset pagination shared by every collection."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request

from services.chassis.errors import ValidationProblem
from services.chassis.text import text_problem

T = TypeVar("T")

MAX_LIMIT = 100
MAX_BATCH = 100
COUNT_NOT_SHOWN = "count_not_shown"
"""The list parameter that asks for ``not_shown``; for the whole list, so never in a ``next`` link."""
NOT_SHOWN_DESCRIPTION = (
    "Only with `count_not_shown=true`: how many records match this list's filters (and its "
    "`include_archived`) that you may not see under need to know, over the whole list, not this page. "
    "With `id` (a batch get): how many of the ids asked for are not in `items` (hidden or unknown alike)."
)


def _count_schema(schema: dict[str, Any]) -> None:
    """``not_shown`` as documented: an integer from 0, absent unless asked for (no null default)."""
    schema.pop("default", None)
    schema["minimum"] = 0


class Page(BaseModel, Generic[T]):
    """A page of a collection. ``next`` is the gateway path of the next page, or null on the last."""

    items: list[T]
    next: str | None = Field(
        default=None, description="Path (through the gateway) of the next page; null on the last page."
    )
    not_shown: int | SkipJsonSchema[None] = Field(
        # Not asked for, the field is not there at all: a page is ``{"items", "next"}`` as ever.
        default=None,
        exclude_if=lambda value: value is None,
        description=NOT_SHOWN_DESCRIPTION,
        json_schema_extra=_count_schema,
    )


class PageQuery(BaseModel):
    """Paging parameters every list accepts. Unknown query parameters are rejected."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Items per page, 1 to 100.")
    after: str | None = Field(
        default=None, max_length=512, description="Opaque cursor from the previous page's `next`."
    )


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([v if isinstance(v, str | int | float | None) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationProblem.field(["query", "after"], "not a cursor this service issued") from exc
    if not isinstance(values, list) or len(values) != width:
        raise ValidationProblem.field(["query", "after"], "not a cursor this service issued")
    return values


def keyset_after(
    columns: Sequence[InstrumentedAttribute[Any] | ColumnElement[Any]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in ascending (columns...) order, portable to every dialect."""
    clauses = []
    for i, column in enumerate(columns):
        equal_prefix = [columns[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, column > values[i]))
    return or_(*clauses)


def apply_keyset(
    stmt: Select[Any],
    columns: Sequence[InstrumentedAttribute[Any] | ColumnElement[Any]],
    query: PageQuery,
) -> Select[Any]:
    if query.after is not None:
        raw = decode_cursor(query.after, len(columns))
        values = [_cursor_value(value, column) for value, column in zip(raw, columns, strict=True)]
        stmt = stmt.where(keyset_after(columns, values))
    return stmt.order_by(*columns).limit(query.limit + 1)


def _cursor_value(value: Any, column: InstrumentedAttribute[Any] | ColumnElement[Any]) -> Any:
    """A cursor's value as its column's type, or 422: a cursor is opaque, but it comes from outside."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    ok = False
    if kind is str:
        ok = isinstance(value, str) and text_problem(value) is None
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind in (dt.date, dt.datetime) and isinstance(value, str):
        try:
            value = kind.fromisoformat(value)
            ok = True
        except ValueError:
            ok = False
    if not ok:
        raise ValidationProblem.field(["query", "after"], "not a cursor this service issued")
    return value


def next_link(request: Request, public_prefix: str, last_values: Sequence[Any]) -> str:
    """The gateway path of the next page: same path and filters, a new cursor (``not_shown`` was
    for the whole list: the next page does not ask for it again)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", COUNT_NOT_SHOWN)]
    params.append(("after", encode_cursor(last_values)))
    return f"{public_prefix}{request.url.path}?{urlencode(params)}"
