"""Strict query strings on every operation of every service and of the gateway
(services.chassis.queries): an unknown parameter is 400 naming it, a single-valued one given twice
is 400, a repeatable filter takes every value; the OpenAPI document says which is which."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import APIRouter, FastAPI, Query
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from gateway.app import PassOnRoute
from services.chassis.queries import QuerySpec, StrictRoute, strict_router, unchecked_routes
from services.chassis.resources import any_of
from tests.chassis.cases import CASES, case_ids
from tests.conftest import Suite
from tests.support import Tokens, app_with, client_for

NOWHERE = "019a0000-dead-7000-8000-000000000000"
PATH_VALUES = {"period": "2027"}
PROBLEM = "/problems/query-parameter"


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: PATH_VALUES.get(m[1], NOWHERE), template)


def is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(is_array(alt) for alt in schema.get("anyOf", []))


def query_parameters(operation: dict[str, Any]) -> dict[str, bool]:
    """name -> repeatable, of an operation's documented query parameters."""
    return {p["name"]: is_array(p.get("schema", {})) for p in operation.get("parameters", []) if p.get("in") == "query"}


def get_operations(app: FastAPI) -> Iterator[tuple[str, dict[str, Any]]]:
    for template, item in app.openapi()["paths"].items():
        if "get" in item:
            yield template, item["get"]


def assert_refused(answer: httpx2.Response, parameter: str, where: str) -> None:
    assert answer.status_code == 400, f"{where}: {answer.status_code} {answer.text}"
    assert answer.headers["content-type"] == "application/problem+json", where
    body = answer.json()
    assert body["type"] == PROBLEM and body["parameter"] == parameter, f"{where}: {body}"
    assert parameter in body["detail"], where


def test_every_route_checks_its_query_as_its_document_says(suite: Suite) -> None:
    """Every API route of every service checks its query (an app with one that does not refuses to
    start), and what the check takes is what the OpenAPI document lists: names, and which repeat."""
    compared = 0
    for service, app in suite.apps.items():
        assert unchecked_routes(app.routes) == [], service
        document = app.openapi()["paths"]
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not context.include_in_schema:
                continue
            spec = QuerySpec.of(context.dependant)
            for method in context.methods or ():
                documented = query_parameters(document[context.path_format][method.lower()])
                where = f"{service} {method} {context.path}"
                assert set(documented) == spec.names, where
                assert {n for n, many in documented.items() if many} == spec.multi, where
                compared += 1
    assert compared >= 60, compared


def test_an_app_with_a_route_that_does_not_check_refuses_to_start(var_dir: Path) -> None:
    loose = APIRouter()

    @loose.get("/v1/loose")
    async def loose_read() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="strict_router"):
        app_with(var_dir, loose)


async def test_an_unknown_parameter_is_400_naming_it_on_every_read(suite: Suite, tokens: Tokens) -> None:
    checked = 0
    for service, app in suite.apps.items():
        async with suite.client(service, tokens("admin", clearance="secret")) as client:
            for template, _operation in get_operations(app):
                where = f"GET {service}{template}"
                answer = await client.get(concrete(template), params={"limt": "5"})
                assert_refused(answer, "limt", where)
                checked += 1
    assert checked >= 40, checked


async def test_a_single_valued_parameter_given_twice_is_400_on_every_read(suite: Suite, tokens: Tokens) -> None:
    checked = 0
    for service, app in suite.apps.items():
        async with suite.client(service, tokens("admin", clearance="secret")) as client:
            for template, operation in get_operations(app):
                for name, repeatable in query_parameters(operation).items():
                    if repeatable:
                        continue
                    answer = await client.get(concrete(template), params=[(name, "1"), (name, "2")])
                    assert_refused(answer, name, f"GET {service}{template} ?{name} twice")
                    checked += 1
    assert checked >= 40, checked


@pytest.mark.parametrize("case", CASES, ids=case_ids())
async def test_a_write_with_an_unknown_parameter_changes_nothing(suite: Suite, tokens: Tokens, case: Any) -> None:
    async with suite.client(case.service, tokens(*case.writer, clearance="secret")) as writer:
        # Nothing written: the feed's head stays (committed tests may have left records behind).
        head = (await writer.get("/v1/changes", params={"limit": 1})).headers["X-Feed-Head"]
        refused = await writer.post(case.path, json=case.body(), params={"dry_run": "true"})
        assert_refused(refused, "dry_run", f"POST {case.id}")
        assert (await writer.get("/v1/changes", params={"limit": 1})).headers["X-Feed-Head"] == head
        created = await writer.post(case.path, json=case.body())
        assert created.status_code == 201, created.text
        href = created.json()["href"].split("/", 2)[2]
        patched = await writer.patch(
            f"/{href}", json=case.change, params={"force": "1"}, headers={"If-Match": created.headers["ETag"]}
        )
        assert_refused(patched, "force", f"PATCH {case.id}")
        assert (await writer.get(f"/{href}")).json()["version"] == 1
    # A caller without the right still learns nothing first: 403, whatever the query.
    async with suite.client(case.service, tokens("reader", clearance="secret")) as reader:
        answer = await reader.post(case.path, json=case.body(), params={"dry_run": "true"})
        assert answer.status_code == 403, answer.text


async def test_the_gateway_refuses_on_its_own_routes_and_passes_the_services_answer(
    suite: Suite, suite_gateway: FastAPI, tokens: Tokens
) -> None:
    assert unchecked_routes(suite_gateway.routes, exempt=(PassOnRoute,)) == []
    async with client_for(suite_gateway, tokens("reader", clearance="secret")) as client:
        own = await client.get("/references", params=[("target", "/valuechains/v1/chains/x"), ("targets", "y")])
        assert_refused(own, "targets", "gateway /references")
        proxied = await client.get("/valuechains/v1/chains", params={"owner": "me"})
        assert_refused(proxied, "owner", "gateway -> valuechains")
        # expand is the gateway's own, taken off before the service sees the query.
        expanded = await client.get("/portfolio/v1/initiatives", params={"expand": "value_chain"})
        assert expanded.status_code == 200, expanded.text


class Filters(BaseModel):
    status: list[str] = any_of()
    name: str | None = None


def test_repeatability_is_read_from_the_declared_type() -> None:
    router = strict_router()

    @router.get("/things")
    async def things(filters: Filters = Query(), flag: bool = False, tag: list[str] | None = Query(None)) -> None:
        return None

    route = router.routes[0]
    assert isinstance(route, StrictRoute)
    spec = QuerySpec.of(route.dependant)
    assert spec.single == {"name", "flag"} and spec.multi == {"status", "tag"}
    spec.check(b"status=a&status=b&tag=x&tag=y&name=n&flag=true")
    spec.check("")
    for bad in ("name=a&name=b", "flag=1&flag=0", "nme=a", "status=a&Status=b"):
        with pytest.raises(Exception, match="query parameter"):
            spec.check(bad)


async def _all(client: httpx2.AsyncClient, path: str, params: list[tuple[str, str]]) -> set[str]:
    ids: set[str] = set()
    url: str | None = path
    query: Any = [*params, ("limit", "100")]
    while url:
        answer = await client.get(url, params=query)
        assert answer.status_code == 200, f"{path} {params}: {answer.text}"
        page = answer.json()
        ids |= {item["id"] for item in page["items"]}
        url, query = page["next"], None
        if url:
            url = "/" + url.split("/", 2)[2]
    return ids


async def test_a_repeatable_filter_takes_every_value(demo_suite: Suite, tokens: Tokens) -> None:
    """On the demo data: for every repeatable enumerated filter of every collection, asking for two
    values lists exactly what asking for each lists."""
    found = 0
    compared = 0
    for service, app in demo_suite.apps.items():
        async with demo_suite.client(service, tokens("admin", clearance="secret")) as client:
            for template, operation in get_operations(app):
                if "{" in template or "limit" not in query_parameters(operation):
                    continue  # a collection's list, paged
                for parameter in operation.get("parameters", []):
                    schema = parameter.get("schema", {})
                    values = schema.get("items", {}).get("enum") if schema.get("type") == "array" else None
                    if parameter.get("in") != "query" or not values or len(values) < 2:
                        continue
                    name, (first, second) = parameter["name"], values[:2]
                    one = await _all(client, template, [(name, first)])
                    other = await _all(client, template, [(name, second)])
                    both = await _all(client, template, [(name, first), (name, second)])
                    assert both == one | other, f"{service}{template} ?{name}={first}&{name}={second}"
                    found += len(both)
                    compared += 1
    assert compared >= 20, compared
    assert found >= 20, found  # the demo data makes the comparison mean something
