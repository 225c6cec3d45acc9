"""Replacing references by the resources they point at, level by level, one batch per collection.

At each level every reference at the expanded fields is collected, de-duplicated and fetched with
one ``GET /v1/<collection>?id=..&id=..`` per target collection (chunks of 100), all collections
at once, with the caller's token: need to know holds, because the owner decides what this caller
may see. What cannot be resolved stays a reference with an ``error``; the rest is intact.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pydantic_core

from gateway.expand_paths import MAX_REFERENCES, ExpandNode
from gateway.resilience import UpstreamClient
from services.chassis.errors import NOT_FOUND, BadRequest, Problem, type_for_status
from services.chassis.pagination import MAX_BATCH
from services.chassis.references import not_found, unresolved
from services.chassis.routing import parse_href
from services.chassis.tasks import gather

Slot = tuple[ExpandNode, Any, Any]
"""(node, container, key): ``container[key]`` holds a reference to replace."""


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("href"), str)


class Expander:
    """Expands one response for one caller."""

    def __init__(
        self, upstreams: UpstreamClient, authorization: str | None, *, max_references: int = MAX_REFERENCES
    ) -> None:
        self.upstreams = upstreams
        self.headers = {"Accept": "application/json"}
        if authorization:
            self.headers["Authorization"] = authorization
        self.max_references = max_references

    async def expand(self, data: Any, tree: Mapping[str, ExpandNode], *, is_list: bool) -> None:
        """Expand ``data`` in place."""
        roots = data.get("items", []) if is_list and isinstance(data, dict) else [data]
        frontier: list[tuple[Mapping[str, ExpandNode], list[Any]]] = [(tree, list(roots))]
        total = 0
        while frontier:
            slots: list[Slot] = []
            for nodes, objects in frontier:
                _collect(nodes, objects, slots)
            if not slots:
                return
            total += len(slots)
            if total > self.max_references:
                raise BadRequest(
                    f"this expansion would resolve more than {self.max_references} references; "
                    "ask for fewer paths or a smaller page (limit)"
                )
            resolved = await self.resolve(list(dict.fromkeys(c[k]["href"] for _, c, k in slots)))
            frontier = self._replace(slots, resolved)

    @staticmethod
    def _replace(
        slots: list[Slot], resolved: Mapping[str, dict[str, Any]]
    ) -> list[tuple[Mapping[str, ExpandNode], list[Any]]]:
        # Every slot of one node gets the same copy of a resource, so expanding below it later
        # happens once; another node pointing at the same resource gets its own copy, so it is
        # not expanded further than its own paths ask.
        copies: dict[tuple[int, str], dict[str, Any]] = {}
        next_level: dict[int, tuple[Mapping[str, ExpandNode], list[Any]]] = {}
        for node, container, key in slots:
            href = container[key]["href"]
            representation = resolved[href]
            if "error" in representation:
                container[key] = dict(representation)
                continue
            if not node.children:
                container[key] = representation
                continue
            marker = (id(node), href)
            if marker not in copies:
                copies[marker] = copy.deepcopy(representation)
                next_level.setdefault(id(node), (node.children, []))[1].append(copies[marker])
            container[key] = copies[marker]
        return list(next_level.values())

    async def resolve(self, hrefs: list[str]) -> dict[str, dict[str, Any]]:
        """Each href's representation, or the reference with an error; one batch per collection."""
        result: dict[str, dict[str, Any]] = {}
        by_collection: dict[tuple[str, str], list[str]] = defaultdict(list)
        for href in hrefs:
            parsed = parse_href(href)
            if parsed is None or parsed.id is None:
                result[href] = not_found(href)
                continue
            by_collection[(parsed.service, parsed.collection)].append(parsed.id)
        batches = [
            (service, collection, ids[i : i + MAX_BATCH])
            for (service, collection), ids in by_collection.items()
            for i in range(0, len(ids), MAX_BATCH)
        ]
        answers = await gather(*(self._batch(*batch) for batch in batches))
        for answer in answers:
            result.update(answer)
        return result

    async def _batch(self, service: str, collection: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        base = f"/{service}/v1/{collection}"
        hrefs = {id_: f"{base}/{id_}" for id_ in ids}
        upstream = self.upstreams.by_name(service)
        if upstream is None:  # parse_href only accepts known services; kept for safety
            return {h: unresolved(h, NOT_FOUND, "no service owns this") for h in hrefs.values()}
        query = urlencode([("id", id_) for id_ in ids] + [("limit", str(MAX_BATCH))])
        try:
            response = await self.upstreams.send(upstream, "GET", f"/v1/{collection}?{query}", headers=self.headers)
        except Problem as exc:
            return {h: unresolved(h, exc.problem_type, exc.detail) for h in hrefs.values()}
        status = response.status_code
        if status != 200:
            if status in (401, 403):
                problem_type = type_for_status(status)
                detail = f"this caller may not read {base}"
            elif status >= 500:
                problem_type = type_for_status(503 if status == 503 else 502)
                detail = f"the {service} service failed ({status})"
            else:
                problem_type, detail = NOT_FOUND, f"{base} is not a collection that can be expanded"
            return {h: unresolved(h, problem_type, detail) for h in hrefs.values()}
        try:
            items = pydantic_core.from_json(response.content).get("items", [])
        except (ValueError, AttributeError):
            problem_type = type_for_status(502)
            return {
                h: unresolved(h, problem_type, f"the {service} service answered with invalid JSON")
                for h in hrefs.values()
            }
        found = {item["id"]: item for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)}
        return {href: found[id_] if id_ in found else not_found(href) for id_, href in hrefs.items()}


def _collect(nodes: Mapping[str, ExpandNode], objects: list[Any], slots: list[Slot]) -> None:
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        for name, node in nodes.items():
            value = obj.get(name)
            if node.is_reference:
                if isinstance(value, list):
                    slots.extend((node, value, i) for i, item in enumerate(value) if is_reference(item))
                elif is_reference(value):
                    slots.append((node, obj, name))
            elif value is not None:
                _collect(node.children, value if isinstance(value, list) else [value], slots)
