"""The client's models stay in step with the merged OpenAPI document the gateway serves, and every
request body in that document has an example that is valid for it."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal, get_args, get_origin

import jsonschema
from pydantic import BaseModel

from iv_client.models import COLLECTIONS, Change, EboRegistered, Ref, Resource, RoundItem
from tests.clients.conftest import Platform

ONE_RESOURCE = re.compile(r"^(/(?:valuechains|portfolio|principles)/v1/[a-z_-]+)/\{id\}$")
ROUND_ITEM = "/portfolio/v1/rounds/{id}/items/{item_id}"


async def merged_document(platform: Platform) -> dict[str, Any]:
    response = await platform.call(platform.client().request, "GET", "/openapi.json")
    document: dict[str, Any] = response.json()
    return document


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a ``$ref``, an ``allOf`` (the read schema and ``included``), or an
    ``anyOf`` of one schema and null."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema:
            schema = schema["allOf"][0]
        elif "anyOf" in schema and len(options := [s for s in schema["anyOf"] if s.get("type") != "null"]) == 1:
            schema = options[0]
        else:
            return schema


def success_schema(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    answer = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return resolved(document, answer)


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside a field's type (``Owner``, ``list[YearBudget]``, ``EboDecision | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [] if issubclass(annotation, Ref) else [annotation]
    if get_origin(annotation) in (list, typing.Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in nested_models(arg)]
    return []


def literal_values(annotation: Any) -> set[str] | None:
    if get_origin(annotation) is Literal:
        return {str(v) for v in get_args(annotation)}
    if get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in get_args(annotation):
            if (found := literal_values(arg)) is not None:
                return found
    return None


def enum_values(document: dict[str, Any], schema: dict[str, Any]) -> set[str] | None:
    schema = resolved(document, schema)
    if schema.get("type") == "array":
        schema = resolved(document, schema.get("items", {}))
    if "enum" in schema:
        return {str(v) for v in schema["enum"]}
    if "const" in schema:
        return {str(schema["const"])}
    return None


def differences(document: dict[str, Any], model: type[BaseModel], schema: dict[str, Any], where: str) -> list[str]:
    """How ``model`` differs from the object ``schema``: fields, required fields, enumerated values,
    and the same for each model inside it."""
    properties: dict[str, Any] = schema.get("properties", {})
    fields = model.model_fields
    found = []
    if set(fields) != set(properties):
        found.append(f"{where}: fields {sorted(set(fields) ^ set(properties))} are in one and not the other")
    required = {name for name, field in fields.items() if field.is_required()}
    if required != set(schema.get("required", [])):
        found.append(f"{where}: required {sorted(required ^ set(schema.get('required', [])))} differ")
    for name in set(fields) & set(properties):
        annotation = fields[name].annotation
        values = literal_values(annotation)
        if values is not None and values != enum_values(document, properties[name]):
            found.append(f"{where}.{name}: values {sorted(values)} differ from the document's")
        for inner in nested_models(annotation):
            inner_schema = resolved(document, properties[name])
            if inner_schema.get("type") == "array":
                inner_schema = resolved(document, inner_schema["items"])
            found += differences(document, inner, inner_schema, f"{where}.{name}")
    return found


async def test_a_model_for_every_resource_with_the_documents_fields(platform: Platform) -> None:
    document = await merged_document(platform)
    served = {
        match[1]: path
        for path in document["paths"]
        if (match := ONE_RESOURCE.match(path)) and "get" in document["paths"][path]
    }
    assert set(served) == set(COLLECTIONS), "a collection the client has no model of, or one that is gone"
    found = []
    for collection, path in served.items():
        found += differences(document, COLLECTIONS[collection], success_schema(document, path, "get", "200"), path)
    found += differences(document, RoundItem, success_schema(document, ROUND_ITEM, "get", "200"), ROUND_ITEM)
    found += differences(
        document, EboRegistered, success_schema(document, "/portfolio/v1/ebos", "post", "201"), "POST ebos"
    )
    event = resolved(document, success_schema(document, "/portfolio/v1/changes", "get", "200")["properties"]["items"])
    found += differences(document, Change, resolved(document, event["items"]), "changes")
    assert found == []
    # ... and would say so: a model short of a field, with another's values, or a nested one gone astray
    ebo = success_schema(document, "/portfolio/v1/ebos/{id}", "get", "200")
    assert differences(document, Resource, ebo, "ebo")[0].startswith("ebo: fields ['data_classification', ")
    assert differences(document, COLLECTIONS["/valuechains/v1/chains"], ebo, "x") != []


async def test_every_request_body_has_a_valid_example(platform: Platform) -> None:
    document = await merged_document(platform)
    missing, invalid = [], []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                schema = content["schema"]
                examples = [e["value"] for e in content.get("examples", {}).values()] + (
                    [content["example"]] if "example" in content else []
                )
                examples += resolved(document, schema).get("examples", [])
                if not examples:
                    missing.append(f"{method.upper()} {path} ({media})")
                validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
                invalid += [f"{method.upper()} {path}: {e.message}" for x in examples for e in validator.iter_errors(x)]
    assert missing == [], "request bodies without an example"
    assert invalid == [], "examples their own schema refuses"
