"""``make run`` supervises: a process killed with SIGKILL is restarted while the others keep
serving, the console says so, and Ctrl-C (SIGINT) stops everything with exit status 0."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from bench.processes import COMPONENTS, ROOT, Platform
from deploy.supervise import GROUP

pytestmark = pytest.mark.e2e

GUARD = 120.0  # against hanging, not a measurement


@pytest.fixture(scope="module")
def supervised(
    tmp_path_factory: pytest.TempPathFactory, prestarted: Path
) -> Iterator[tuple[Platform, subprocess.Popen[bytes], Path]]:
    platform = Platform(tmp_path_factory.mktemp("supervised"), template=prestarted)
    platform.prestart()
    console = platform.workdir / "console.log"
    with console.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "supervise.py")],
            cwd=ROOT,
            env={**platform.env(), "IV_LOG_JSON": "false"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for name in COMPONENTS:
            wait_until(lambda name=name: ready(platform, name))
        yield platform, supervisor, console
    finally:
        if supervisor.poll() is None:
            supervisor.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                supervisor.wait(30)
        if supervisor.poll() is None:
            supervisor.kill()


def ready(platform: Platform, name: str) -> bool:
    with contextlib.suppress(httpx2.HTTPError):
        return httpx2.get(platform.url(name) + "/readyz", timeout=2).status_code == 200
    return False


def wait_until(condition: object) -> None:
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("not within the guard time")


def running_pid(platform: Platform, name: str) -> int | None:
    """The pid supervisord reports for ``name`` once it is RUNNING (None while STARTING, BACKOFF...)."""
    status = subprocess.run(
        [
            str(Path(sys.executable).parent / "supervisorctl"),
            "-c",
            str(platform.var_dir / "supervisord.conf"),
            "status",
            f"{GROUP}:{name}",
        ],
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"RUNNING\s+pid (\d+)", status)
    return int(found[1]) if found else None


def pid_of(platform: Platform, name: str) -> int:
    pid = running_pid(platform, name)
    assert pid is not None, f"{name} is not running"
    return pid


def test_a_killed_process_is_restarted_while_the_others_serve(
    supervised: tuple[Platform, subprocess.Popen[bytes], Path],
) -> None:
    platform, _, console = supervised
    token = platform.token("reader")
    before = pid_of(platform, "portfolio")
    os.kill(before, signal.SIGKILL)
    # Meanwhile the rest of the platform answers as ever.
    chains = httpx2.get(
        platform.url("gateway") + "/valuechains/v1/chains", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert chains.status_code == 200
    # supervisord calls a restarted process RUNNING only after its start time, which may be after
    # it first answers: wait for both.
    wait_until(lambda: ready(platform, "portfolio") and running_pid(platform, "portfolio") not in (None, before))
    text = console.read_text(errors="replace")
    assert "exited: portfolio (terminated by SIGKILL; not expected)" in text
    assert text.count("spawned: 'portfolio'") >= 2
    # The console is for people: lines name their process, and nobody's idle polling fills it.
    assert re.search(r"^portfolio\s+\d\d:\d\d:\d\d INFO", text, re.MULTILINE)
    assert "GET /v1/changes" not in text and "Context impl" not in text


def test_ctrl_c_stops_everything_cleanly(supervised: tuple[Platform, subprocess.Popen[bytes], Path]) -> None:
    platform, supervisor, console = supervised
    pids = [pid_of(platform, name) for name in COMPONENTS]
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(GUARD) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert all(f"stopped: {name}" in console.read_text(errors="replace") for name in COMPONENTS)
