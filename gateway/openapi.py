"""One OpenAPI document for the whole platform: the services' documents under their prefixes.

Every path gets its service's prefix; components keep their names when all services agree on
them (``Problem``, ``HTTPBearer``) and are renamed ``<Service><Name>`` where they differ, so no
document's schema silently replaces another's. Operations are tagged ``<service>: <tag>`` and
their ids prefixed with the service, so each appears once with a unique id. The document is
fetched from the services, cached, and rebuilt on the next request while any service is missing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from gateway.expand_paths import MAX_EXPAND_CHARS, MAX_PATHS, expandable_paths
from gateway.include import DEFAULT_LIMIT, IncludeTable, document_include, include_table
from gateway.resilience import UpstreamClient
from services.chassis.canonical import canonical_json
from services.chassis.errors import Problem
from services.chassis.references import REFERENCE_EXTENSION
from services.chassis.routing import SERVICES
from services.chassis.schema_index import SchemaIndex
from services.chassis.tasks import gather

logger = logging.getLogger("iv.gateway.openapi")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_SECTIONS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)
GATEWAY = "gateway"
PREFIX = "#/components/schemas/"
MAX_DOCUMENTED_PATHS = 200
UNRESOLVED = "UnresolvedReference"
UNRESOLVED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A reference the gateway could not replace by what it points at, and why.",
    "required": ["href", "error"],
    "properties": {
        "href": {"type": "string"},
        "error": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        },
    },
}

EXPAND_DESCRIPTION = (
    "Comma-separated paths of references to replace by the resources they point at, resolved "
    "by the gateway with the caller's token: dotted for nested references (`a.b`), at most 3 "
    "segments, 1,000 characters in all and 1,000 references per request. On a list, paths apply "
    "to each item. A reference that cannot be resolved (missing, or not visible to you) stays "
    '`{"href": ..., "error": {"type": "/problems/not-found", "title": "Not found", "status": 404, '
    '"detail": ...}}` (503 when its owner is down); a path that names no reference is 400.'
)


def _walk_refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node`` that holds a ``$ref``."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


def _split_ref(ref: str) -> tuple[str, str] | None:
    parts = ref.split("/")
    if len(parts) == 4 and parts[0] == "#" and parts[1] == "components":
        return parts[2], parts[3]
    return None


def _rename_plan(docs: Mapping[str, dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    """(source, section, name) -> merged name, for every component of every source."""
    plan: dict[tuple[str, str, str], str] = {}
    for section in COMPONENT_SECTIONS:
        owners: dict[str, dict[str, Any]] = {}
        for source, doc in docs.items():
            for name, value in doc.get("components", {}).get(section, {}).items():
                owners.setdefault(name, {})[source] = value
        conflicting = {
            name for name, by_source in owners.items() if len({canonical_json(v) for v in by_source.values()}) > 1
        }
        # A component identical everywhere still differs when it points at one that differs.
        changed = True
        while changed:
            changed = False
            for name, by_source in owners.items():
                if name in conflicting or len(by_source) < 2:
                    continue
                if any(_references_any(value, section, conflicting) for value in by_source.values()):
                    conflicting.add(name)
                    changed = True
        taken = {name for name in owners if name not in conflicting}
        for name, by_source in owners.items():
            for source in by_source:
                merged = name
                if name in conflicting:
                    merged = f"{source.capitalize()}{name}"
                    suffix = 2
                    while merged in taken:
                        merged = f"{source.capitalize()}{name}{suffix}"
                        suffix += 1
                    taken.add(merged)
                plan[(source, section, name)] = merged
    return plan


def _references_any(value: Any, section: str, names: set[str]) -> bool:
    for holder in _walk_refs(value):
        split = _split_ref(holder["$ref"])
        if split is not None and split[0] == section and split[1] in names:
            return True
    return False


def _rewrite_refs(node: Any, source: str, plan: Mapping[tuple[str, str, str], str]) -> None:
    for holder in _walk_refs(node):
        split = _split_ref(holder["$ref"])
        if split is None:
            continue
        section, name = split
        holder["$ref"] = f"#/components/{section}/{plan.get((source, section, name), name)}"


def merge_documents(
    own: dict[str, Any],
    services: Mapping[str, dict[str, Any] | None],
    *,
    title: str,
    version: str,
    description: str,
    include_limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The merged document; ``own`` holds the gateway's operations (already at their paths)."""
    present = {name: copy.deepcopy(doc) for name, doc in services.items() if doc is not None}
    sources: dict[str, dict[str, Any]] = {GATEWAY: copy.deepcopy(own), **present}
    plan = _rename_plan(sources)

    components: dict[str, dict[str, Any]] = {}
    paths: dict[str, Any] = {}
    tags: list[dict[str, Any]] = []
    tag_groups: list[dict[str, Any]] = []
    operation_ids: set[str] = set()

    for source, doc in sources.items():
        _rewrite_refs(doc, source, plan)
        for section, entries in doc.get("components", {}).items():
            for name, value in entries.items():
                components.setdefault(section, {})[plan.get((source, section, name), name)] = value
        prefix = "" if source == GATEWAY else f"/{source}"
        tag_info = {t["name"]: t for t in doc.get("tags", []) if isinstance(t, dict) and "name" in t}
        group: list[str] = []
        for path, item in doc.get("paths", {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                original_tags = [str(t) for t in operation.get("tags") or []]
                names = [f"{source}: {tag}" for tag in original_tags] or [source]
                operation["tags"] = names
                for name, original in zip_longest(names, original_tags):
                    if name in group:
                        continue
                    group.append(name)
                    info = tag_info.get(original or "", {})
                    tags.append(
                        {"name": name, **({"description": info["description"]} if "description" in info else {})}
                    )
                base_id = f"{source}_{operation.get('operationId') or method + path.replace('/', '_')}"
                operation_id, suffix = base_id, 2
                while operation_id in operation_ids:
                    operation_id, suffix = f"{base_id}_{suffix}", suffix + 1
                operation_ids.add(operation_id)
                operation["operationId"] = operation_id
            paths[prefix + path] = item
        if group:
            tag_groups.append({"name": source, "tags": group})

    missing = [name for name, doc in services.items() if doc is None]
    sections = [description]
    for name, doc in present.items():
        summary = doc.get("info", {}).get("description", "").split("\n\n### Problem types")[0]
        sections.append(f"### {name}\n\n{summary}")
    if missing:
        sections.append(
            "**Not shown now:** the API of "
            + ", ".join(missing)
            + " could not be fetched; it appears as soon as the service answers again."
        )
    merged: dict[str, Any] = {
        "openapi": next((d["openapi"] for d in present.values() if "openapi" in d), "3.1.0"),
        "info": {"title": title, "version": version, "description": "\n\n".join(sections)},
        "paths": paths,
        "components": components,
        "tags": tags,
        "x-tagGroups": tag_groups,
    }
    if missing:
        merged["x-missing-services"] = missing
    _document_expand(merged)
    document_include(merged, include_table(SchemaIndex(merged)), limit=include_limit)
    return merged


def _document_expand(doc: dict[str, Any]) -> None:
    """The ``expand`` parameter on every service GET whose answer holds references, listing every
    path it takes; and, in what the services answer, each reference as what it may come back as
    through the gateway (``<Ref>Expandable``: the reference, the resource it points at, or the
    reference with the error that kept it from being resolved)."""
    index = SchemaIndex(doc)
    for path, item in doc["paths"].items():
        operation = item.get("get")
        if not isinstance(operation, dict) or not path.startswith(tuple(f"/{s}/" for s in SERVICES)):
            continue
        root = index.response_root(operation)
        if root is None:
            continue
        paths = expandable_paths(index, root, limit=MAX_DOCUMENTED_PATHS)
        params = operation.setdefault("parameters", [])
        if not paths or any(p.get("name") == "expand" and p.get("in") == "query" for p in params):
            continue
        params.append(
            {
                "name": "expand",
                "in": "query",
                "required": False,
                "style": "form",
                "explode": True,
                "description": f"{EXPAND_DESCRIPTION}\n\nExpandable here: {', '.join(f'`{p}`' for p in paths)}.",
                # As many values as the limits admit whichever are chosen: MAX_PATHS, and no more
                # than MAX_EXPAND_CHARS in all even when each is the longest.
                "schema": {
                    "type": "array",
                    "maxItems": min(MAX_PATHS, MAX_EXPAND_CHARS // max(map(len, paths))),
                    "items": {"type": "string", "enum": paths},
                },
                "example": [paths[0]],
            }
        )
    _expandable_references(doc, index)


def _expandable_references(doc: dict[str, Any], index: SchemaIndex) -> None:
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(UNRESOLVED, UNRESOLVED_SCHEMA)
    refs = {
        name
        for name, schema in schemas.items()
        if isinstance(schema, dict) and REFERENCE_EXTENSION in schema and set(schema.get("properties", {})) == {"href"}
    }
    answered = _components_reached(doc, "responses") - _components_reached(doc, "requestBody") - refs
    expandable: dict[str, str] = {}
    for name in sorted(refs):
        target = schemas[name][REFERENCE_EXTENSION]
        read = index.read_schema_ref(target) if isinstance(target, str) and target != "*" else None
        resource = {"$ref": read} if read else {"type": "object", "required": ["href"], "description": "A resource."}
        expandable[f"{PREFIX}{name}"] = f"{PREFIX}{name}Expandable"
        schemas[f"{name}Expandable"] = {
            "description": f"{schemas[name].get('description', 'A reference.')} Through the gateway with "
            "`expand`: the resource it points at, or the reference with an `error`.",
            "anyOf": [{"$ref": f"{PREFIX}{name}"}, resource, {"$ref": f"{PREFIX}{UNRESOLVED}"}],
        }
    for name in answered:
        for node in _walk_refs(schemas[name]):
            if node.get("$ref") in expandable:
                node["$ref"] = expandable[node["$ref"]]


def _components_reached(doc: dict[str, Any], part: str) -> set[str]:
    """The schema components the operations' ``responses`` (or ``requestBody``) reach, transitively."""
    schemas = doc.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo = [
        node["$ref"]
        for item in doc.get("paths", {}).values()
        for method in HTTP_METHODS
        if isinstance(item.get(method), dict)
        for node in _walk_refs(item[method].get(part, {}))
    ]
    while todo:
        ref = todo.pop()
        if not ref.startswith(PREFIX) or ref[len(PREFIX) :] in seen:
            continue
        name = ref[len(PREFIX) :]
        seen.add(name)
        todo += [node["$ref"] for node in _walk_refs(schemas.get(name, {}))]
    return seen


@dataclass
class Merged:
    document: dict[str, Any]
    index: SchemaIndex
    complete: bool
    built_at: float
    includes: IncludeTable


class OpenAPICatalogue:
    """The merged document, cached while complete; rebuilt on the next request while partial."""

    def __init__(
        self,
        upstreams: UpstreamClient,
        own: Callable[[], dict[str, Any]],
        *,
        title: str,
        version: str,
        description: str,
        ttl: float,
        include_limit: int = DEFAULT_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = upstreams
        self.own = own
        self.title = title
        self.version = version
        self.description = description
        self.ttl = ttl
        self.include_limit = include_limit
        self.clock = clock
        self._cached: Merged | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._cached = None

    async def get(self) -> Merged:
        cached = self._cached
        if cached is not None and self.clock() - cached.built_at < self.ttl:
            return cached
        async with self._lock:
            cached = self._cached
            if cached is not None and self.clock() - cached.built_at < self.ttl:
                return cached
            fetched = await self._fetch_all()
            document = merge_documents(
                self.own(),
                fetched,
                title=self.title,
                version=self.version,
                description=self.description,
                include_limit=self.include_limit,
            )
            index = SchemaIndex(document)
            complete = all(d is not None for d in fetched.values())
            merged = Merged(document, index, complete, self.clock(), include_table(index))
            # A partial document is served but not kept: the next request tries the missing services again.
            self._cached = merged if merged.complete else None
            return merged

    async def _fetch_all(self) -> dict[str, dict[str, Any] | None]:
        names = [u.name for u in self.upstreams.upstreams.values()]
        results = await gather(*(self._fetch(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _fetch(self, name: str) -> dict[str, Any] | None:
        upstream = self.upstreams.by_name(name)
        assert upstream is not None
        try:
            response = await self.upstreams.send(
                upstream, "GET", "/openapi.json", headers={"Accept": "application/json"}
            )
        except Problem as exc:
            logger.warning("OpenAPI document of %s unavailable: %s", name, exc.detail)
            return None
        if response.status_code != 200:
            logger.warning("OpenAPI document of %s answered %s", name, response.status_code)
            return None
        try:
            document = response.json()
        except ValueError:
            return None
        return document if isinstance(document, dict) and isinstance(document.get("paths"), dict) else None
