"""The order of every write is part of the contract (services.chassis.resources.pipeline):
authorize before anything, the stored record's state and the preconditions before the body, the
body before any call to another service. A caller without the right learns nothing about the schema
and costs nothing; a request that cannot succeed whatever its body says so first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from services.chassis.resources.routers import GuardedRoute, unguarded_writes
from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.support import Tokens, app_with, available_services, service_module, settings_for

WRITE_METHODS = ("post", "put", "patch", "delete")
NOWHERE = "019a0000-dead-7000-8000-000000000000"
PARAMETER_VALUES = {"period": "2027"}
NOT_JSON = b'{"name": "half a body'


def write_operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, concrete path, operation) of every write in the app's OpenAPI document."""
    for template, item in app.openapi()["paths"].items():
        for method in WRITE_METHODS:
            if method in item:
                path = re.sub(r"\{(\w+)\}", lambda m: PARAMETER_VALUES.get(m[1], NOWHERE), template)
                yield method.upper(), path, item[method]


def example_body(app: FastAPI, operation: dict[str, Any]) -> dict[str, Any] | None:
    """The documented example of an operation's body, when it has one."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    ref = schema.get("$ref") or next((s.get("$ref") for s in schema.get("anyOf", []) if "$ref" in s), None)
    if ref is None:
        return None
    component = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    examples = component.get("examples") or []
    return examples[0] if examples and isinstance(examples[0], dict) else None


def test_every_write_route_of_every_service_is_guarded(var_dir: Path) -> None:
    for service in available_services():
        app = service_module(service).create_app(settings_for(var_dir, service, "sqlite+aiosqlite://"))
        assert unguarded_writes(app.routes) == [], service
        assert sum(1 for _ in write_operations(app)) >= 5, service


def test_a_service_with_an_unguarded_write_refuses_to_start(var_dir: Path) -> None:
    loose = APIRouter()

    @loose.post("/v1/loose")
    async def loose_write() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="write pipeline"):
        app_with(var_dir, loose)
    assert not any(isinstance(r, GuardedRoute) for r in loose.routes)


@pytest.mark.parametrize("role", ["reader", "auditor"])
async def test_a_reader_or_auditor_gets_403_for_every_write_whatever_they_send(
    suite: Suite, tokens: Tokens, role: str
) -> None:
    """No body, half a body, a body with unknown fields or a documented example with references,
    with or without If-Match, with a query the route does not take: 403, and not one call to
    another service. An auditor reads everything they are cleared for and writes nothing."""
    checked = 0
    for service, app in suite.apps.items():
        async with suite.client(service, tokens(role, clearance="secret")) as reader:
            for method, path, operation in write_operations(app):
                variants: list[dict[str, Any]] = [
                    {"content": NOT_JSON, "headers": {"content-type": "application/json"}},
                    {"json": {"surprise": True}},
                    {"json": {}, "headers": {"If-Match": '"999"', "Idempotency-Key": f"k-{checked}"}},
                    {"json": {}, "params": {"surprise": "1", "force": "true"}},
                ]
                example = example_body(app, operation)
                if example is not None:
                    variants.append({"json": example})
                for variant in variants:
                    before = len(suite.transport.requests)
                    answer = await reader.request(method, path, **variant)
                    where = f"{method} {service}{path} {variant}"
                    assert answer.status_code == 403, f"{where}: {answer.status_code} {answer.text}"
                    assert answer.headers["content-type"] == "application/problem+json", where
                    assert answer.json()["type"] == "/problems/forbidden", where
                    assert len(suite.transport.requests) == before, f"{where} called another service"
                checked += 1
    # Every service's writes were reached (a vacuous pass would prove nothing).
    assert checked >= 30, checked


async def test_ownership_is_checked_on_the_stored_record_before_the_body(suite: Suite, tokens: Tokens) -> None:
    """Holding the role is not enough when the stored record says someone else owns it: 403 before
    the body is read, whatever it holds."""
    owner = {"subject": "u-order-owner", "name": "O. Wner", "unit": "Eenheid Utrecht"}
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await admin.post(
            "/v1/chains",
            json={"code": "ORD1", "name": "Keten", "domain": "Orde", "mission": "Be owned.", "owner": owner},
        )
        assert chain.status_code == 201, chain.text
        chain_id = chain.json()["id"]
        team = await admin.post(
            f"/v1/chains/{chain_id}/teams", json={"name": "T", "fte_internal": 1, "fte_hired": 0, "maturity": 2}
        )
        assert team.status_code == 201, team.text
    someone_else = tokens("chain_owner", sub="u-not-the-owner")
    async with suite.client("valuechains", someone_else) as other:
        for method, path in [
            ("PATCH", f"/v1/teams/{team.json()['id']}"),
            ("PATCH", f"/v1/chains/{chain_id}"),
            ("POST", f"/v1/chains/{chain_id}/teams"),
            ("PUT", f"/v1/chains/{chain_id}/allocations/2027"),
            ("DELETE", f"/v1/teams/{team.json()['id']}"),
        ]:
            answer = await other.request(method, path, content=NOT_JSON, headers={"content-type": "application/json"})
            assert answer.status_code == 403, f"{method} {path}: {answer.text}"

    async with suite.client("portfolio", tokens("contributor", unit="Eenheid Amsterdam")) as contributor:
        ebo = await contributor.post(
            "/v1/ebos",
            json={
                "name": "Eigen tool",
                "unit": "Eenheid Amsterdam",
                "hosting": "own_platform",
                "data_classification": "internal",
                "users": 3,
            },
        )
        assert ebo.status_code == 201, ebo.text
    async with suite.client("portfolio", tokens("contributor", unit="Eenheid Utrecht")) as stranger:
        answer = await stranger.patch(f"/v1/ebos/{ebo.json()['id']}", json={"surprise": 1})
        assert answer.status_code == 403, answer.text


async def test_preconditions_come_before_the_body_and_the_body_before_other_services(
    suite: Suite, tokens: Tokens
) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as manager:
        created = await manager.post("/v1/initiatives", json=initiative_body(chain))
        assert created.status_code == 201, created.text
        url = f"/v1/initiatives/{created.json()['id']}"
        bogus = {"value_chain": {"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-00000000beef"}}

        # No If-Match: 428, whatever the body (a broken one, or one that would call valuechains).
        for variant in ({"content": NOT_JSON, "headers": {"content-type": "application/json"}}, {"json": bogus}):
            before = len(suite.transport.requests)
            answer = await manager.patch(url, **variant)
            assert answer.status_code == 428, answer.text
            assert len(suite.transport.requests) == before
        # A stale If-Match: 412, and valuechains is not asked about the reference.
        before = len(suite.transport.requests)
        stale = await manager.patch(url, json=bogus, headers={"If-Match": '"7"'})
        assert stale.status_code == 412, stale.text
        assert len(suite.transport.requests) == before
        # The right version and a broken body: 422, still no call.
        broken = await manager.patch(url, json={"budget_eur": "lots"}, headers={"If-Match": '"1"'})
        assert broken.status_code == 422, broken.text
        assert len(suite.transport.requests) == before
        # Only now is the reference checked with its owner: unknown there, 422 naming the field.
        unknown = await manager.patch(url, json=bogus, headers={"If-Match": '"1"'})
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["errors"][0]["loc"] == ["body", "value_chain"]
        assert len(suite.transport.requests) == before + 1
        assert (await manager.get(url)).json()["version"] == 1
