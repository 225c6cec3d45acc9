"""ivctl against the platform in-process, through typer's CliRunner: each command, its output
formats, and the exit codes its errors give (the problem's title, detail and field errors, never a
traceback)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest
from typer.testing import CliRunner, Result

from iv_client import Client, cli
from iv_client.cli import CONFLICT, PROBLEM, UNREACHABLE, USAGE, State, app
from tests.clients.conftest import GATEWAY, QUICK, Platform
from tests.clients.test_client import UNIT, Flaky, chain_body, ebo_body

ROOT = Path(__file__).resolve().parents[2]


class Ivctl:
    """``ivctl ...`` in a thread, with this test's config file and the platform's transport."""

    def __init__(self, platform: Platform, config: Path, transport: httpx2.BaseTransport | None = None) -> None:
        self.platform, self.config = platform, config
        self.transport = transport or platform.bridge
        self.env = {"IVCTL_CONFIG": str(config), "IV_URL": GATEWAY, "IV_TOKEN": ""}

    async def __call__(self, *args: str, token: str | None = None, width: int = 160, **env: str) -> Result:
        """``ivctl *args`` printing to a terminal ``width`` columns wide."""
        state = State(token=token, transport=self.transport, retry=QUICK)
        runner = CliRunner()
        before, cli.out.width = cli.out.width, width
        try:
            return await self.platform.call(runner.invoke, app, list(args), obj=state, env={**self.env, **env})
        finally:
            cli.out.width = before


@pytest.fixture
def ivctl(platform: Platform, tmp_path: Path) -> Ivctl:
    return Ivctl(platform, tmp_path / "ivctl" / "config.toml")


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


async def test_login_stores_a_development_token_that_later_commands_use(
    ivctl: Ivctl, platform: Platform, var_dir: Path
) -> None:
    result = await ivctl(
        "login", "--role", "contributor", "--unit", UNIT, "--sub", "u-ebo-dev", "--checkout", str(ROOT),
        IV_VAR_DIR=str(var_dir),
    )  # fmt: skip
    ok(result)
    assert "token stored in" in result.stderr
    stored = ivctl.config.read_text()
    assert f'url = "{GATEWAY}"' in stored and "token = " in stored
    assert ivctl.config.stat().st_mode & 0o077 == 0  # a token is for its owner's eyes only
    path = ivctl.config.parent / "ebo.json"
    path.write_text(json.dumps(ebo_body(name="Aangemeld")))
    registered = ok(await ivctl("ebos", "register", str(path)))
    assert registered.startswith("registered /portfolio/v1/ebos/")
    failed = await ivctl("login", "--checkout", str(ivctl.config.parent), PYTHONPATH="")
    assert failed.exit_code == USAGE and "no development token" in failed.stderr


async def test_get_list_and_their_formats(ivctl: Ivctl, platform: Platform) -> None:
    token = platform.token("admin")
    admin = platform.client(token)
    chains = [await platform.call(admin.create, "/valuechains/v1/chains", chain_body()) for _ in range(3)]
    team = await platform.call(
        admin.create, f"{chains[0].href}/teams", {"name": "Team CLI", "fte_internal": 3, "maturity": 1}
    )
    got = json.loads(ok(await ivctl("get", team.href, "--expand", "chain", token=token)))
    assert got["chain"]["code"] == chains[0].code
    included = json.loads(ok(await ivctl("get", chains[0].href, "--include", "teams", token=token)))
    assert [t["href"] for t in included["included"]["teams"]["items"]] == [team.href]

    first = json.loads(
        ok(await ivctl("list", "/valuechains/v1/chains", "--limit", "2", "--output", "json", token=token))
    )
    every = json.loads(
        ok(await ivctl("list", "/valuechains/v1/chains", "--limit", "2", "--all", "--output", "json", token=token))
    )
    assert len(first) == 2 and {c.href for c in chains} <= {c["href"] for c in every}
    filtered = ok(
        await ivctl(
            "list", "/valuechains/v1/chains", "--filter", f"code={chains[1].code}", "--output", "csv", token=token
        )
    )
    [row] = list(csv.DictReader(io.StringIO(filtered)))
    assert row["code"] == chains[1].code and row["owner.unit"] == UNIT and row["href"] == chains[1].href
    assert "error" not in got["chain"]  # what the platform sent, nothing more
    table = ok(await ivctl("list", "/valuechains/v1/chains", "--filter", f"code={chains[2].code}", token=token))
    assert chains[2].code in table and chains[2].href in table and chains[1].href not in table
    narrow = ok(
        await ivctl("list", "/valuechains/v1/chains", "--filter", f"code={chains[2].code}", token=token, width=60)
    )
    assert chains[2].href in narrow  # an href is what one copies from a table: never cut


async def test_ebos_register_and_update_with_if_match(ivctl: Ivctl, platform: Platform, tmp_path: Path) -> None:
    token = platform.token("contributor", unit=UNIT)
    body = tmp_path / "ebo.json"
    body.write_text(json.dumps(ebo_body(name=f"Zaalrooster {uuid.uuid4().hex[:6]}")))  # like nothing else
    registered = ok(await ivctl("ebos", "register", str(body), token=token))
    href = registered.split()[1]
    twin = ok(await ivctl("ebos", "register", str(body), token=token))
    assert "Likely duplicates" in twin and href in twin  # the second one looks like the first
    updated = ok(await ivctl("ebos", "update", href, "--set", "users=180", "--set", "hosting=hybrid", token=token))
    assert updated == f"updated {href} (version 2)\n"
    current = await platform.call(platform.client(token).get, href)
    assert (current.users, current.hosting) == (180, "hybrid")


class Meddling(httpx2.BaseTransport):
    """Someone else changes the resource between ivctl's read and its PATCH."""

    def __init__(self, platform: Platform, token: str) -> None:
        self.inner = platform.bridge
        self.other: Client | None = platform.client(token)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "PATCH" and self.other is not None:
            other, self.other = self.other, None
            other.update(request.url.path, users=999)
        return self.inner.handle_request(request)


async def test_errors_say_what_is_wrong_with_their_exit_codes(ivctl: Ivctl, platform: Platform, tmp_path: Path) -> None:
    token = platform.token("contributor", unit=UNIT)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(ebo_body(users="many")))
    invalid = await ivctl("ebos", "register", str(wrong), token=token)
    assert invalid.exit_code == PROBLEM and "Traceback" not in invalid.output
    assert "422 Unprocessable content" in invalid.stderr and "body.users: " in invalid.stderr

    ebo = await platform.call(platform.client(token).register_ebo, ebo_body())
    meddled = Ivctl(platform, ivctl.config, Meddling(platform, token))
    conflict = await meddled("ebos", "update", ebo.href, "--set", "users=5", token=token)
    assert conflict.exit_code == CONFLICT
    assert "412 Precondition failed" in conflict.stderr and "current version: 2" in conflict.stderr
    assert (await ivctl("post", ebo.href, token=token)).exit_code == USAGE  # no such command
    assert "Exit codes: 0 done; 1 the platform refused" in ok(await ivctl("--help"))

    admin = platform.token("admin")
    forbidden = await ivctl("evaluate", ebo.href, token=token)
    assert forbidden.exit_code == PROBLEM and "403 Forbidden" in forbidden.stderr
    refused = Ivctl(platform, ivctl.config, Flaky(platform.bridge, ["refuse"] * 10))
    down = await refused("get", ebo.href, token=admin)
    assert down.exit_code == UNREACHABLE and "cannot reach the platform" in down.stderr
    assert (await ivctl("list", "/portfolio/v1/ebos", "--filter", "unit", token=admin)).exit_code == USAGE
    assert (await ivctl("ebos", "register", str(tmp_path / "missing.json"), token=admin)).exit_code == USAGE
    ivctl.config.parent.mkdir(parents=True, exist_ok=True)
    ivctl.config.write_text("url = ")  # not TOML
    broken = await ivctl("get", ebo.href, token=admin)
    assert broken.exit_code == USAGE and "cannot use a file" in broken.stderr
    ivctl.config.unlink()
    unknown = await ivctl("list", "/portfolio/v1/ebos", "--filter", "colour=red", token=admin)
    assert unknown.exit_code == PROBLEM and "Query parameter not taken" in unknown.stderr


async def test_changes_follow_prints_events_as_they_come(ivctl: Ivctl, platform: Platform, tmp_path: Path) -> None:
    admin = platform.client(platform.token("admin"))
    head = await platform.call(admin.feed_head, "valuechains")
    hrefs = [(await platform.call(admin.create, "/valuechains/v1/chains", chain_body())).href for _ in range(2)]
    followed = ok(
        await ivctl(
            "changes", "follow", "valuechains", "--from", str(head), "--count", "2", "--output", "json",
            token=platform.token("reader"),
        )
    )  # fmt: skip
    events = [json.loads(line) for line in followed.splitlines()]
    assert [e["subject"] for e in events] == hrefs and [e["type"] for e in events] == ["chains.created"] * 2
    reader = platform.token("reader")
    state = str(tmp_path / "place.db")
    first = ok(
        await ivctl(
            "changes", "follow", "valuechains", "--from", str(head), "--state", state, "--count", "1", token=reader
        )
    )
    assert "chains.created" in first and hrefs[0] in first and hrefs[1] not in first
    resumed = ok(await ivctl("changes", "follow", "valuechains", "--state", state, "--count", "1", token=reader))
    assert "chains.created" in resumed and hrefs[1] in resumed  # where the first stopped, not "now"
    nowhere = await ivctl("changes", "follow", "valuechains", "--state", str(tmp_path / "no" / "such.db"), token=reader)
    assert nowhere.exit_code == USAGE and "cannot keep its place in" in nowhere.stderr


async def test_evaluate_register_export_and_verify(ivctl: Ivctl, platform: Platform) -> None:
    architect = platform.token("architect", clearance="secret")
    principle: dict[str, Any] = {
        "code": "CLI-01",
        "category": "data_privacy",
        "title": "Sensitive data stays on our own platforms",
        "statement": "Confidential data is hosted on our own platforms.",
        "rationale": "Police data cannot be exposed.",
        "implications": "EBOs with confidential data host on own_platform.",
        "applies_to": ["ebo"],
        "rule": "subject.data_classification != 'confidential' || subject.hosting == 'own_platform'",
        "status": "active",
    }
    await platform.call(platform.client(architect).create, "/principles/v1/principles", principle)
    unit = f"Eenheid {uuid.uuid4().hex[:8]}"  # its EBOs are these two, whatever other tests left
    contributor = platform.client(platform.token("contributor", unit=unit, clearance="secret"))
    fine = await platform.call(contributor.register_ebo, ebo_body(name="Goed", unit=unit))
    await platform.call(
        contributor.register_ebo,
        ebo_body(name="Fout", unit=unit, hosting="public_cloud", data_classification="confidential"),
    )
    one = ok(await ivctl("evaluate", fine.href, token=architect))
    assert "complies" in one and "deviates: " not in one
    every = ok(await ivctl("evaluate", "/portfolio/v1/ebos", "--filter", f"unit={unit}", token=architect))
    assert "deviates: /portfolio/v1/ebos/" in every
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in every.splitlines() if "│" in line]
    assert rows == [["2", "1", "1", "0", "0"]]  # evaluated, complies, deviates, explained, error

    exported = ok(await ivctl("register", "export", token=architect))
    register = json.loads(exported)
    assert register["count"] == len(register["items"]) and register["coverage"]["basis"] == "visible"
    as_csv = ok(await ivctl("register", "export", "--csv", "--year", "2026", token=architect))
    assert as_csv.splitlines()[0].startswith("href,principle,")

    verified = ok(await ivctl("verify", "portfolio", token=platform.token("auditor")))
    assert verified.startswith("portfolio: the change feed verifies")
    assert (await ivctl("verify", "portfolio", token=platform.token("reader"))).exit_code == PROBLEM
