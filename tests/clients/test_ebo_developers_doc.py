"""docs/ebo-developers.md runs against the real platform (its four processes), so it cannot go
stale: its Python blocks in order in one namespace, its ivctl lines through CliRunner. And a
follower killed with SIGKILL and started again loses no event and takes none twice."""

from __future__ import annotations

import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.processes import Platform
from iv_client import Client
from iv_client.cli import app
from iv_client.config import NAMES

# The real processes, as the end-to-end tests start them (this module's `platform` is theirs, not
# the in-process one of tests/clients/conftest.py).
from tests.support import Tokens, settings_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ebo-developers.md"
BLOCK = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SHELL_VARIABLES = {"$EBO": lambda namespace: namespace["ebo"].href}
"""What the doc's shell lines name, from what its Python blocks made."""


@pytest.fixture(scope="module")
def platform(real_platform: Platform) -> Platform:
    """The real platform, shared with tests/e2e/test_platform.py (tests/platforms.py)."""
    return real_platform


@pytest.fixture(scope="module")
def platform_tokens(platform: Platform) -> Tokens:
    """Tokens signed with the platform's development key, made here rather than by a process each."""
    return Tokens(settings_for(platform.var_dir))


@pytest.fixture
def configured(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A reader of the doc in a directory of their own, the platform's checkout in IV_CHECKOUT."""
    monkeypatch.chdir(tmp_path)
    for name in ("IV_TOKEN", "IV_OAUTH_TOKEN_URL", "IV_OAUTH_CLIENT_ID", "IV_OAUTH_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVCTL_CONFIG", str(tmp_path / "ivctl.toml"))
    monkeypatch.setenv("IV_URL", platform.url("gateway"))
    monkeypatch.setenv("IV_CHECKOUT", str(ROOT))
    monkeypatch.setenv("IV_ENVIRONMENT", "development")
    monkeypatch.setenv("IV_VAR_DIR", str(platform.var_dir))
    return tmp_path


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m[1], m[2], m[3]) for m in BLOCK.finditer(DOC.read_text())]


def ivctl_lines(code: str) -> list[str]:
    return [line for line in code.splitlines() if line.startswith("ivctl ")]


def test_the_worked_example_runs_as_written(configured: Path) -> None:
    found = blocks()
    assert [kind for kind, _, _ in found].count("python") >= 6 and any(ivctl_lines(c) for _, _, c in found)
    for kind, name, code in found:
        if kind == "json" and name:
            (configured / name).write_text(code)
    namespace: dict[str, Any] = {"__name__": "ebo_developers"}
    runner = CliRunner()
    for kind, _, code in found:
        if kind == "python":
            exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102  (the doc's own code)
        elif kind == "toml":
            assert set(tomllib.loads(code)) <= set(NAMES), "the doc names a setting ivctl does not read"
        elif kind == "sh":
            for line in ivctl_lines(code):
                for variable, value in SHELL_VARIABLES.items():
                    if f'"{variable}"' in line:
                        line = line.replace(f'"{variable}"', shlex.quote(value(namespace)))
                result = runner.invoke(app, shlex.split(line, comments=True)[1:])
                assert result.exit_code == 0, (line, result.output)
    # What the doc says happened, happened.
    ebo, follower = namespace["ebo"], namespace["follower"]
    assert ebo.users == 180 and follower.delivered == 4
    kept = sqlite3.connect(configured / "ebo-feed.db")
    assert [users for (users,) in kept.execute("SELECT users FROM ebo_users ORDER BY seq")] == [140, 150, 180]
    kept.close()
    assert Client.from_config().get(ebo.href).status == "under_review"


FOLLOWER = textwrap.dedent(
    """
    import sys, time
    from iv_client import Client, Follower

    follower = Follower(Client.from_config(), "valuechains", sys.argv[1], poll_seconds=0.05)
    follower.db.execute("CREATE TABLE IF NOT EXISTS seen (seq INTEGER PRIMARY KEY)")

    def keep(event):
        follower.db.execute("INSERT INTO seen VALUES (?)", (event.seq,))
        print(event.seq, flush=True)
        time.sleep(float(sys.argv[2]))

    if sys.argv[3] == "follow":
        follower.run(keep)
    else:
        follower.catch_up(keep)
    """
)


def test_a_follower_killed_and_started_again_loses_nothing_and_repeats_nothing(
    configured: Path, platform_tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IV_TOKEN", platform_tokens("reader")["Authorization"].removeprefix("Bearer "))
    state = configured / "follower.db"
    command = [sys.executable, "-c", FOLLOWER, str(state)]
    first = subprocess.Popen([*command, "0.05", "follow"], stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    printed = [first.stdout.readline() for _ in range(5)]  # five events in: killed in the middle of one
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert all(line.strip().isdigit() for line in printed)
    second = subprocess.run([*command, "0", "catch-up"], capture_output=True, text=True, timeout=30, check=True)
    seen = [seq for (seq,) in sqlite3.connect(state).execute("SELECT seq FROM seen ORDER BY seq")]
    feed = [event.seq for event in Client.from_config().changes("valuechains")]
    assert seen == feed and len(feed) > 5
    again = [int(line) for line in second.stdout.split()]
    assert again and again[0] <= int(printed[-1])  # it went on where the killed one stopped
