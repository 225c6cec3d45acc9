"""The explorer documents every portfolio operation: what it does, examples, problems and headers."""

from __future__ import annotations

from typing import Any

from services.portfolio.app import create_app
from tests.support import own_operations, settings_for


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation), leaving out the chassis's own feed."""
    ops = own_operations(schema, ("/v1/",))
    return [(path, method.lower(), op) for method, path, op in ops if not path.startswith("/v1/changes")]


def test_every_operation_is_documented(var_dir: Any) -> None:
    schema = create_app(settings_for(var_dir, "portfolio", "sqlite+aiosqlite://")).openapi()
    ops = operations(schema)
    paths = {path for path, _, _ in ops}
    assert {
        "/v1/initiatives",
        "/v1/ebos/{id}/decision",
        "/v1/rounds/{id}/items/{item_id}",
        "/v1/rounds/{id}/diff",
        "/v1/reports/ratio",
        "/v1/duplicates",
    } <= paths
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        assert op.get("summary") and op.get("description"), where
        assert "401" in op["responses"] and "422" in op["responses"], where
        assert op["responses"]["422"]["content"].get("application/problem+json"), where
        if method in ("post", "patch") and "requestBody" in op:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
            assert schema["components"]["schemas"][ref].get("examples"), where
        if method == "patch":
            assert {"412", "428"} <= set(op["responses"]), where
            assert any(p["name"] == "If-Match" for p in op["parameters"]), where
        if method == "post":
            assert any(p["name"] == "Idempotency-Key" for p in op["parameters"]), where
        if "{id}" in path and method in ("get", "patch") and not path.endswith(("/diff", "/items")):
            assert "ETag" in op["responses"]["200"].get("headers", {}), where
    text = " ".join(op["description"] for _, _, op in ops) + schema["info"]["description"]
    for term in ("rolling portfolio", "beheer", "vernieuwing", "Eigen Beheerde Omgeving", "ontdubbelen"):
        assert term in text, term
    item = schema["components"]["schemas"]["RoundItemRead"]["properties"]["initiative"]
    target = schema["components"]["schemas"][item["$ref"].split("/")[-1]]
    assert target["x-reference"] == "/portfolio/v1/initiatives"
