"""References between resources: ``{"href": "/valuechains/v1/chains/<id>"}``.

Services never copy each other's data; they point at it. A reference received on write is checked
by asking its owner (one batch GET per target collection, with the caller's token) before any
transaction starts: unknown target 422, owner unreachable 503, and nothing is stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Annotated, Any

import httpx2
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.chassis.auth import Principal
from services.chassis.errors import NOT_FOUND, ProblemType, ServiceUnavailable, ValidationProblem
from services.chassis.http_transport import PooledTransport
from services.chassis.pagination import MAX_BATCH, MAX_LIMIT
from services.chassis.routing import parse_href
from services.chassis.settings import CommonSettings
from services.chassis.tasks import gather

ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"


REFERENCE_EXTENSION = "x-reference"
"""Marks a reference in the OpenAPI schemas; its value is the target collection path ("*" for any).
The gateway uses it to check ``expand`` paths."""


class Ref(BaseModel):
    """A pointer to a resource, by its path through the gateway."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={REFERENCE_EXTENSION: "*"})

    href: str = Field(
        description="The referenced resource's path through the gateway.",
        examples=["/valuechains/v1/chains/0192f1b2-7c3d-7abc-8def-0123456789ab"],
    )


def unresolved(href: str, problem_type: ProblemType, detail: str) -> dict[str, Any]:
    """A reference that could not be replaced by what it points at, as every expansion leaves it:
    ``{"href": X, "error": {"type", "title", "status", "detail"}}``, the error as in a problem document."""
    return {
        "href": href,
        "error": {
            "type": problem_type.uri,
            "title": problem_type.title,
            "status": problem_type.status,
            "detail": detail,
        },
    }


def not_found(href: str) -> dict[str, Any]:
    """``href`` as a reference to nothing this caller may see (404)."""
    parsed = parse_href(href)
    if parsed is None or parsed.id is None:
        return unresolved(href, NOT_FOUND, "not the address of a resource of this platform")
    return unresolved(href, NOT_FOUND, f"no resource at {href}")


def ref_type(name: str, collection_path: str, description: str) -> type[Ref]:
    """A reference type that only accepts hrefs into ``collection_path``."""
    pattern = f"^{re.escape(collection_path)}/{ID_PATTERN}$"
    namespace: dict[str, Any] = {
        "__doc__": description,
        "__module__": __name__,
        "__annotations__": {"href": Annotated[str, StringConstraints(pattern=pattern, max_length=200)]},
        "model_config": ConfigDict(extra="forbid", json_schema_extra={REFERENCE_EXTENSION: collection_path}),
        "href": Field(
            description=f"Path of a resource in `{collection_path}`.",
            examples=[f"{collection_path}/0192f1b2-7c3d-7abc-8def-0123456789ab"],
        ),
    }
    return type(name, (Ref,), namespace)


def reference_filter(
    targets: str | Sequence[str], description: str, *, max_length: int = 200, default: Any = None
) -> Any:
    """A list filter that takes the href of a resource in ``targets`` (collection paths), marked
    ``x-reference`` on its query parameter: the gateway reads the mark to tell which collections
    can be included on which resource (``?include=``), and principles to tell which subjects belong
    to a chain."""
    mark: Any = targets if isinstance(targets, str) else list(targets)
    return Field(
        default=default,
        max_length=max_length,
        pattern=href_or_id_pattern(targets),
        description=description,
        json_schema_extra={REFERENCE_EXTENSION: mark},
    )


ANY_HREF_PREFIX = "/[a-z]+/v1/[a-z][a-z_-]*/"


def href_or_id_pattern(targets: str | Sequence[str]) -> str:
    """What a filter on a reference into ``targets`` takes: an href into one of them (``*``: any
    collection of the platform), or a bare id, matched whole."""
    paths = [targets] if isinstance(targets, str) else list(targets)
    prefix = ANY_HREF_PREFIX if "*" in paths else "(?:" + "|".join(f"{path}/" for path in paths) + ")"
    return f"^(?:{prefix})?{ID_PATTERN}$"


def pooled_transport() -> httpx2.AsyncBaseTransport:
    """The connections a process reaches the other services over (``http_transport``)."""
    return PooledTransport(max_connections=200)


def build_http_client(
    settings: CommonSettings, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The one pooled client a process uses to reach the other services: httpx2's interface on
    ``pooled_transport()``; ``transport`` replaces it (tests in-process)."""
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        transport=transport or pooled_transport(),
        follow_redirects=False,
    )


def group_by_collection(hrefs: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The ids of resource hrefs per collection path (each once), and the values that are no resource
    href of this platform: what one batch request per collection asks for."""
    by_collection: dict[str, list[str]] = defaultdict(list)
    others: list[str] = []
    for href in dict.fromkeys(hrefs):
        parsed = parse_href(href)
        if parsed is None or parsed.id is None:
            others.append(href)
        else:
            by_collection[parsed.collection_path].append(parsed.id)
    return by_collection, others


class Upstreams:
    """Reaches the owner of any href through the shared prefix-to-URL table."""

    def __init__(self, settings: CommonSettings, client: httpx2.AsyncClient) -> None:
        self.table = settings.upstreams()
        self.client = client

    def url_for(self, path: str) -> str:
        prefix = "/" + path.lstrip("/").split("/", 1)[0]
        base = self.table.get(prefix)
        if base is None:
            raise ValueError(f"no service owns {path}")
        return base + path[len(prefix) :]

    async def get_json(self, path: str, principal: Principal, params: Any = None) -> httpx2.Response:
        """GET a path of another service with the caller's token; 503 problem when unreachable."""
        return await self.send("GET", path, principal, params=params)

    async def post_json(self, path: str, principal: Principal, body: Any) -> httpx2.Response:
        """POST a JSON body to another service with the caller's token (for questions that need a
        body, such as a compliance check); 503 problem when unreachable."""
        return await self.send("POST", path, principal, json=body)

    async def send(
        self, method: str, path: str, principal: Principal, *, params: Any = None, json: Any = None
    ) -> httpx2.Response:
        service = path.lstrip("/").split("/", 1)[0]
        try:
            response = await self.client.request(
                method, self.url_for(path), params=params, json=json, headers=principal.authorization
            )
        except httpx2.TimeoutException as exc:
            raise ServiceUnavailable(f"the {service} service did not answer in time") from exc
        except httpx2.TransportError as exc:
            raise ServiceUnavailable(f"the {service} service is unreachable") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"the {service} service failed ({response.status_code})")
        return response

    async def list_all(
        self, collection_path: str, principal: Principal, params: Sequence[tuple[str, str]] = ()
    ) -> list[dict[str, Any]]:
        """Every item of another service's list with these filters, page after page (following
        ``next``), with the caller's token; 503 when the owner is unreachable or does not answer 200."""
        items: list[dict[str, Any]] = []
        path: Any = collection_path
        query: Any = [*params, ("limit", str(MAX_LIMIT))]
        while isinstance(path, str) and path:
            response = await self.get_json(path, principal, query)
            if response.status_code != 200:
                raise ServiceUnavailable(f"{collection_path} answered {response.status_code}")
            page = response.json()
            items.extend(item for item in page.get("items", []) if isinstance(item, dict))
            path, query = page.get("next"), None  # the next page's path carries its query
        return items

    async def batch_get(
        self, collection_path: str, ids: Sequence[str], principal: Principal
    ) -> dict[str, dict[str, Any]]:
        """Representations by id, fetched in batches of up to 100; ids not visible are absent."""
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i : i + MAX_BATCH] for i in range(0, len(unique), MAX_BATCH)]
        pages = await gather(
            *(
                self.get_json(collection_path, principal, [("id", i) for i in chunk] + [("limit", str(MAX_BATCH))])
                for chunk in chunks
            )
        )
        found: dict[str, dict[str, Any]] = {}
        for response in pages:
            if response.status_code in (401, 403):
                raise ServiceUnavailable(f"{collection_path} refused this caller's token ({response.status_code})")
            if response.status_code != 200:
                continue  # an unknown collection: nothing in it exists
            for item in response.json().get("items", []):
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    found[item["id"]] = item
        return found

    async def resolve(self, hrefs: Iterable[str], principal: Principal) -> dict[str, dict[str, Any] | None]:
        """Each href's representation (None when missing or hidden), one batch per collection."""
        by_collection, others = group_by_collection(hrefs)
        result: dict[str, dict[str, Any] | None] = dict.fromkeys(others)
        collections = list(by_collection)
        fetched = await gather(*(self.batch_get(path, by_collection[path], principal) for path in collections))
        for path, items in zip(collections, fetched, strict=True):
            for id_ in by_collection[path]:
                result[f"{path}/{id_}"] = items.get(id_)
        return result

    async def check(
        self,
        refs: Sequence[tuple[Sequence[str | int], str]],
        principal: Principal,
        *,
        live: bool = False,
        kept: AbstractSet[str] = frozenset(),
    ) -> None:
        """422 naming each field whose reference does not resolve for this caller (with ``live``,
        also each one that points at an archived resource, unless it is ``kept``: an existing
        reference stays, a new one must point at a live resource)."""
        if not refs:
            return
        resolved = await self.resolve([href for _, href in refs], principal)
        errors = []
        for loc, href in refs:
            found = resolved.get(href)
            if found is None:
                errors.append({"loc": list(loc), "msg": f"no such resource: {href}", "type": "reference_not_found"})
            elif live and found.get("status") == ARCHIVED_STATUS and href not in kept:
                errors.append(archived_reference(loc, href))
        if errors:
            fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in errors)
            raise ValidationProblem(f"{reference_problem(errors)} in {fields}", errors=errors)


ARCHIVED_STATUS = "archived"


def reference_problem(errors: Sequence[Mapping[str, Any]]) -> str:
    """How a list of reference errors is summed up: unknown, archived, or both."""
    kinds = {e["type"] for e in errors}
    return {
        frozenset({"reference_not_found"}): "unknown reference",
        frozenset({"reference_archived"}): "archived reference",
    }.get(frozenset(kinds), "unknown or archived reference")


def archived_reference(loc: Sequence[str | int], href: str) -> dict[str, Any]:
    """The error of a new reference to an archived resource (existing references stay readable)."""
    return {
        "loc": list(loc),
        "msg": f"{href} is archived: a new reference must point at a live resource",
        "type": "reference_archived",
    }
