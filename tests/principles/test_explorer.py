"""The explorer documents every principles endpoint: texts (with the strategy's Dutch terms),
examples, headers and problems."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.support import openapi_of, own_operations

OWN_PREFIXES = (
    "/v1/principles",
    "/v1/evaluations",
    "/v1/assessments",
    "/v1/explanations",
    "/v1/compliance-checks",
    "/v1/simplicity-reviews",
    "/v1/reports",
)


async def openapi(suite: Suite) -> dict[str, Any]:
    async with suite.client("principles") as client:
        return await openapi_of(client)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return own_operations(schema, OWN_PREFIXES)


def component(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """The component a schema refers to (also through an optional body's anyOf)."""
    if "$ref" not in ref:
        ref = next(option for option in ref["anyOf"] if "$ref" in option)
    found: dict[str, Any] = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]
    return found


async def test_every_endpoint_is_documented(suite: Suite) -> None:
    schema = await openapi(suite)
    ops = operations(schema)
    assert {(m, p) for m, p, _ in ops} == {
        ("GET", "/v1/principles"),
        ("POST", "/v1/principles"),
        ("GET", "/v1/principles/{id}"),
        ("PATCH", "/v1/principles/{id}"),
        ("DELETE", "/v1/principles/{id}"),
        ("GET", "/v1/principles/{id}/versions"),
        ("GET", "/v1/principles/{id}/versions/{revision}"),
        ("POST", "/v1/evaluations"),
        ("GET", "/v1/evaluations"),
        ("GET", "/v1/evaluations/{id}"),
        ("POST", "/v1/assessments"),
        ("GET", "/v1/assessments"),
        ("GET", "/v1/assessments/{id}"),
        ("DELETE", "/v1/assessments/{id}"),
        ("POST", "/v1/explanations"),
        ("GET", "/v1/explanations"),
        ("GET", "/v1/explanations/{id}"),
        ("DELETE", "/v1/explanations/{id}"),
        ("POST", "/v1/explanations/{id}/approve"),
        ("POST", "/v1/explanations/{id}/reject"),
        ("POST", "/v1/explanations/{id}/confirm"),
        ("POST", "/v1/compliance-checks"),
        ("GET", "/v1/explanations/register"),
        ("GET", "/v1/simplicity-reviews"),
        ("POST", "/v1/simplicity-reviews"),
        ("GET", "/v1/simplicity-reviews/{id}"),
        ("PATCH", "/v1/simplicity-reviews/{id}"),
        ("DELETE", "/v1/simplicity-reviews/{id}"),
        ("GET", "/v1/reports/compliance"),
        ("GET", "/v1/reports/compliance/chains"),
    }
    for method, path, op in ops:
        where = (method, path)
        assert op.get("summary") and op.get("tags"), where
        assert len(op.get("description", "")) > 40, where
        responses = op["responses"]
        assert {"401", "403", "422"} <= set(responses), where
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert "application/problem+json" in response["content"], (*where, status)
        if method == "POST":
            assert any(p["name"] == "Idempotency-Key" for p in op["parameters"]), where
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                assert "examples" in component(schema, body), where
        # Every write answers with the resource and its ETag; a compliance check is a question, not a resource.
        if (method in ("POST", "PATCH") and path != "/v1/compliance-checks") or path.endswith("{id}"):
            ok = responses.get("201") or responses.get("200")
            assert "ETag" in ok.get("headers", {}), where
        if method == "POST" and "201" in responses:
            assert "Location" in responses["201"]["headers"], where

    register = next(op for m, p, op in ops if p == "/v1/explanations/register")
    assert set(register["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "406" in register["responses"]
    for read in ("PrincipleRead", "AssessmentRead", "EvaluationRead", "ExplanationRead", "ReviewRead"):
        assert "examples" in schema["components"]["schemas"][read], read
    assert "examples" in schema["components"]["schemas"]["ComplianceReport"]
    assert "examples" in schema["components"]["schemas"]["ComplianceByChain"]


async def test_the_documentation_speaks_the_strategys_language(suite: Suite) -> None:
    schema = await openapi(suite)
    text = str(schema).lower()
    for term in ("pas toe of leg uit", "spelregels", "eenvoud", "leg uit", "four eyes", "revision"):
        assert term in text, term
    tags = {t["name"]: t["description"] for t in schema["tags"]}
    assert (
        "needed_now" in tags["simplicity-reviews"]
        and "`fail` when any criterion scores 1" in tags["simplicity-reviews"]
    )
    principle = schema["components"]["schemas"]["PrincipleRead"]["properties"]
    assert "ETag" in principle["revision"]["description"]  # revision vs version, explained
