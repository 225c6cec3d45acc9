"""Statements built once and reused: what a hot read costs is running SQL, not building it.

Building a SQLAlchemy statement (coercing every column and condition, generating its cache key)
costs more than executing a cheap one on SQLite. A statement whose shape depends only on a few
things (who is asking, as need to know sees them; whether it locks) is built once per shape and
kept; the values that change per request (the id, today's date) are ``bindparam``\\ s that must be
given at execution (``required=True``: a statement run without them fails, it never reuses a value
from an earlier request).

The caller's part of a shape is ``visibility.viewer_key``: everything need to know reads of a
principal, so that two callers with the same key see exactly the same rows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Date, bindparam

T = TypeVar("T")

ID = "id"
TODAY = "today"


def id_param() -> BindParameter[str]:
    """The id of the row a cached statement reads, given at execution as ``{"id": ...}`` (its type
    is the column's it is compared with)."""
    return bindparam(ID, required=True)


def today_param() -> BindParameter[Any]:
    """Today's date in a cached statement, given at execution as ``{"today": ...}``."""
    return bindparam(TODAY, type_=Date(), required=True)


class StatementCache:
    """Statements by shape, the least recently used dropped beyond ``maxsize`` (shapes are few:
    a handful of clearances times the units that ask)."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        try:
            self._items.move_to_end(key)
            item: T = self._items[key]
            return item
        except KeyError:
            pass
        item = build()
        self._items[key] = item
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return item

    def __len__(self) -> int:
        return len(self._items)
