"""The gateway's Procfile command at the edge, in a real process: nothing stands in front of it on
one machine, so a client's own ``X-Forwarded-*`` are never taken for its address or scheme; the
services are told the connection's real peer (``X-Forwarded-For``) and scheme."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx2
import pytest

from bench.processes import Platform
from tests.echo import ECHO
from tests.support import served

pytestmark = pytest.mark.e2e

HANG = 60.0  # a guard against hanging, not a measurement


def test_a_local_clients_forwarded_headers_are_not_its_address(tmp_path: Path) -> None:
    with served(ECHO) as echo:
        platform = Platform(tmp_path, extra_env={"IV_VALUECHAINS_URL": echo})
        platform.launch("gateway")
        try:
            token = platform.token("reader")
            deadline = time.monotonic() + HANG
            with httpx2.Client(base_url=platform.url("gateway"), timeout=5) as client:
                while True:  # /healthz: the other upstreams are not running, so never ready
                    with contextlib.suppress(httpx2.TransportError):
                        if client.get("/healthz").status_code == 200:
                            break
                    assert platform.processes["gateway"].poll() is None, platform.log_tail("gateway")
                    assert time.monotonic() < deadline, platform.log_tail("gateway")
                    time.sleep(0.1)
                answer = client.get(
                    "/valuechains/echo",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "X-Forwarded-For": "203.0.113.7",
                        "X-Forwarded-Proto": "https",
                        "X-Forwarded-Host": "elsewhere.example",
                    },
                )
        finally:
            platform.stop_all()
    assert answer.status_code == 207, answer.text
    seen = dict(answer.json()["headers"])
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == platform.url("gateway").removeprefix("http://")
