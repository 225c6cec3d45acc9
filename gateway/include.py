"""``GET <resource>?include=teams,assessments``: the resources that point at this one, embedded.

What can be included where is read from the services' OpenAPI documents, not declared here: a list
operation ``/<service>/v1/<collection>`` whose query parameter is marked ``x-reference`` (it takes
the href of a resource in the collections it names, ``/valuechains/v1/teams?chain=<href>``) makes
``<collection>`` includable on every resource of those collections. When one list has several such
filters for the same resource, the most specific one (naming fewest collections) is used, then
the first by name; a collection name two services share is qualified as ``<service>.<collection>``.

Each included collection costs one request to its owner, all at once: the filtered list, with the
caller's token (so each owner leaves out what this caller may not see) and ``limit`` set to the
gateway's ``include_limit``. The answer gets ``"included": {"<name>": {"items": [...], "next": ...}}``;
``next`` is the owner's link to the rest of that list; with ``count_not_shown=true`` beside ``include``
each list is asked for its ``not_shown`` too, and carries it. A collection that cannot be listed now
(owner down, access refused) is ``{"items": [], "next": null, "error": {...}}``; the resource
itself and the other collections are intact. ``include`` is the gateway's own parameter: checked
before anything is sent (an unknown name is 400 naming it) and never forwarded.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pydantic
import pydantic_core
from fastapi import Request

from gateway.resilience import UpstreamClient
from gateway.settings import GatewaySettings
from services.chassis.errors import BadRequest, Problem, ProblemType, ServiceUnavailable, type_for_status
from services.chassis.pagination import COUNT_NOT_SHOWN
from services.chassis.routing import SERVICES, parse_href
from services.chassis.schema_index import ANY_COLLECTION, SchemaIndex
from services.chassis.tasks import gather

if TYPE_CHECKING:
    from gateway.openapi import OpenAPICatalogue

INCLUDE = "include"
DEFAULT_LIMIT = 25
MAX_INCLUDES = 20
BOOLEAN = pydantic.TypeAdapter(bool)
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}(\.[a-z][a-z0-9_-]{0,63})?$")

INCLUDE_DESCRIPTION = (
    "Comma-separated names of collections whose resources point at this one, embedded under "
    '`"included": {"<name>": {"items": [...], "next": ...}}`. Each is one filtered list request to its '
    "owner with your token, so you see only what you may see; `items` is its first page ({limit} at "
    "most) and `next` the link to the rest of that list (null when there is no more). A collection "
    "that cannot be listed now keeps `items` empty and says why in `error` (a problem: type, title, "
    "status, detail). An unknown name is 400. Combines with `expand`, which applies to the resource's "
    "own fields."
)

COUNT_DESCRIPTION = (
    "Only with `include`: each included list also carries `not_shown`, its own count of the records "
    "matching it that you may not see under need to know (`count_not_shown=true` on each list). A "
    "chain partner's lists refuse it, so each of theirs is an `error` (403)."
)


@dataclass(frozen=True)
class Includable:
    """One collection that can be included on the resources of a collection."""

    name: str
    list_path: str
    """Its list through the gateway: ``/valuechains/v1/teams``."""
    parameter: str
    """The filter that takes the resource's href: ``chain``."""
    item_schema: dict[str, Any]

    @property
    def service(self) -> str:
        return self.list_path.strip("/").split("/", 1)[0]

    @property
    def upstream_path(self) -> str:
        return self.list_path[len(self.service) + 1 :]


IncludeTable = dict[str, dict[str, Includable]]
"""Resource collection path -> include name -> what to list."""


def _item_schema(index: SchemaIndex, operation: dict[str, Any]) -> dict[str, Any]:
    responses = operation.get("responses", {})
    content = responses.get("200", {}).get("content", {}) if isinstance(responses.get("200"), dict) else {}
    schema = index.resolve(content.get("application/json", {}).get("schema"))
    items = index.resolve(schema.get("properties", {}).get("items"))
    item = items.get("items")
    return item if isinstance(item, dict) else {}


def include_table(index: SchemaIndex) -> IncludeTable:
    """Every includable collection, from the list operations' reference filters."""
    # (target, collection) -> list path -> (specificity, parameter, item schema)
    found: dict[tuple[str, str], dict[str, tuple[int, str, dict[str, Any]]]] = defaultdict(dict)
    for path, operation in index.list_operations():
        parsed = parse_href(path)
        if parsed is None or parsed.id is not None or parsed.collection_path != path:
            continue  # nested lists (/chains/{id}/teams) are the same lists filtered by their parent
        item = _item_schema(index, operation)
        for parameter, targets in sorted(index.reference_filters(operation).items()):
            for target in targets:
                if target == ANY_COLLECTION:
                    continue
                candidate = (len(targets), parameter, item)
                current = found[(target, parsed.collection)].get(path)
                if current is None or candidate[:2] < current[:2]:
                    found[(target, parsed.collection)][path] = candidate
    table: IncludeTable = defaultdict(dict)
    for (target, collection), by_path in sorted(found.items()):
        if index.read_schema(target) is None:
            continue  # not a resource anyone can GET
        for path, (_, parameter, item) in sorted(by_path.items()):
            name = collection if len(by_path) == 1 else f"{path.strip('/').split('/', 1)[0]}.{collection}"
            table[target][name] = Includable(name, path, parameter, item)
    return dict(table)


def parse_include(values: Iterable[str]) -> list[str]:
    """The names asked for (repeatable, comma-separated), de-duplicated; 400 when malformed."""
    names: list[str] = []
    for value in values:
        for raw in value.split(","):
            name = raw.strip()
            if not name:
                continue
            if not NAME.match(name):
                raise BadRequest(f"include {name!r} is not a collection name")
            if name not in names:
                names.append(name)
    if len(names) > MAX_INCLUDES:
        raise BadRequest(f"{len(names)} collections to include; at most {MAX_INCLUDES} are allowed")
    return names


def parse_count(values: list[str]) -> bool:
    """``count_not_shown`` beside ``include``, read as the lists read it; 400 when malformed or twice."""
    if not values:
        return False
    if len(values) > 1:
        raise BadRequest(f"{COUNT_NOT_SHOWN} may be given once")
    try:
        return bool(BOOLEAN.validate_python(values[0]))
    except pydantic.ValidationError:
        raise BadRequest(f"{COUNT_NOT_SHOWN} {values[0]!r} is not true or false") from None


@dataclass(frozen=True)
class IncludePlan:
    """What to list for one request: each collection and the href its filter takes."""

    href: str
    collections: tuple[Includable, ...]
    count_not_shown: bool = False
    """Ask each list for ``not_shown`` too (the caller sent ``count_not_shown=true`` with ``include``)."""

    async def embed(self, data: Any, request: Request) -> None:
        """Add ``included`` to the answer ``data``, listing as the caller of ``request``."""
        client: UpstreamClient = request.app.state.upstream_client
        settings: GatewaySettings = request.app.state.settings
        includer = Includer(
            client,
            request.headers.get("authorization"),
            limit=settings.include_limit,
            count_not_shown=self.count_not_shown,
        )
        await includer.include(data, self)


async def plan_include(request: Request) -> IncludePlan | None:
    """The collections ``include`` asks for, checked; None when there is nothing to fetch."""
    values = request.query_params.getlist(INCLUDE)
    if not values:
        return None
    catalogue: OpenAPICatalogue = request.app.state.openapi
    method, path = request.method, request.url.path
    if method not in ("GET", "HEAD"):
        raise BadRequest(f"include applies to GET only, not {method}")
    names = parse_include(values)
    count = parse_count(request.query_params.getlist(COUNT_NOT_SHOWN))
    if not names or method == "HEAD":
        return None
    parsed = parse_href(path)
    merged = await catalogue.get()
    table = merged.includes.get(parsed.collection_path, {}) if parsed is not None and parsed.id else {}
    unknown = [name for name in names if name not in table]
    if unknown:
        missing = merged.document.get("x-missing-services", [])
        if missing:
            raise ServiceUnavailable(
                f"include cannot be checked now: the API description of {', '.join(missing)} is unavailable"
            )
        where = f"{parsed.collection_path}/{{id}}" if parsed is not None and parsed.id else path
        known = ", ".join(sorted(table)) or "nothing"
        listed = ", ".join(repr(n) for n in unknown)
        raise BadRequest(f"include {listed}: not a collection that can be included on {where} (it can include {known})")
    assert parsed is not None
    return IncludePlan(str(parsed), tuple(table[name] for name in names), count)


class Includer:
    """Lists the included collections for one caller: one request per collection, all at once."""

    def __init__(
        self, upstreams: UpstreamClient, authorization: str | None, *, limit: int, count_not_shown: bool = False
    ) -> None:
        self.upstreams = upstreams
        self.headers = {"Accept": "application/json"}
        if authorization:
            self.headers["Authorization"] = authorization
        self.limit = limit
        self.count_not_shown = count_not_shown

    async def include(self, data: Any, plan: IncludePlan) -> None:
        """Add ``included`` to the resource ``data`` (in place)."""
        if not isinstance(data, dict):
            return
        href = data["href"] if isinstance(data.get("href"), str) else plan.href
        answers = await gather(*(self.list(c, href) for c in plan.collections))
        data["included"] = {c.name: answer for c, answer in zip(plan.collections, answers, strict=True)}

    async def list(self, collection: Includable, href: str) -> dict[str, Any]:
        upstream = self.upstreams.by_name(collection.service)
        if upstream is None:  # the table only names served collections; kept for safety
            return _failed(type_for_status(404), f"no service serves {collection.list_path}")
        params = [(collection.parameter, href), ("limit", str(self.limit))]
        if self.count_not_shown:
            params.append((COUNT_NOT_SHOWN, "true"))
        query = urlencode(params)
        try:
            response = await self.upstreams.send(
                upstream, "GET", f"{collection.upstream_path}?{query}", headers=self.headers
            )
        except Problem as exc:
            return _failed(exc.problem_type, exc.detail)
        try:
            body = pydantic_core.from_json(response.content) if response.content else None
        except ValueError:
            body = None
        status = response.status_code
        if status == 200 and isinstance(body, dict) and isinstance(body.get("items"), list):
            next_link = body.get("next")
            listed = {"items": body["items"], "next": next_link if isinstance(next_link, str) else None}
            if self.count_not_shown and isinstance(body.get("not_shown"), int):
                listed["not_shown"] = body["not_shown"]
            return listed
        if status == 200:
            return _failed(
                type_for_status(502), f"the {collection.service} service answered {collection.list_path} with no list"
            )
        if status >= 500:
            problem_type = type_for_status(503 if status == 503 else 502)
            return _failed(problem_type, f"the {collection.service} service failed ({status})")
        detail = body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), str) else None
        if status in (401, 403):
            detail = f"this caller may not list {collection.list_path}" + (f": {detail}" if detail else "")
        return _failed(type_for_status(status), detail or f"{collection.list_path} answered {status}")


def _failed(problem_type: ProblemType, detail: str) -> dict[str, Any]:
    error = {"type": problem_type.uri, "title": problem_type.title, "status": problem_type.status, "detail": detail}
    return {"items": [], "next": None, "error": error}


# --- documentation ---------------------------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Why this collection could not be listed now, as in a problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _included_schema(collections: Mapping[str, Includable]) -> dict[str, Any]:
    properties = {
        name: {
            "type": "object",
            "description": f"The first page of `GET {c.list_path}?{c.parameter}=<this href>`.",
            "properties": {
                "items": {"type": "array", "items": c.item_schema},
                "next": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "Path (through the gateway) of the next page of that list; null on the last.",
                },
                "not_shown": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Only with `count_not_shown=true`: that list's `not_shown`.",
                },
                "error": ERROR_SCHEMA,
            },
            "required": ["items", "next"],
        }
        for name, c in sorted(collections.items())
    }
    return {
        "type": "object",
        "description": "Only with `?include=`: the collections asked for, by name.",
        "properties": properties,
        "additionalProperties": False,
    }


def document_include(doc: dict[str, Any], table: IncludeTable, *, limit: int) -> None:
    """On every resource GET that can include something: the ``include`` parameter (an enum of what
    it can include) and ``included`` in its answer."""
    for path, item in doc["paths"].items():
        operation = item.get("get") if isinstance(item, dict) else None
        if not isinstance(operation, dict) or not path.startswith(tuple(f"/{s}/" for s in SERVICES)):
            continue
        collection_path, _, last = path.rpartition("/")
        collections = table.get(collection_path) if last.startswith("{") and last.endswith("}") else None
        if not collections:
            continue
        params = operation.setdefault("parameters", [])
        if any(p.get("name") == INCLUDE and p.get("in") == "query" for p in params):
            continue
        names = sorted(collections)
        described = INCLUDE_DESCRIPTION.replace("{limit}", str(limit))
        listing = ", ".join(f"`{n}` ({collections[n].list_path}?{collections[n].parameter}=)" for n in names)
        params.append(
            {
                "name": INCLUDE,
                "in": "query",
                "required": False,
                "style": "form",
                "explode": False,
                "description": f"{described}\n\nIncludable here: {listing}.",
                "schema": {"type": "array", "items": {"type": "string", "enum": names}, "maxItems": MAX_INCLUDES},
                "example": names[: min(2, len(names))],
            }
        )
        params.append(
            {
                "name": COUNT_NOT_SHOWN,
                "in": "query",
                "required": False,
                "description": COUNT_DESCRIPTION,
                "schema": {"type": "boolean", "default": False},
            }
        )
        success = operation.get("responses", {}).get("200")
        media = success.get("content", {}).get("application/json") if isinstance(success, dict) else None
        if isinstance(media, dict) and isinstance(media.get("schema"), dict):
            media["schema"] = {
                "allOf": [
                    media["schema"],
                    {"type": "object", "properties": {"included": _included_schema(collections)}},
                ]
            }
