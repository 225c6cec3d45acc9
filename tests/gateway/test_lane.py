"""The proxy's lane (gateway/lane.py): what it takes from the front door, and that what it serves
is answered as the middleware stack would have answered it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.routing import Route

from gateway.lane import ProxyLane
from tests.gateway.conftest import Rig
from tests.support import Tokens


def scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "headers": [], "root_path": ""}


def lane_of(rig: Rig) -> ProxyLane:
    lane = getattr(rig.app.build_middleware_stack(), "lane", None)  # the front door's
    assert isinstance(lane, ProxyLane)
    return lane


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/valuechains/v1/chains"),
        ("POST", "/portfolio/v1/initiatives"),
        ("OPTIONS", "/principles/"),
        ("GET", "/valuechains/metricsx"),
    ],
)
async def test_it_takes_what_the_router_gives_the_proxy(rig: Rig, method: str, path: str) -> None:
    request = scope(method, path)
    lane = lane_of(rig)
    assert lane(request) is lane.entry
    route = request["route"]
    assert isinstance(route, Route) and route.path == "/" + path.split("/")[1] + "/{path:path}"
    assert request["path_params"] == {"path": path.split("/", 2)[2]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/valuechains/metrics"),  # never passed on: the router's 404
        ("GET", "/portfolio/metrics/extra"),
        ("GET", "/valuechains"),  # the router's redirect to the slash
        ("GET", "/inventory/v1/things"),  # no such service
        ("GET", "/healthz"),
        ("TRACE", "/valuechains/v1/chains"),  # a method the proxy does not take: the router's 405
    ],
)
async def test_it_leaves_everything_else_to_the_router(rig: Rig, method: str, path: str) -> None:
    request = scope(method, path)
    assert lane_of(rig)(request) is None
    assert "route" not in request


async def test_a_method_it_does_not_take_is_the_routers_405_problem(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        answer = await client.request("TRACE", "/valuechains/v1/chains")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-trace-id"]


async def test_a_bug_while_passing_on_is_a_500_problem_and_raised_on(
    rig: Rig, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(rig.upstreams, "forward", broken)
    transport = httpx2.ASGITransport(app=rig.app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://testserver", headers=tokens("reader")
    ) as client:
        answer = await client.get("/valuechains/v1/chains")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "an internal error occurred"
    assert answer.headers["x-trace-id"] and answer.headers["cache-control"] == "no-store"
    with pytest.raises(RuntimeError, match="a bug"):  # the server logs it, as for any other route
        async with rig.client(tokens("reader")) as client:
            await client.get("/valuechains/v1/chains")


async def test_the_routes_metrics_name_the_proxy_route(rig: Rig, tokens: Tokens) -> None:
    registry = rig.app.state.metrics.registry

    def served() -> float:
        names = {"service": "gateway", "method": "GET", "route": "/valuechains/{path:path}", "status": "200"}
        return float(registry.get_sample_value("http_requests_total", names) or 0)

    before = served()
    async with rig.client(tokens("reader")) as client:
        assert (await client.get("/valuechains/v1/chains")).status_code == 200
    assert served() == before + 1
