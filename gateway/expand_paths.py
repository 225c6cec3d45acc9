"""``?expand=a,b.c``: parsed, and checked against the response schema before anything is fetched.

A path walks fields of the response (of each item, on a list). A segment is either a reference
(``x-reference`` in the schema: it is replaced by the resource it points at, and the path goes on
in that collection's representation) or a plain object or array of objects the path goes through
(``items.initiative``). The last segment must be a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.chassis.errors import BadRequest, ServiceUnavailable
from services.chassis.routing import parse_href
from services.chassis.schema_index import ANY_COLLECTION, ResponseRoot, SchemaIndex

MAX_DEPTH = 3
MAX_REFERENCES = 1000
MAX_PATHS = 50
MAX_EXPAND_CHARS = 1000
"""As documented on every ``expand`` parameter; a longer one is 400, and never echoed."""
SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass
class ExpandNode:
    """One field on the way: a reference to replace (``target`` set) or an object to go through."""

    name: str
    target: str | None
    children: dict[str, ExpandNode] = field(default_factory=dict)

    @property
    def is_reference(self) -> bool:
        return self.target is not None


def parse_expand(values: Iterable[str]) -> list[list[str]]:
    """Split ``expand`` values (repeatable, comma-separated) into paths; 400 when malformed."""
    values = list(values)
    if sum(len(value) for value in values) > MAX_EXPAND_CHARS:
        raise BadRequest(f"expand is longer than {MAX_EXPAND_CHARS} characters")
    paths: list[list[str]] = []
    seen: set[str] = set()
    for value in values:
        for raw in value.split(","):
            text = raw.strip()
            if not text:
                continue
            segments = text.split(".")
            bad = next((s for s in segments if not SEGMENT.match(s)), None)
            if bad is not None:
                raise BadRequest(f"expand path {text[:80]!r}: {bad[:80]!r} is not a field name")
            if len(segments) > MAX_DEPTH:
                raise BadRequest(
                    f"expand path {text!r} is {len(segments)} levels deep; at most {MAX_DEPTH} are allowed"
                )
            if text not in seen:
                seen.add(text)
                paths.append(segments)
    if len(paths) > MAX_PATHS:
        raise BadRequest(f"{len(paths)} expand paths given; at most {MAX_PATHS} are allowed")
    return paths


def plan_expansion(
    index: SchemaIndex, root: ResponseRoot, paths: list[list[str]], *, missing_services: Iterable[str] = ()
) -> dict[str, ExpandNode]:
    """The tree of fields to walk and references to replace; 400 naming the first bad path."""
    missing = set(missing_services)
    tree: dict[str, ExpandNode] = {}
    for segments in paths:
        text = ".".join(segments)
        schema: dict[str, Any] = root.schema
        nodes = tree
        where = "each item" if root.is_list else "the response"
        for depth, name in enumerate(segments):
            last = depth == len(segments) - 1
            prop = index.properties(schema).get(name)
            if prop is None:
                hint = " (on a list, paths start at each item's fields)" if root.is_list and depth == 0 else ""
                raise BadRequest(f"expand path {text!r}: {where} has no field {name!r}{hint}")
            target = index.reference_target(prop)
            node = nodes.setdefault(name, ExpandNode(name, target))
            if last:
                if target is None:
                    raise BadRequest(f"expand path {text!r}: {name!r} is not a reference")
                break
            if target is None:
                inner = index.object_schema(prop)
                if inner is None:
                    raise BadRequest(f"expand path {text!r}: {name!r} is neither a reference nor an object")
                schema, where = inner, f"{name!r}"
            elif target == ANY_COLLECTION:
                raise BadRequest(
                    f"expand path {text!r}: {name!r} may point at any collection, so nothing below it can be "
                    "checked; expand it on its own"
                )
            else:
                read = index.read_schema(target)
                if read is None:
                    parsed = parse_href(target)
                    if parsed is not None and parsed.service in missing:
                        raise ServiceUnavailable(
                            f"expand path {text!r} cannot be checked now: the {parsed.service} service's API "
                            "description is unavailable"
                        )
                    raise BadRequest(f"expand path {text!r}: the resources {name!r} points at cannot be expanded")
                schema, where = read, f"the resource {name!r} points at"
            nodes = node.children
    return tree


def expandable_paths(
    index: SchemaIndex, root: ResponseRoot, *, max_depth: int = MAX_DEPTH, limit: int = 12
) -> list[str]:
    """Expand paths valid on ``root`` (shortest first, up to ``limit``), for the documentation."""
    found: list[str] = []
    frontier: list[tuple[list[str], dict[str, Any]]] = [([], root.schema)]
    while frontier and len(found) < limit:
        next_frontier: list[tuple[list[str], dict[str, Any]]] = []
        for prefix, schema in frontier:
            for name, prop in index.properties(schema).items():
                path = [*prefix, name]
                target = index.reference_target(prop)
                if target is not None:
                    found.append(".".join(path))
                    if target != ANY_COLLECTION and len(path) < max_depth:
                        read = index.read_schema(target)
                        if read is not None:
                            next_frontier.append((path, read))
                elif len(path) < max_depth:
                    inner = index.object_schema(prop)
                    if inner is not None:
                        next_frontier.append((path, inner))
        frontier = next_frontier
    return found[:limit]
