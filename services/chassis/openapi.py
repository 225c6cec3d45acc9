"""Finishing touches every OpenAPI document of the suite gets."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.chassis.errors import PROBLEM_TYPES, problem_responses

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. `type` is one of the problem types listed below.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "enum": sorted(pt.uri for pt in PROBLEM_TYPES.values())},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On 422: each field that is wrong.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes this POST safe to retry: the same key with the same body returns the first "
        "response (with `Idempotent-Replayed: true`) and changes nothing; the same key with "
        "another body is 422; while the first request is still running, 409. Keys expire after "
        "24 hours by default."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})


def document_common_problems(operation: dict[str, Any]) -> None:
    """Answers any operation can give, documented once here instead of on every route: 400 for a
    query parameter it does not take (``services.chassis.queries``), 401/403 where a token is
    needed, 422 where there is input (the chassis rejects unstorable text)."""
    statuses = [400]
    if operation.get("security"):
        statuses += [401, 403]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append(422)
    responses = operation.setdefault("responses", {})
    for status, entry in problem_responses(*statuses).items():
        responses.setdefault(str(status), entry)


def problem_catalogue() -> str:
    lines = ["| type | status | meaning |", "|---|---|---|"]
    for pt in PROBLEM_TYPES.values():
        lines.append(f"| `{pt.uri}` | {pt.status} | {pt.description} |")
    return "\n".join(lines)


def install_openapi(app: FastAPI, *, tags: list[dict[str, Any]] | None = None) -> None:
    """Problem schema, the Idempotency-Key on every POST, and the problem catalogue."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description + "\n\n### Problem types\n\n" + problem_catalogue(),
            routes=app.routes,
            tags=tags,
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in HTTP_METHODS:
                    document_common_problems(operation)
            operation = path_item.get("post")
            if operation is None:
                continue
            params = operation.setdefault("parameters", [])
            if not any(p.get("name") == "Idempotency-Key" for p in params):
                params.append(dict(IDEMPOTENCY_PARAMETER))
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
