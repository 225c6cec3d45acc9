"""Faults, for real: a service killed with SIGKILL in the middle of eight writers loses and doubles
nothing, and the gateway keeps its promises (timeouts, retries, breaker) against a network that
delays, resets and swallows connections (``tests/faults.py``)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi import FastAPI

from bench.processes import ROOT, Platform, create_postgres_database, drop_postgres_database
from gateway.app import create_app as create_gateway
from tests.faults import FaultProxy, fault_proxy
from tests.support import (
    Tokens,
    client_for,
    database_base_url,
    gateway_settings,
    running,
    served,
    unique_name,
)

pytestmark = pytest.mark.e2e

WRITERS = 8
WRITES_EACH = 12  # 96 writes: the kill comes after 24 are acknowledged, well inside the run
DEADLINE = 120.0  # a guard against hanging, not a measurement
RETRIED = (409, 502, 503, 504)


# --- kill -9 under eight writers ----------------------------------------------------------------


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """The portfolio's database: PostgreSQL when the suite runs on it, else a SQLite file."""
    base = database_base_url()
    if base is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'portfolio.db'}"
        return
    name = unique_name("iv_faults_portfolio")
    url = await create_postgres_database(base, name)
    try:
        yield url
    finally:
        await drop_postgres_database(base, name)


@pytest.fixture
def portfolio(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    platform = Platform(tmp_path / "platform", extra_env={"IV_PORTFOLIO_DATABASE_URL": database_url})
    migrated = subprocess.run(
        [sys.executable, "-m", "services.portfolio", "migrate"], cwd=ROOT, env=platform.env(), capture_output=True
    )
    assert migrated.returncode == 0, migrated.stderr.decode(errors="replace")
    try:
        platform.launch("portfolio")
        platform.wait_ready("portfolio")
        yield platform
    finally:
        platform.stop_all()


def write_until_acknowledged(url: str, token: str, name: str, key: str, acknowledged: list[str]) -> None:
    """One write, retried with its Idempotency-Key through whatever happens, until it is answered."""
    body = {"name": name, "unit": "Eenheid Rotterdam", "hosting": "own_platform", "data_classification": "internal"}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    deadline = time.monotonic() + DEADLINE
    with httpx2.Client(base_url=url, timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                answer = client.post("/v1/ebos", json={**body, "users": 1}, headers=headers)
            except httpx2.TransportError:
                time.sleep(0.2)
                continue
            if answer.status_code == 201:
                acknowledged.append(name)
                return
            assert answer.status_code in RETRIED, answer.text
            time.sleep(0.2)
    raise AssertionError(f"{name} was never acknowledged")


def test_a_killed_service_loses_and_doubles_no_write(portfolio: Platform) -> None:
    token = portfolio.token("portfolio_manager", sub="writer")
    url = portfolio.url("portfolio")
    run = uuid.uuid4().hex[:6]
    acknowledged: list[str] = []
    sent = [(f"kill-{run}-{w}-{n}", f"{run}-{w}-{n}") for w in range(WRITERS) for n in range(WRITES_EACH)]

    def writer(w: int) -> None:
        for name, key in sent[w * WRITES_EACH : (w + 1) * WRITES_EACH]:
            write_until_acknowledged(url, token, name, key, acknowledged)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < WRITERS * 3:  # in the middle of it
        time.sleep(0.02)
    portfolio.processes["portfolio"].kill()  # SIGKILL: no cleanup, keys left in flight
    portfolio.processes["portfolio"].wait()
    time.sleep(0.3)
    portfolio.restart("portfolio")
    for thread in threads:
        thread.join(DEADLINE)

    admin = {"Authorization": f"Bearer {portfolio.token('admin', sub='auditor', clearance='secret')}"}
    stored: list[str] = []
    with httpx2.Client(base_url=url, timeout=10, headers=admin) as client:
        page: dict[str, Any] = client.get("/v1/ebos", params={"limit": 100}).json()
        while True:
            stored += [e["name"] for e in page["items"] if e["name"].startswith(f"kill-{run}-")]
            if not page["next"]:
                break
            page = client.get(page["next"].removeprefix("/portfolio")).json()
        verified = client.get("/v1/changes/verify").json()
    names = {name for name, _ in sent}
    found = set(stored)
    duplicated = len(stored) - len(found)
    print(
        f"\nkill -9 under {WRITERS} writers: sent {len(sent)}, acknowledged {len(set(acknowledged))}, "
        f"found {len(found & names)}, lost {len(names - found)}, duplicated {duplicated}, feed {verified}"
    )
    assert set(acknowledged) == names
    assert found == names and duplicated == 0
    assert verified["ok"] is True


# --- the gateway against a faulty network --------------------------------------------------------


def upstream_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/things")
    async def things() -> dict[str, Any]:
        return {"items": [], "next": None}

    @app.post("/v1/things", status_code=201)
    async def create() -> dict[str, str]:
        return {"id": "made"}

    return app


@pytest.fixture
async def proxied(request: pytest.FixtureRequest, var_dir: Path) -> AsyncIterator[tuple[FastAPI, FaultProxy]]:
    """The gateway in front of a real server, with the fault proxy on the way to it (as portfolio).
    Its deadline is 1 s unless the test is marked ``upstream_timeout(seconds)``."""
    marker = request.node.get_closest_marker("upstream_timeout")
    with served(upstream_app()) as url:
        async with fault_proxy("127.0.0.1", urlsplit(url).port or 80) as proxy:
            settings = gateway_settings(
                var_dir,
                portfolio_url=proxy.url,
                upstream_timeout=marker.args[0] if marker else 1.0,
                breaker_failure_threshold=3,
                breaker_recovery_seconds=0.5,
            )
            app = create_gateway(settings)  # the real network: no in-process transport
            async with running(app):
                yield app, proxy


async def test_a_slow_or_silent_upstream_is_a_timely_504(proxied: tuple[FastAPI, FaultProxy], tokens: Tokens) -> None:
    app, proxy = proxied
    async with client_for(app, tokens("reader")) as client:
        assert (await client.get("/portfolio/v1/things")).status_code == 200
        for mode in ("delay", "blackhole"):
            proxy.set(mode, delay=3.0)  # longer than the 1 s deadline
            answer = await asyncio.wait_for(client.get("/portfolio/v1/things"), 10)
            assert answer.status_code == 504, (mode, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            proxy.set("pass")
            assert (await client.get("/portfolio/v1/things")).status_code == 200  # the breaker is still closed


async def test_a_reset_is_retried_for_reads_only(proxied: tuple[FastAPI, FaultProxy], tokens: Tokens) -> None:
    app, proxy = proxied
    async with client_for(app, tokens("admin")) as client:
        assert (await client.get("/portfolio/v1/things")).status_code == 200
        proxy.set("reset", connections=1)  # one broken connection, then a good one
        before = proxy.requests
        read = await client.get("/portfolio/v1/things")
        assert read.status_code == 200 and proxy.requests - before == 2  # retried, once
        assert proxy.connections >= 2  # on a new connection
        proxy.set("reset", connections=1)
        before = proxy.requests
        write = await client.post("/portfolio/v1/things", json={})
        assert write.status_code == 502 and proxy.requests - before == 1  # a write is never retried
        assert "may or may not have been made" in write.json()["detail"]


# A reset and its one retry must end in 502, not in the deadline's 504, on a busy machine too.
@pytest.mark.upstream_timeout(10.0)
async def test_the_breaker_opens_fails_fast_and_recovers(proxied: tuple[FastAPI, FaultProxy], tokens: Tokens) -> None:
    app, proxy = proxied
    async with client_for(app, tokens("reader")) as client:
        proxy.set("reset")
        for _ in range(3):  # three failed requests in a row open it
            assert (await client.get("/portfolio/v1/things")).status_code == 502
        before = proxy.requests
        fast = await client.get("/portfolio/v1/things")
        assert fast.status_code == 503 and "retry-after" in fast.headers
        assert proxy.requests == before  # not even tried
        proxy.set("pass")
        await asyncio.sleep(0.6)  # past the recovery time: one probe goes through and closes it
        assert (await client.get("/portfolio/v1/things")).status_code == 200
        assert (await client.get("/portfolio/v1/things")).status_code == 200
