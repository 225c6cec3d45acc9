"""The schema index: ``$ref``, alternatives, references and representative values in an OpenAPI document."""

from __future__ import annotations

from typing import Any

from services.chassis.references import REFERENCE_EXTENSION
from services.chassis.schema_index import ANY_COLLECTION, SchemaIndex

CHAINS = "/valuechains/v1/chains"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answers(schema: dict[str, Any], media: str = "application/json", status: str = "200") -> dict[str, Any]:
    return {"responses": {status: {"content": {media: {"schema": schema}}}}}


def listing(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "next": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }


SCHEMAS: dict[str, Any] = {
    "ChainRef": {
        "type": "object",
        "properties": {"href": {"type": "string", "examples": [f"{CHAINS}/0192"]}},
        REFERENCE_EXTENSION: CHAINS,
    },
    "AnyRef": {"type": "object", "properties": {"href": {"type": "string"}}, REFERENCE_EXTENSION: ANY_COLLECTION},
    "Owner": {
        "type": "object",
        "properties": {"subject": {"type": "string", "example": "u100231"}, "name": {"type": "string"}},
    },
    "Chain": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "code": {"type": "string", "examples": ["VC-OPS"]},
            "status": {"type": "string", "enum": ["active", "archived"]},
            "owner": ref("Owner"),
            "version": {"type": "integer", "minimum": 1},
        },
    },
    "Initiative": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "value_chain": ref("ChainRef"),
            "previous_chain": {"anyOf": [ref("ChainRef"), {"type": "null"}]},
            "related": {"type": "array", "items": ref("ChainRef")},
            "subject": ref("AnyRef"),
            "owners": {"type": "array", "items": ref("Owner")},
            "budget_eur": {"type": "integer"},
            "share": {"type": "number", "minimum": 0},
            "start": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            "at": {"type": "string", "format": "date-time"},
            "flag": {"type": "boolean"},
            "kind": {"const": "renewal"},
        },
    },
    # $ref cycles: A -> B -> A, and a schema that is its own reference.
    "A": ref("B"),
    "B": ref("A"),
    "Self": ref("Self"),
    # Alternatives that lead back to themselves, and an array of itself.
    "Loop": {"anyOf": [ref("Loop"), {"type": "null"}]},
    "Either": {"oneOf": [ref("Or"), ref("ChainRef")]},
    "Or": {"anyOf": [ref("Either")]},
    "Nested": {"type": "array", "items": ref("Nested")},
    # A tree: each node holds nodes.
    "Node": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": ref("Node")}},
    },
    "Composed": {"allOf": [ref("Owner"), {"type": "object", "properties": {"unit": {"type": "string"}}}]},
}

DOCUMENT: dict[str, Any] = {
    "paths": {
        "/v1/chains": {"get": answers(listing(ref("Chain")))},
        "/v1/chains/{id}": {"get": answers(ref("Chain"))},
        "/v1/chains/owners": {"get": answers(ref("Owner"))},
        "/v1/initiatives": {"get": answers(listing(ref("Initiative")))},
        "/v1/export": {"get": answers({"type": "string"}, media="text/csv")},
        "/v1/things/{id}": {"post": answers(ref("Chain"))},
    },
    "components": {"schemas": SCHEMAS},
}

index = SchemaIndex(DOCUMENT)


def prop(schema: str, name: str) -> Any:
    return SCHEMAS[schema]["properties"][name]


def test_resolve_follows_refs_and_gives_nothing_where_they_lead_nowhere() -> None:
    assert index.resolve(ref("Owner")) is SCHEMAS["Owner"]
    assert index.resolve({"type": "string"}) == {"type": "string"}
    assert index.resolve(ref("Missing")) == {}
    assert index.resolve(None) == {}
    assert index.resolve("text") == {}


def test_ref_cycles_resolve_to_nothing() -> None:
    assert index.resolve(ref("A")) == {}
    assert index.resolve(ref("Self")) == {}
    assert index.branches(ref("A")) == [{}]
    assert index.reference_target(ref("A")) is None
    assert index.example(ref("A")) is None


def test_branches_flatten_alternatives_and_keep_null() -> None:
    assert index.branches(prop("Initiative", "previous_chain")) == [SCHEMAS["ChainRef"], {"type": "null"}]
    assert index.branches(ref("Owner")) == [SCHEMAS["Owner"]]
    assert index.branches(ref("Composed")) == [SCHEMAS["Owner"], SCHEMAS["Composed"]["allOf"][1]]


def test_alternatives_that_lead_back_to_themselves_end() -> None:
    assert index.branches(ref("Loop")) == [{"type": "null"}]
    assert index.branches(ref("Either")) == [SCHEMAS["ChainRef"]]
    assert index.reference_target(ref("Or")) == CHAINS
    assert index.unwrap(ref("Loop")) == {}
    assert index.reference_target(ref("Nested")) is None
    assert index.object_schema(ref("Nested")) is None


def test_unwrap_takes_the_first_alternative_that_is_not_null() -> None:
    assert index.unwrap(prop("Initiative", "previous_chain")) is SCHEMAS["ChainRef"]
    assert index.unwrap({"anyOf": [{"type": "null"}, {"type": "integer"}]}) == {"type": "integer"}
    only_null = {"anyOf": [{"type": "null"}]}
    assert index.unwrap(only_null) is only_null
    assert index.unwrap(ref("Composed")) is SCHEMAS["Composed"]  # allOf parts all hold: left as it is


def test_reference_targets() -> None:
    assert index.reference_target(prop("Initiative", "value_chain")) == CHAINS
    assert index.reference_target(prop("Initiative", "previous_chain")) == CHAINS  # anyOf with null
    assert index.reference_target(prop("Initiative", "related")) == CHAINS  # a list of references
    assert index.reference_target(prop("Initiative", "subject")) == ANY_COLLECTION
    assert index.reference_target(prop("Initiative", "owners")) is None
    assert index.reference_target(prop("Initiative", "name")) is None
    assert index.reference_target({"allOf": [ref("ChainRef")]}) == CHAINS


def test_object_schemas_and_properties() -> None:
    assert index.object_schema(prop("Chain", "owner")) is SCHEMAS["Owner"]
    assert index.object_schema(prop("Initiative", "owners")) is SCHEMAS["Owner"]
    assert index.object_schema({"anyOf": [{"type": "null"}, ref("Owner")]}) is SCHEMAS["Owner"]
    assert index.object_schema(prop("Initiative", "budget_eur")) is None
    assert set(index.properties(ref("Composed"))) == {"subject", "name", "unit"}
    assert index.properties({"type": "string"}) == {}


def test_operations_match_literal_segments_first() -> None:
    assert index.get_operation("/v1/chains/owners") is DOCUMENT["paths"]["/v1/chains/owners"]["get"]
    assert index.get_operation("/v1/chains/0192") is DOCUMENT["paths"]["/v1/chains/{id}"]["get"]
    assert index.get_operation("/v1/chains/0192/teams") is None
    assert index.get_operation("/v1/things/1") is None  # only GETs are indexed


def test_response_roots() -> None:
    one = index.response_root(DOCUMENT["paths"]["/v1/chains/{id}"]["get"])
    assert one is not None and not one.is_list and one.schema is SCHEMAS["Chain"]
    many = index.response_root(DOCUMENT["paths"]["/v1/chains"]["get"])
    assert many is not None and many.is_list and many.schema is SCHEMAS["Chain"]
    assert index.response_root(DOCUMENT["paths"]["/v1/export"]["get"]) is None
    created = index.response_root(answers(ref("Owner"), status="201"))
    assert created is not None and created.schema is SCHEMAS["Owner"]
    assert index.response_root({"responses": {"204": {}}}) is None


def test_read_schema_is_the_get_by_id_else_each_item_of_the_list() -> None:
    assert index.read_schema("/v1/chains") is SCHEMAS["Chain"]
    assert index.read_schema("/v1/initiatives") is SCHEMAS["Initiative"]
    assert index.read_schema("/v1/teams") is None
    assert index.read_schema("/v1/export") is None
    assert SchemaIndex({}).read_schema("/v1/chains") is None


def test_examples_are_plausible_values() -> None:
    assert index.example(ref("Chain")) == {
        "id": "example",
        "code": "VC-OPS",
        "status": "active",
        "owner": {"subject": "u100231", "name": "example"},
        "version": 1,
    }
    initiative = index.example(ref("Initiative"))
    assert initiative["value_chain"] == {"href": f"{CHAINS}/0192"}
    assert initiative["previous_chain"] == {"href": f"{CHAINS}/0192"}  # anyOf with null: not null
    assert initiative["related"] == [{"href": f"{CHAINS}/0192"}]
    assert initiative["start"] == "2026-01-01"
    assert initiative["at"] == "2026-01-01T00:00:00Z"
    assert (initiative["budget_eur"], initiative["share"], initiative["flag"]) == (1, 1.5, True)
    assert initiative["kind"] == "renewal"
    assert index.example(ref("Composed")) == {"subject": "u100231", "name": "example", "unit": "example"}
    assert index.example({"type": "null"}) is None
    assert index.example({"example": 7}) == 7
    assert index.example({"type": "integer", "examples": [True]}) == 1  # a boolean is no integer


def test_examples_of_recursive_schemas_stop() -> None:
    node = index.example(ref("Node"))
    depth = 0
    while isinstance(node, dict) and node.get("children"):
        node = node["children"][0]
        depth += 1
    assert 0 < depth <= 8
