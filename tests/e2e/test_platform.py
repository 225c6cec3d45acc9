"""The four real processes with the Procfile's commands (``platform``, shared with the EBO developers'
guide's test: tests/platforms.py).

Tests run in order: the last one stops everything with SIGINT, as Ctrl-C does.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from bench.processes import COMPONENTS, SERVICES, Platform

pytestmark = pytest.mark.e2e

# A guard against hanging, not a performance assertion: every answer must come long before this.
HANG = 10.0


@pytest.fixture(scope="module")
def platform(real_platform: Platform) -> Platform:
    """The real platform, shared (tests/platforms.py)."""
    return real_platform


@pytest.fixture(scope="module")
def reader(platform: Platform) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.token('reader')}"}


@pytest.fixture
def gateway(platform: Platform) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=platform.url("gateway"), timeout=HANG) as client:
        yield client


def test_a_service_through_the_gateway(gateway: httpx2.Client, reader: dict[str, str]) -> None:
    answer = gateway.get("/valuechains/v1/chains", headers=reader)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert set(page) == {"items", "next"}
    assert {c["code"] for c in page["items"]} >= {"OPS", "INT", "INS", "NHM", "BVO"}
    assert all(c["href"] == f"/valuechains/v1/chains/{c['id']}" for c in page["items"])
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert gateway.get("/valuechains/v1/chains").status_code == 401


def test_readiness_of_every_upstream(gateway: httpx2.Client) -> None:
    ready = gateway.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["upstreams"]) == set(SERVICES)


def test_explorer_and_its_assets_load_from_the_gateway(gateway: httpx2.Client) -> None:
    page = gateway.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/explorer/") for a in assets)
    for asset in [*assets, "/static/explorer/init.js"]:
        assert gateway.get(asset).status_code == 200, asset
    document = gateway.get("/openapi.json").json()
    assert "x-missing-services" not in document
    for service in SERVICES:
        assert any(path.startswith(f"/{service}/v1/") for path in document["paths"]), service


def test_expansion_across_processes(gateway: httpx2.Client, reader: dict[str, str]) -> None:
    answer = gateway.get("/portfolio/v1/initiatives", params={"expand": "value_chain", "limit": 5}, headers=reader)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items
    for item in items:  # the demo initiatives point at the demo chains, which all exist
        assert item["value_chain"]["href"] == f"/valuechains/v1/chains/{item['value_chain']['id']}"
        assert item["value_chain"]["code"] in {"OPS", "INT", "INS", "NHM", "BVO"}


def next_event(lines: Iterator[str]) -> dict[str, str]:
    """The next server-sent event of ``lines`` (comments passed over)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if fields:
                return fields
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    raise AssertionError("the stream ended")


def test_the_change_stream_through_the_gateway(platform: Platform, reader: dict[str, str]) -> None:
    admin = {"Authorization": f"Bearer {platform.token('admin')}"}
    chain = {
        "name": "Live",
        "domain": "Streaming",
        "mission": "Be seen at once.",
        "owner": {"subject": "u-live", "name": "L. Ive", "unit": "Eenheid Utrecht"},
    }
    stream = "/valuechains/v1/changes/stream"
    with httpx2.Client(base_url=platform.url("gateway"), timeout=HANG) as client:
        with client.stream("GET", stream, headers=reader) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            created = client.post("/valuechains/v1/chains", json={"code": "LIVE1", **chain}, headers=admin)
            assert created.status_code == 201, created.text
            event = next_event(response.iter_lines())
        assert event["event"] == "chains.created"
        assert json.loads(event["data"])["subject"] == created.json()["href"]
        # Resumed from before that event, over a new connection: it comes again, and first.
        resume = {**reader, "Last-Event-ID": str(int(event["id"]) - 1)}
        with client.stream("GET", stream, headers=resume) as response:
            assert next_event(response.iter_lines())["id"] == event["id"]
        # Each stream closed was let go of at the service too: a caller may hold 3 at once.
        for _ in range(4):
            deadline = time.monotonic() + 2
            while True:
                with client.stream("GET", stream, headers=reader) as response:
                    status = response.status_code
                if status != 429:
                    break
                assert time.monotonic() < deadline, "a closed stream still holds its slot at the service"
                time.sleep(0.05)
            assert status == 200


def test_head_through_the_gateway_is_the_gets_head(gateway: httpx2.Client, reader: dict[str, str]) -> None:
    """HEAD over real connections and uvicorn: a resource's head is its GET's (length and ETag), and a
    HEAD of the change stream is its head at once, the stream at the service ended with it (a
    caller holds 3 at once; each HEAD gives its slot back). test_sigint_... then finds no traceback:
    nothing the stream sent after its head reached uvicorn."""
    href = gateway.get("/valuechains/v1/chains", headers=reader).json()["items"][0]["href"]
    got, head = gateway.get(href, headers=reader), gateway.head(href, headers=reader)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]
    for _ in range(5):
        deadline = time.monotonic() + 2
        while (streamed := gateway.head("/valuechains/v1/changes/stream", headers=reader)).status_code == 429:
            assert time.monotonic() < deadline, "a HEAD's stream still holds its slot at the service"
            time.sleep(0.05)
        assert streamed.status_code == 200, streamed.text
        assert streamed.headers["content-type"].startswith("text/event-stream")
        assert streamed.content == b""


def test_killed_upstream_mid_request_is_a_problem_not_a_hang(
    platform: Platform, gateway: httpx2.Client, reader: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {platform.token('admin')}"}
    assert gateway.get("/valuechains/v1/chains", headers=reader).status_code == 200  # a pooled connection
    # Frozen, the service still accepts connections (the kernel does) but never answers: the
    # requests below are in flight when it is killed.
    platform.send("valuechains", signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(2) as pool:
            read = pool.submit(gateway.get, "/valuechains/v1/chains", headers=reader)
            write = pool.submit(
                gateway.post,
                "/valuechains/v1/chains",
                headers=admin,
                json={
                    "code": "KILL",
                    "name": "Killed",
                    "domain": "Testing",
                    "mission": "Never stored.",
                    "owner": {"subject": "u1", "name": "K. Ill", "unit": "Dienst IV"},
                },
            )
            time.sleep(0.5)
            platform.send("valuechains", signal.SIGKILL)
            answers = [read.result(HANG), write.result(HANG)]
        for answer in answers:
            assert answer.status_code in (502, 503), answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["status"] == answer.status_code
        # While it is down: a problem straight away, and the other services carry on.
        down = gateway.get("/valuechains/v1/chains", headers=reader)
        assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
        assert gateway.get("/principles/healthz", headers=reader).status_code == 200
        assert gateway.get("/readyz").json()["upstreams"]["valuechains"]["ready"] is False
    finally:
        platform.processes["valuechains"].wait(HANG)
        platform.restart("valuechains")
    platform.wait_ready("gateway")
    # The breaker recovers by itself once the service is back.
    deadline = time.monotonic() + 30
    while gateway.get("/valuechains/v1/chains", headers=reader).status_code != 200:
        assert time.monotonic() < deadline, "the gateway did not recover"
        time.sleep(0.5)


def test_sigint_stops_every_process_cleanly(platform: Platform) -> None:
    codes = platform.stop_all()
    assert codes == dict.fromkeys(COMPONENTS, 0), {n: platform.log_tail(n) for n in codes}
    for name in COMPONENTS:
        assert "Traceback" not in platform.log_tail(name, 200), name


def test_processes_used_their_own_directory(platform: Platform) -> None:
    assert (platform.var_dir / "dev-signing-key.pem").exists()
    for service in SERVICES:
        assert Path(platform.workdir / f"{service}.db").exists()
