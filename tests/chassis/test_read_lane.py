"""The read lane (services/chassis/resources/lane.py): what it takes from the front door, that it
answers a read by id exactly as the route does, and that everything else is the stack's."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from services.chassis.middleware import FrontDoor
from services.chassis.resources import lane as lane_module
from services.chassis.resources.lane import ReadLane
from services.chassis.resources.routers import read_item
from tests.chassis.cases import CASES
from tests.conftest import Suite
from tests.support import Tokens

ALL_CLEAR = ("reader",)


def scope(method: str, path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
        "headers": [], "root_path": "",
    }  # fmt: skip


def front_door(app: FastAPI) -> FrontDoor:
    door = app.build_middleware_stack()
    assert isinstance(door, FrontDoor)
    return door


def lane_of(app: FastAPI) -> ReadLane:
    lane = front_door(app).lane
    assert isinstance(lane, ReadLane)
    return lane


async def created(suite: Suite, tokens: Tokens, case: Any) -> dict[str, Any]:
    async with suite.client(case.service, tokens(*case.writer)) as writer:
        answer = await writer.post(case.path, json=case.body())
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body


def stack_client(app: FastAPI, headers: dict[str, str]) -> httpx2.AsyncClient:
    """A client of the app's middleware stack alone: the route, never the lane."""
    stack = front_door(app).app

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette's own entry sets it, before the front door
        await stack(scope, receive, send)

    transport = httpx2.ASGITransport(app=routed)
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


def test_every_collection_with_a_read_by_id_is_served_by_the_lane(suite: Suite) -> None:
    reads = {service: sorted(lane_of(app).reads) for service, app in suite.apps.items()}
    for case in CASES:
        assert case.collection in reads[case.service], case.id
    assert "ebos" in reads["portfolio"] and "applications" in reads["valuechains"]


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/v1/chains/0190", b"expand=x"),  # any query is the route's to check (422)
        ("HEAD", "/v1/chains/0190", b""),
        ("PATCH", "/v1/chains/0190", b""),
        ("GET", "/v1/chains/0190/", b""),
        ("GET", "/v1/chains/0190/owner", b""),
        ("GET", "/v1/chains/" + "a" * 65, b""),  # longer than an id may be: the route's 422
        ("GET", "/v1/chains/not an id", b""),
        ("GET", "/v1/chains", b""),
        ("GET", "/v1/reports/staffing", b""),  # another route's path
        ("GET", "/v1/changes/verify", b""),
        ("GET", "/v2/chains/0190", b""),
    ],
)
async def test_it_leaves_everything_but_a_plain_read_by_id_to_the_router(
    suite: Suite, method: str, path: str, query: bytes
) -> None:
    request = scope(method, path, query)
    lane = lane_of(suite.apps["valuechains"])
    assert lane(request) is None
    assert "route" not in request
    taken = scope("GET", "/v1/chains/0190")
    assert lane(taken) == lane.serve
    assert getattr(taken["route"], "path", None) == "/v1/chains/{id}"
    assert taken["path_params"] == {"id": "0190"}


@pytest.fixture
def lane_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids the lane itself answered (the route's own reads are not counted)."""
    answered: list[str] = []

    async def counted(c: Any, ctx: Any, id_: str) -> Any:
        response = await read_item(c, ctx, id_)
        answered.append(id_)
        return response

    monkeypatch.setattr(lane_module, "read_item", counted)
    return answered


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_read_is_answered_as_the_route_answers_it(
    suite: Suite, tokens: Tokens, case: Any, lane_reads: list[str]
) -> None:
    resource = await created(suite, tokens, case)
    app = suite.apps[case.service]
    path = f"{case.path}/{resource['id']}"
    async with suite.client(case.service, tokens("reader", clearance="secret")) as client:
        assert (await client.get(path)).status_code == 200
    assert lane_reads == [resource["id"]]  # the lane answered it, not the route
    for headers in (tokens("reader", clearance="secret"), {}, tokens("partner", sub="u-om-lane", partner_org="OM")):
        async with suite.client(case.service, headers) as client, stack_client(app, headers) as routed:
            for target in (path, f"{case.path}/019a0000-0000-7000-8000-00000000dead"):
                lane_answer, route_answer = await client.get(target), await routed.get(target)
                assert lane_answer.status_code == route_answer.status_code, (target, headers)
                assert lane_answer.content == route_answer.content
                for name in ("content-type", "etag", "content-length"):  # the rest are the front door's
                    assert lane_answer.headers.get(name) == route_answer.headers.get(name), name


async def test_a_read_by_id_is_metered_and_logged_under_its_route(
    suite: Suite, tokens: Tokens, lane_reads: list[str]
) -> None:
    chain = await created(suite, tokens, CASES[0])
    async with suite.client("valuechains", tokens("reader")) as client:
        assert (await client.get(f"/v1/chains/{chain['id']}")).status_code == 200
        assert lane_reads == [chain["id"]]
        text = (await client.get("/metrics", headers=tokens("auditor"))).text
    assert 'http_requests_total{method="GET",route="/v1/chains/{id}",service="valuechains",status="200"}' in text


async def test_a_bug_in_a_read_is_a_500_problem_and_raised_on(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = await created(suite, tokens, CASES[0])

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lane_module, "read_item", broken)
    transport = httpx2.ASGITransport(app=suite.apps["valuechains"], raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://t", headers=tokens("reader")) as client:
        answer = await client.get(f"/v1/chains/{chain['id']}")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    with pytest.raises(RuntimeError, match="a bug"):
        async with suite.client("valuechains", tokens("reader")) as client:
            await client.get(f"/v1/chains/{chain['id']}")
