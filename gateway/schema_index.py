"""Finding one's way in the merged OpenAPI document: which operation answers a path, what its
response looks like, which fields are references (``x-reference``) and what they point at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.chassis.references import REFERENCE_EXTENSION

JSON_TYPES = ("application/json",)
ANY_COLLECTION = "*"


@dataclass(frozen=True)
class ResponseRoot:
    """The schema expand paths start from: the resource, or each item of a list envelope."""

    schema: dict[str, Any]
    is_list: bool


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


class SchemaIndex:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
        templates = []
        for template, item in document.get("paths", {}).items():
            if isinstance(item, dict) and isinstance(item.get("get"), dict):
                # Literal segments win over parameters: fewer parameters first.
                templates.append((template.count("{"), -len(template), template, item["get"]))
        templates.sort(key=lambda t: (t[0], t[1]))
        self._get_operations = [(_template_regex(t), t, op) for _, _, t, op in templates]

    # --- schemas ---------------------------------------------------------------------------

    def resolve(self, schema: Any) -> dict[str, Any]:
        """Follow ``$ref`` to the schema it names (``{}`` when it leads nowhere)."""
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.schemas.get(name, {})
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _branches(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives of a schema (``anyOf``/``oneOf``/``allOf``), or the schema itself."""
        for key in ("anyOf", "oneOf", "allOf"):
            if isinstance(schema.get(key), list):
                out = []
                for branch in schema[key]:
                    out.extend(self._branches(self.resolve(branch)))
                return out
        return [schema]

    def reference_target(self, schema: Any) -> str | None:
        """The collection a reference field points at (``*``: any); None when it is no reference.
        A list of references counts as a reference."""
        for branch in self._branches(self.resolve(schema)):
            if REFERENCE_EXTENSION in branch:
                return str(branch[REFERENCE_EXTENSION])
            if branch.get("type") == "array" and "items" in branch:
                target = self.reference_target(branch["items"])
                if target is not None:
                    return target
        return None

    def object_schema(self, schema: Any) -> dict[str, Any] | None:
        """The object (or each object of an array) a field holds; None for scalars."""
        for branch in self._branches(self.resolve(schema)):
            if isinstance(branch.get("properties"), dict):
                return branch
            if branch.get("type") == "array" and "items" in branch:
                inner = self.object_schema(branch["items"])
                if inner is not None:
                    return inner
        return None

    def properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for branch in self._branches(schema):
            if isinstance(branch.get("properties"), dict):
                props.update(branch["properties"])
        return props

    # --- operations ------------------------------------------------------------------------

    def get_operation(self, path: str) -> dict[str, Any] | None:
        for regex, _template, operation in self._get_operations:
            if regex.match(path):
                return operation
        return None

    def response_root(self, operation: dict[str, Any]) -> ResponseRoot | None:
        """Where expand paths start for this GET; None when it does not answer JSON."""
        responses = operation.get("responses", {})
        success = next((responses[code] for code in ("200", "201", "203") if code in responses), None)
        content = success.get("content", {}) if isinstance(success, dict) else {}
        media = next((content[t] for t in JSON_TYPES if t in content), None)
        if not isinstance(media, dict) or "schema" not in media:
            return None
        schema = self.resolve(media["schema"])
        props = schema.get("properties", {})
        items = self.resolve(props.get("items")) if isinstance(props, dict) else {}
        if "next" in props and items.get("type") == "array" and "items" in items:
            item = self.object_schema(items["items"])
            return ResponseRoot(item or {}, is_list=True)
        return ResponseRoot(self.object_schema(schema) or schema, is_list=False)

    def read_schema(self, collection_path: str) -> dict[str, Any] | None:
        """The representation of one resource of a collection (its GET by id)."""
        pattern = re.compile(rf"^{re.escape(collection_path)}/\{{[^}}/]+\}}$")
        for _regex, template, operation in self._get_operations:
            if pattern.match(template):
                root = self.response_root(operation)
                if root is not None and not root.is_list:
                    return root.schema
        return None


def expandable_paths(index: SchemaIndex, root: ResponseRoot, *, max_depth: int = 3, limit: int = 12) -> list[str]:
    """Expand paths valid on ``root`` (shortest first), for the documentation."""
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
