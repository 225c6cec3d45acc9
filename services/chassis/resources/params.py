"""The parameters and headers the standard endpoints take and give, declared once for OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query
from pydantic import AfterValidator, Field

from services.chassis.pagination import MAX_BATCH, PageQuery
from services.chassis.routing import HREF_PATTERN, parse_href

MAX_FILTER_VALUES = 20


def any_of(description: str = "") -> Any:
    """A filter that takes one value or several, repeated (``?status=active&status=approved``), and
    keeps what matches any of them; not given, it filters nothing (``Collection.filter_clauses``)."""
    repeat = f"Repeatable (`?name=a&name=b`: either), up to {MAX_FILTER_VALUES} values."
    return Field(default_factory=list, max_length=MAX_FILTER_VALUES, description=f"{description} {repeat}".strip())


class ListQuery(PageQuery):
    """Paging, batch get and archive visibility; collections extend it with their filters."""

    id: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Batch get: up to 100 ids (`?id=a&id=b`); archived resources included, filters ignored.",
    )
    include_archived: bool = Field(default=False, description="Also list archived resources.")
    count_not_shown: bool = Field(
        default=False,
        description=(
            "Also answer `not_shown`: how many records match these filters (and `include_archived`) "
            "that you may not see under need to know, over the whole list. Asked once: the `next` link "
            "leaves it out. Not open to chain partners (403)."
        ),
    )


def _platform_href(value: str) -> str:
    if parse_href(value) is None:
        raise ValueError("not an href of this platform")
    return value


Href = Annotated[str, Field(max_length=200, pattern=HREF_PATTERN), AfterValidator(_platform_href)]
"""An href of this platform, as ``parse_href`` reads it (the pattern documents it in OpenAPI)."""

TARGETS_DESCRIPTION = (
    "The href to look for, e.g. `/valuechains/v1/chains/<id>`. Repeatable (`?target=a&target=b`), "
    "up to 100: one question for many targets, each item saying which of them it points at."
)


class ReferencesQuery(PageQuery):
    target: list[Href] = Field(min_length=1, max_length=MAX_BATCH, description=TARGETS_DESCRIPTION)
    in_use: bool = Field(
        default=False,
        description=(
            "Only the resources that still hold the target in use: not archived, and pointing at it "
            "through a field that depends on it (records *about* it, such as assessments, reviews, a "
            "period's allocation or a closed round's items, are left out). What archiving asks."
        ),
    )


ArchiveForce = Annotated[
    bool,
    Query(description="Archive although active resources still point at it; needs `reason` (recorded in the feed)."),
]
ArchiveReason = Annotated[
    str | None,
    Query(min_length=1, max_length=500, description="Why it is archived; recorded in the change feed's event."),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag you last read, e.g. `"3"`. Required; stale gives 412.'),
]
IfMatchOptional = Annotated[
    str | None,
    Header(alias="If-Match", description='Optional ETag, e.g. `"3"`; when given and stale, 412.'),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="`*` to create only: when the resource already exists the answer is 412 and nothing changes.",
    ),
]
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
ResourceId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN, description="The resource's id.")]

ETAG_HEADER = {"ETag": {"description": 'The version, quoted: `"3"`.', "schema": {"type": "string"}}}
LOCATION_HEADER = {"Location": {"description": "href of the new resource.", "schema": {"type": "string"}}}
