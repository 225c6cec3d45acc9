"""Finding one's way in an OpenAPI document: which GET answers a path, what its response looks like,
which fields are references (``x-reference``) and what they point at, and a plausible value of a schema.

One walker for every document: the gateway checks ``expand`` paths and documents them on the merged
document; principles builds representative subjects from an owner's own document. Every walk is safe
on documents that point at themselves: a ``$ref`` that leads back to where it started resolves to
``{}`` (an empty schema, nothing known), and nested alternatives or arrays are not entered twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from services.chassis.references import REFERENCE_EXTENSION

JSON_TYPES = ("application/json",)
ANY_COLLECTION = "*"
"""The ``x-reference`` of a reference that may point into any collection."""
SUCCESS = ("200", "201", "203")
ALTERNATIVES = ("anyOf", "oneOf", "allOf")
MAX_EXAMPLE_DEPTH = 8

T = TypeVar("T")


@dataclass(frozen=True)
class ResponseRoot:
    """The schema expand paths start from: the resource, or each item of a list envelope."""

    schema: dict[str, Any]
    is_list: bool


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" and "items" in schema


class SchemaIndex:
    """An OpenAPI document, indexed once: its component schemas and its GET operations."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        components = document.get("components")
        schemas = components.get("schemas") if isinstance(components, dict) else None
        self.schemas: dict[str, Any] = schemas if isinstance(schemas, dict) else {}
        templates = []
        for template, item in (document.get("paths") or {}).items():
            if isinstance(item, dict) and isinstance(item.get("get"), dict):
                # Literal segments win over parameters: fewer parameters first.
                templates.append((template.count("{"), -len(template), template, item["get"]))
        templates.sort(key=lambda t: (t[0], t[1]))
        self._get_operations = [(_template_regex(t), t, op) for _, _, t, op in templates]

    # --- schemas ---------------------------------------------------------------------------

    def resolve(self, schema: Any) -> dict[str, Any]:
        """Follow ``$ref`` to the schema it names: ``{}`` when it leads nowhere, or back to itself."""
        seen: set[str] = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return {}
            seen.add(name)
            schema = self.schemas.get(name, {})
        return schema if isinstance(schema, dict) else {}

    def branches(self, schema: Any) -> list[dict[str, Any]]:
        """The alternatives of a schema (``anyOf``/``oneOf``/``allOf``, nested ones flattened, each
        resolved), or the schema itself. ``null`` alternatives are kept."""
        return self._branches(self.resolve(schema), frozenset())

    def _branches(self, schema: dict[str, Any], entered: frozenset[int]) -> list[dict[str, Any]]:
        for key in ALTERNATIVES:
            if isinstance(schema.get(key), list):
                if id(schema) in entered:
                    return []
                inside = entered | {id(schema)}
                out: list[dict[str, Any]] = []
                for branch in schema[key]:
                    out.extend(self._branches(self.resolve(branch), inside))
                return out
        return [schema]

    def unwrap(self, schema: Any) -> dict[str, Any]:
        """The schema resolved; of an ``anyOf``/``oneOf``, its first alternative that is not ``null``
        (unwrapped in turn). ``allOf`` is left as it is: its parts all hold at once."""
        schema = self.resolve(schema)
        entered: set[int] = set()
        while id(schema) not in entered:
            entered.add(id(schema))
            options = self._not_null(schema)
            if not options:
                return schema
            schema = self.resolve(options[0])
        return {}

    def _not_null(self, schema: dict[str, Any]) -> list[Any]:
        """The alternatives of the first ``anyOf``/``oneOf`` that has any besides ``null``."""
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"]
                if options:
                    return options
        return []

    def _first(self, schema: Any, pick: Callable[[dict[str, Any]], T | None], entered: frozenset[int]) -> T | None:
        """The first branch of ``schema`` that ``pick`` accepts, looking into arrays' items too."""
        for branch in self.branches(schema):
            found = pick(branch)
            if found is not None:
                return found
            if _is_array(branch) and id(branch) not in entered:
                inner = self._first(branch["items"], pick, entered | {id(branch)})
                if inner is not None:
                    return inner
        return None

    def reference_target(self, schema: Any) -> str | None:
        """The collection a reference field points at (``*``: any); None when it is no reference.
        A list of references counts as a reference, and so does a reference that may be null."""

        def target(branch: dict[str, Any]) -> str | None:
            return str(branch[REFERENCE_EXTENSION]) if REFERENCE_EXTENSION in branch else None

        return self._first(schema, target, frozenset())

    def object_schema(self, schema: Any) -> dict[str, Any] | None:
        """The object (or each object of an array) a field holds; None for scalars."""

        def with_properties(branch: dict[str, Any]) -> dict[str, Any] | None:
            return branch if isinstance(branch.get("properties"), dict) else None

        return self._first(schema, with_properties, frozenset())

    def properties(self, schema: Any) -> dict[str, Any]:
        """The fields of an object schema, of all its alternatives together."""
        props: dict[str, Any] = {}
        for branch in self.branches(schema):
            if isinstance(branch.get("properties"), dict):
                props.update(branch["properties"])
        return props

    # --- operations ------------------------------------------------------------------------

    def get_operation(self, path: str) -> dict[str, Any] | None:
        """The GET operation whose path template matches ``path`` (literal segments first)."""
        for regex, _template, operation in self._get_operations:
            if regex.match(path):
                return operation
        return None

    def reference_filters(self, operation: dict[str, Any]) -> dict[str, tuple[str, ...]]:
        """The query parameters of an operation that take an href (``x-reference`` on the parameter's
        schema, or on one of its alternatives), each with the collection paths it accepts."""
        found: dict[str, tuple[str, ...]] = {}
        for parameter in operation.get("parameters") or []:
            if not isinstance(parameter, dict) or parameter.get("in") != "query":
                continue
            if not isinstance(parameter.get("name"), str):
                continue
            schema = parameter.get("schema")
            mark = next(
                (
                    b[REFERENCE_EXTENSION]
                    for b in [self.resolve(schema), *self.branches(schema)]
                    if REFERENCE_EXTENSION in b
                ),
                None,
            )
            targets = [mark] if isinstance(mark, str) else mark if isinstance(mark, list) else []
            if targets and all(isinstance(t, str) for t in targets):
                found[parameter["name"]] = tuple(targets)
        return found

    def list_operations(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, operation) of every GET that answers a list envelope (``items`` and ``next``)."""
        out = []
        for _regex, template, operation in self._get_operations:
            root = self.response_root(operation)
            if root is not None and root.is_list:
                out.append((template, operation))
        return out

    @staticmethod
    def success_schema(operation: dict[str, Any]) -> Any | None:
        """The JSON schema of an operation's success answer, as written (a ``$ref`` unresolved);
        None when it does not answer JSON."""
        responses = operation.get("responses", {})
        success = next((responses[code] for code in SUCCESS if code in responses), None)
        content = success.get("content", {}) if isinstance(success, dict) else {}
        media = next((content[t] for t in JSON_TYPES if t in content), None)
        return media["schema"] if isinstance(media, dict) and "schema" in media else None

    def response_root(self, operation: dict[str, Any]) -> ResponseRoot | None:
        """What a GET answers on success; None when it does not answer JSON."""
        written = self.success_schema(operation)
        if written is None:
            return None
        schema = self.resolve(written)
        props = schema.get("properties", {})
        items = self.resolve(props.get("items")) if isinstance(props, dict) else {}
        if "next" in props and _is_array(items):
            item = self.object_schema(items["items"])
            return ResponseRoot(item or {}, is_list=True)
        return ResponseRoot(self.object_schema(schema) or schema, is_list=False)

    def read_schema(self, collection_path: str) -> dict[str, Any] | None:
        """The representation of one resource of a collection: what its GET by id answers, or else
        each item of its list (which is what a batch get answers); None when it serves neither."""
        one = _by_id(collection_path)
        listing: ResponseRoot | None = None
        for _regex, template, operation in self._get_operations:
            if one.match(template):
                root = self.response_root(operation)
                if root is not None and not root.is_list:
                    return root.schema
            elif template == collection_path and listing is None:
                listing = self.response_root(operation)
        return listing.schema if listing is not None and listing.is_list else None

    def read_schema_ref(self, collection_path: str) -> str | None:
        """The ``$ref`` of what a collection's GET by id answers, when it names a component."""
        one = _by_id(collection_path)
        for _regex, template, operation in self._get_operations:
            if one.match(template):
                written = self.success_schema(operation)
                ref = written.get("$ref") if isinstance(written, dict) else None
                return ref if isinstance(ref, str) else None
        return None

    # --- examples --------------------------------------------------------------------------

    def example(self, schema: Any, depth: int = 0) -> Any:
        """A plausible value of ``schema``: its example, first enum value, or a typed placeholder.
        Of alternatives the first that is not null; ``allOf`` parts merged; nesting stops at 8 levels."""
        schema = self.unwrap(schema)
        if depth > MAX_EXAMPLE_DEPTH:
            return None
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.example(part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        kind = schema.get("type")
        examples = schema.get("examples") or ([schema["example"]] if "example" in schema else [])
        if kind == "object" or "properties" in schema:
            return {name: self.example(sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
        if kind == "array":
            return [self.example(schema["items"], depth + 1)] if "items" in schema else []
        if kind == "boolean":
            return bool(examples[0]) if examples and isinstance(examples[0], bool) else True
        if kind == "integer":
            if examples and isinstance(examples[0], int) and not isinstance(examples[0], bool):
                return examples[0]
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            if examples and isinstance(examples[0], int | float) and not isinstance(examples[0], bool):
                return float(examples[0])
            return max(1.5, float(schema.get("minimum", 1.5)))
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                return "2026-01-01T00:00:00Z"
            if fmt == "date":
                return "2026-01-01"
            if examples and isinstance(examples[0], str):
                return examples[0]
            return "example"
        if kind == "null":
            return None
        return examples[0] if examples else None


def _by_id(collection_path: str) -> re.Pattern[str]:
    """The path template of a collection's GET by id (``<collection>/{id}``)."""
    return re.compile(rf"^{re.escape(collection_path)}/\{{[^}}/]+\}}$")
