"""The four real processes, started once for this module with the Procfile's commands.

Tests run in order: the last one stops everything with SIGINT, as Ctrl-C does.
"""

from __future__ import annotations

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
def platform(tmp_path_factory: pytest.TempPathFactory, prestarted: Path) -> Iterator[Platform]:
    started = Platform(tmp_path_factory.mktemp("platform"), template=prestarted)
    try:
        started.start()
        yield started
    finally:
        started.stop_all()


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
