"""The explorer documents every valuechains endpoint: texts, examples, headers and problems."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.support import openapi_of, own_operations

OWN_PREFIXES = ("/v1/chains", "/v1/teams", "/v1/allocations", "/v1/applications", "/v1/reports")


async def openapi(suite: Suite) -> dict[str, Any]:
    async with suite.client("valuechains") as client:
        return await openapi_of(client)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return own_operations(schema, OWN_PREFIXES)


def resolve(schema: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_schema:
        resolved: dict[str, Any] = schema["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return ref_or_schema


async def test_every_endpoint_has_a_summary_description_and_problems(suite: Suite) -> None:
    schema = await openapi(suite)
    ops = operations(schema)
    expected = {
        ("GET", "/v1/chains"),
        ("POST", "/v1/chains"),
        ("GET", "/v1/chains/{id}"),
        ("PATCH", "/v1/chains/{id}"),
        ("DELETE", "/v1/chains/{id}"),
        ("PUT", "/v1/chains/{id}/owner"),
        ("GET", "/v1/chains/{id}/teams"),
        ("POST", "/v1/chains/{id}/teams"),
        ("GET", "/v1/teams"),
        ("GET", "/v1/teams/{id}"),
        ("PATCH", "/v1/teams/{id}"),
        ("DELETE", "/v1/teams/{id}"),
        ("GET", "/v1/chains/{id}/allocations"),
        ("GET", "/v1/chains/{id}/allocations/{period}"),
        ("PUT", "/v1/chains/{id}/allocations/{period}"),
        ("GET", "/v1/chains/{id}/allocations/{period}/revisions"),
        ("GET", "/v1/allocations"),
        ("GET", "/v1/allocations/{id}"),
        ("DELETE", "/v1/allocations/{id}"),
        ("GET", "/v1/chains/{id}/applications"),
        ("POST", "/v1/chains/{id}/applications"),
        ("GET", "/v1/applications"),
        ("GET", "/v1/applications/{id}"),
        ("PATCH", "/v1/applications/{id}"),
        ("DELETE", "/v1/applications/{id}"),
        ("GET", "/v1/reports/staffing"),
        ("GET", "/v1/reports/staffing/history"),
        ("GET", "/v1/reports/maturity"),
        ("GET", "/v1/reports/allocations"),
        ("GET", "/v1/reports/foundation"),
    }
    assert {(m, p) for m, p, _ in ops} == expected
    for method, path, op in ops:
        assert op.get("summary"), (method, path)
        assert len(op.get("description", "")) > 40, (method, path)
        assert op.get("tags"), (method, path)
        responses = op["responses"]
        assert "401" in responses and "422" in responses, (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert "application/problem+json" in response["content"], (method, path, status)
        if method != "GET":
            assert "403" in responses, (method, path)
    texts = " ".join(op["description"] for _, _, op in ops)
    for term in (
        "IV-waardeketen",
        "ketenverantwoordelijke",
        "beheer",
        "beveiliging",
        "vernieuwing",
        "een goed fundament",
        "technische schuld",
        "Need to know",
    ):
        assert term in texts, term


async def test_writes_document_their_preconditions_and_headers(suite: Suite) -> None:
    schema = await openapi(suite)
    ops = {(m, p): op for m, p, op in operations(schema)}
    for key in (
        ("PATCH", "/v1/chains/{id}"),
        ("PATCH", "/v1/teams/{id}"),
        ("PATCH", "/v1/applications/{id}"),
        ("PUT", "/v1/chains/{id}/owner"),
        ("PUT", "/v1/chains/{id}/allocations/{period}"),
    ):
        op = ops[key]
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert "If-Match" in headers, key
        assert {"412", "428"} <= set(op["responses"]), key
        assert "ETag" in op["responses"]["200"]["headers"], key
    put = ops[("PUT", "/v1/chains/{id}/allocations/{period}")]
    assert "If-None-Match" in {p["name"] for p in put["parameters"]}
    assert {"Location", "ETag"} <= set(put["responses"]["201"]["headers"])
    period = next(p for p in put["parameters"] if p["name"] == "period")
    assert set(period["examples"]) == {"year", "half", "quarter"}
    for create in (ops[("POST", "/v1/chains/{id}/teams")], ops[("POST", "/v1/chains/{id}/applications")]):
        assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
        assert {"Location", "ETag"} <= set(create["responses"]["201"]["headers"])


async def test_request_bodies_carry_examples(suite: Suite) -> None:
    schema = await openapi(suite)
    for method, path, op in operations(schema):
        if "requestBody" not in op:
            continue
        body = resolve(schema, op["requestBody"]["content"]["application/json"]["schema"])
        assert body.get("examples"), (method, path)
    put = resolve(
        schema,
        schema["paths"]["/v1/chains/{id}/allocations/{period}"]["put"]["requestBody"]["content"]["application/json"][
            "schema"
        ],
    )
    example = put["examples"][0]
    assert example["maintenance"] + example["security"] + example["renewal"] == 100
    team = schema["components"]["schemas"]["TeamRead"]["properties"]
    assert team["fte_internal"]["type"] == "number"
    assert team["chain"]["$ref"].endswith("/ChainRef")
    assert schema["components"]["schemas"]["ChainRef"]["x-reference"] == "/valuechains/v1/chains"


async def test_foundation_figures_and_report_are_documented(suite: Suite) -> None:
    schema = await openapi(suite)
    chain = schema["components"]["schemas"]["ChainRead"]
    for field in ("active_applications", "open_critical_findings", "open_high_findings", "applications_past_support"):
        assert field in chain["required"], field
        assert "never stored" in chain["properties"][field]["description"], field
    assert chain["examples"][0]["open_critical_findings"] == 3
    report = schema["paths"]["/v1/reports/foundation"]["get"]
    # The technical-debt formula is spelled out with its weights, and "today" can be fixed.
    for term in ("10 * open critical findings", "3 * open high findings", "5 * applications past support"):
        assert term in report["description"], term
    as_of = next(p for p in report["parameters"] if p["name"] == "as_of")
    assert "today" in as_of["description"] and as_of["schema"]["anyOf"][0]["format"] == "date"
    application = schema["components"]["schemas"]["ApplicationRead"]
    assert application["properties"]["findings"]["$ref"].endswith("/FindingsRead")
    assert application["properties"]["chain"]["$ref"].endswith("/ChainRef")
    assert schema["components"]["schemas"]["ApplicationRef"]["x-reference"] == "/valuechains/v1/applications"
    for literal, values in (
        ("category", {"registration", "intelligence", "business_operations", "infrastructure"}),
        ("disposition", {"tolerate", "invest", "migrate", "eliminate"}),
        ("hosting", {"own_platform", "public_cloud", "hybrid"}),
        ("data_classification", {"public", "internal", "confidential", "secret"}),
    ):
        assert set(application["properties"][literal]["enum"]) == values, literal
