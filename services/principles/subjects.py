"""Reading subjects by reference from their owners, with the caller's token; nothing is kept.

- One subject: a batch GET on its collection (``Upstreams.resolve``).
- A collection: its list pages (``limit=100``, following ``next``), optionally filtered by the
  query string of the collection href. List items are the same representation a batch get returns,
  so they are used as they come.
- References a rule reads beyond their ``href`` (``subject.value_chain.name``) are expanded one level:
  one batch request per target collection, like the gateway's ``expand``.
- A representative subject of each kind, for checking rules on save, is built from the owner's own
  OpenAPI document, so it has exactly the fields the owner serves.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.chassis.auth import Principal
from services.chassis.errors import ServiceUnavailable, ValidationProblem
from services.chassis.references import Upstreams
from services.chassis.routing import parse_href
from services.principles.kinds import COLLECTION_OF_KIND, KINDS, Target

REFERENCE_READ = re.compile(r"\bsubject\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
SCHEMA_TTL_SECONDS = 60.0
EXAMPLE_ID = "019a0000-0000-7000-8000-000000000000"


async def fetch(upstreams: Upstreams, hrefs: Iterable[str], principal: Principal) -> dict[str, dict[str, Any] | None]:
    """Each subject's representation, or None when it does not exist for this caller."""
    return await upstreams.resolve(hrefs, principal)


async def fetch_collection(
    upstreams: Upstreams, target: Target, principal: Principal, *, cap: int, loc: Sequence[str | int]
) -> list[dict[str, Any]]:
    """Every resource of a collection this caller can see, page by page."""
    params: list[tuple[str, str]] = [*target.query, ("limit", "100")]
    response = await upstreams.get_json(target.collection_path, principal, params)
    items: list[dict[str, Any]] = []
    while True:
        if response.status_code in (400, 422):
            detail = _detail(response.json()) or "the owner rejected the query"
            raise ValidationProblem.field(loc, f"{target.href}: {detail}")
        if response.status_code == 404:
            raise ValidationProblem.field(loc, f"{target.collection_path} is not served by its owner")
        if response.status_code != 200:
            raise ServiceUnavailable(f"{target.collection_path} answered {response.status_code}")
        page = response.json()
        items.extend(item for item in page.get("items", []) if isinstance(item, dict))
        if len(items) > cap:
            raise ValidationProblem.field(
                loc,
                f"{target.collection_path} has more than {cap} resources; narrow it with filters "
                "in the href's query string (for example ?status=active)",
            )
        next_href = page.get("next")
        if not isinstance(next_href, str) or not next_href:
            return items
        response = await upstreams.get_json(next_href, principal)


def _detail(body: Any) -> str | None:
    return body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), str) else None


# --- one level of references ---------------------------------------------------------------------


def fields_to_expand(rules: Iterable[str | None]) -> set[str]:
    """Fields whose referenced resource a rule reads (``subject.value_chain.name`` -> value_chain)."""
    fields: set[str] = set()
    for rule in rules:
        for match in REFERENCE_READ.finditer(rule or ""):
            if match[2] != "href":
                fields.add(match[1])
    return fields


def _reference(value: Any) -> str | None:
    return value["href"] if isinstance(value, Mapping) and isinstance(value.get("href"), str) else None


async def expand(
    upstreams: Upstreams, subjects: Sequence[dict[str, Any]], fields: set[str], principal: Principal
) -> list[dict[str, Any]]:
    """Copies of ``subjects`` with the references at ``fields`` replaced by what they point at.

    A reference that does not resolve for this caller stays ``{"href": X, "error": {"status": 404}}``.
    """
    if not fields:
        return list(subjects)
    wanted = {h for s in subjects for f in fields if (h := _reference(s.get(f))) and parse_href(h)}
    resolved = await upstreams.resolve(wanted, principal) if wanted else {}
    out = []
    for subject in subjects:
        copy = dict(subject)
        for field in fields:
            href = _reference(subject.get(field))
            if href is None:
                continue
            target = resolved.get(href)
            copy[field] = (
                target if target is not None else {"href": href, "error": {"status": 404, "title": "Not found"}}
            )
        out.append(copy)
    return out


def referenced_hrefs(subject: Mapping[str, Any], fields: set[str]) -> list[str]:
    return [h for f in fields if (h := _reference(subject.get(f)))]


# --- representative subjects, from the owner's OpenAPI document ---------------------------------

_schemas: dict[str, tuple[float, dict[str, Any]]] = {}


async def owner_schema(upstreams: Upstreams, service: str, principal: Principal) -> dict[str, Any]:
    """The OpenAPI document of a service (cached for a minute)."""
    key = upstreams.url_for(f"/{service}/openapi.json")
    cached = _schemas.get(key)
    if cached is not None and time.monotonic() - cached[0] < SCHEMA_TTL_SECONDS:
        return cached[1]
    response = await upstreams.get_json(f"/{service}/openapi.json", principal)
    if response.status_code != 200:
        raise ServiceUnavailable(f"the {service} service did not serve its OpenAPI document ({response.status_code})")
    document = response.json()
    _schemas[key] = (time.monotonic(), document)
    return document


def _resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = document.get("components", {}).get("schemas", {}).get(name, {})
        seen += 1
    return schema


def _unwrap(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The non-null alternative of an ``anyOf``/``oneOf``, resolved."""
    schema = _resolve(document, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(document, o).get("type") != "null"]
            if options:
                return _unwrap(document, options[0])
    return schema


def example(document: Mapping[str, Any], schema: Mapping[str, Any], depth: int = 0) -> Any:
    """A plausible value of ``schema``: its example, first enum value, or a typed placeholder."""
    schema = _unwrap(document, schema)
    if depth > 8:
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(document, part, depth + 1)
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
        return {name: example(document, sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(document, schema["items"], depth + 1)] if "items" in schema else []
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


def _read_schema(document: Mapping[str, Any], collection: str) -> Mapping[str, Any] | None:
    """The schema of one resource of ``collection`` in the owner's document."""
    paths: Mapping[str, Any] = document.get("paths", {})
    one = re.compile(rf"^/v1/{re.escape(collection)}/\{{[^/}}]+\}}$")
    for path, item in paths.items():
        if one.match(path) and "get" in item:
            schema = _response_schema(item["get"])
            if schema is not None:
                return _resolve(document, schema)
    listing = paths.get(f"/v1/{collection}", {}).get("get")
    schema = _response_schema(listing) if listing else None
    if schema is not None:
        items = _resolve(document, schema).get("properties", {}).get("items", {})
        if "items" in items:
            return _resolve(document, items["items"])
    return None


def _response_schema(operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema if isinstance(schema, Mapping) else None


def _reference_target(document: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    target = _unwrap(document, schema).get("x-reference")
    return target if isinstance(target, str) else None


async def representative(
    upstreams: Upstreams, kind: str, principal: Principal, *, expand_references: bool = True
) -> dict[str, Any]:
    """A made-up subject of ``kind`` with every field its owner serves; references expanded one level."""
    collection_path = COLLECTION_OF_KIND[kind]
    service, _, collection = collection_path.strip("/").partition("/v1/")
    document = await owner_schema(upstreams, service, principal)
    schema = _read_schema(document, collection)
    if schema is None:
        raise ValidationProblem.field(
            ["body", "applies_to"],
            f"the {service} service does not serve {collection} (yet), so a rule for {kind} cannot be checked",
        )
    subject = example(document, schema)
    if not isinstance(subject, dict):
        subject = {}
    subject["href"] = f"{collection_path}/{EXAMPLE_ID}"
    for name, sub in schema.get("properties", {}).items():
        target = _reference_target(document, sub)
        if target is None:
            continue
        parsed = parse_href(target)
        target_kind = KINDS.get((parsed.service, parsed.collection)) if parsed else None
        href = f"{target}/{EXAMPLE_ID}" if target != "*" else f"{collection_path}/{EXAMPLE_ID}"
        if expand_references and target_kind is not None:
            subject[name] = {**await representative(upstreams, target_kind, principal, expand_references=False)}
            subject[name]["href"] = href
        else:
            subject[name] = {"href": href}
    return subject
