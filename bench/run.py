"""The benchmark: one table of ratios, each side of each measured side by side in one run.

Run from the repository root: ``make bench`` (2 to 4 minutes) or ``make bench QUICK=1``
(``.venv/bin/python bench/run.py --quick``: tiny sizes and few requests, to prove it still works;
CI runs it). docs/performance.md says how each row is measured and holds the latest table.

What it starts, all on free loopback ports in a temporary directory:

- the platform: the Procfile's four uvicorn processes on SQLite with the demo data, the portfolio
  topped up to 120 initiatives through the gateway;
- the floor (bench/floor.py): a bare FastAPI app with the valuechains command's uvicorn flags;
- the hop at its floor (bench/hop.py): two pass-throughs to valuechains that check nothing, one on
  the gateway's uvicorn command, one on asyncio streams, asked beside the gateway;
- two more portfolio processes on copies of the prestarted database into which a small and a large
  register were bulk-inserted before they started (bench/seed.py; the change feed kept valid).

Before those two start, the large database's list queries are captured in-process as the portfolio
sends them and their SQLite plans checked, and ``GET /v1/changes/verify`` must find both seeded
feeds intact. Goals are reported, not asserted: the exit status is 1 only when something is
broken (a wrong status, a seed or a verification that fails, a plan that sorts or scans).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.measure import Broken, alternate, get_rate, percentile, rate, rss_mb  # noqa: E402
from bench.plans import page_statement, plan_problems, query_plan, statements  # noqa: E402
from bench.processes import (  # noqa: E402
    COMPONENTS,
    SERVICES,
    Platform,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    stop_platforms,
)
from bench.seed import seed_portfolio  # noqa: E402
from services.chassis.auth import issue_dev_token  # noqa: E402
from services.chassis.db import Database  # noqa: E402
from services.chassis.settings import ServiceSettings  # noqa: E402
from services.portfolio.app import create_app as create_portfolio  # noqa: E402

CHAIN = "019a0000-0000-7000-8000-000000000001"
CHAINS = [f"019a0000-0000-7000-8000-00000000000{n}" for n in range(1, 6)]
PROGRAMME = "019a0001-0000-7000-8000-000000000001"
INITIATIVES_WANTED = 120  # a page of 100 is full
CONNECTIONS = 32
WRITERS = 8
POSTGRES_URL = os.environ.get("IV_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FLOOR_APP = "bench.floor:create_app"
HOP_APP = "bench.hop:passthrough_app"
HOP_FLOORS = ("pass-through", "streams")
"""bench/hop.py's pass-throughs to valuechains, asked beside the gateway: the hop at its floor."""


@dataclass(frozen=True)
class Sizes:
    small: int  # initiatives and EBOs in the small register
    large: int  # initiatives in the large register
    large_ebos: int
    latency: int  # sequential requests per side for GET by id
    pages: int  # ... for a page of 100, plain and expanded
    scaled: int  # ... for each list at both sizes
    duplicates: int  # ... for the duplicates page at both sizes
    warm_up: int
    seconds: float  # per side and round of a throughput measurement
    rounds: int
    postgres: bool  # writes on PostgreSQL too (when reachable): a platform prestarted there


FULL = Sizes(
    1_000,
    100_000,
    10_000,
    latency=400,
    pages=60,
    scaled=40,
    duplicates=3,
    warm_up=20,
    seconds=1.5,
    rounds=2,
    postgres=True,
)
QUICK = Sizes(
    100, 1_000, 1_000, latency=20, pages=5, scaled=2, duplicates=1, warm_up=1, seconds=0.5, rounds=1, postgres=False
)


@dataclass
class Row:
    measure: str
    goal: str
    measured: str
    met: bool | None = None  # None: a figure without a goal


@dataclass
class Report:
    rows: list[Row]
    notes: list[str]
    say: Callable[[str], None]

    def add(self, measure: str, goal: str, measured: str, met: bool | None = None) -> None:
        self.rows.append(Row(measure, goal, measured, met))

    def ratio(self, measure: str, value: float, *, at_most: float | None = None, at_least: float | None = None) -> None:
        goal = f"≤ {at_most:g}x" if at_most is not None else f"≥ {at_least:g}x"
        met = value <= at_most if at_most is not None else value >= (at_least or 0)
        self.add(measure, goal, f"{value:.2f}x", met)

    def table(self) -> str:
        lines = ["| measure | goal | measured | met |", "|---|---|---|---|"]
        for row in self.rows:
            met = "" if row.met is None else ("yes" if row.met else "no")
            lines.append(f"| {row.measure} | {row.goal} | {row.measured} | {met} |")
        return "\n".join(lines)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def count(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def initiative_body(n: int) -> dict[str, Any]:
    return {
        "name": f"Benchmark initiative {n} (demo)",
        "programme": {"href": f"/portfolio/v1/programmes/{PROGRAMME}"},
        "value_chain": {"href": f"/valuechains/v1/chains/{CHAINS[n % len(CHAINS)]}"},
        "kind": ("maintenance", "security", "renewal")[n % 3],
        "funding": "structural",
        "budget_eur": 10_000 * (n + 1),
        "start": "2027-01-01",
        "end": "2027-12-31",
        "hosting": "own_platform",
        "data_classification": "internal",
    }


# --- the seeded registers, checked before their processes start ----------------------------------

SCALED_LISTS = {  # row: (path, table read for the page, the index that must serve it)
    "6. first page of initiatives, reader without clearance": (
        "/v1/initiatives?limit=100",
        "initiatives",
        "ix_initiatives_page",
    ),
    "7. initiatives filtered by kind and funding": (
        "/v1/initiatives?limit=100&kind=renewal&funding=incidental",
        "initiatives",
        "ix_initiatives_kind_funding_page",
    ),
    "7. initiatives filtered by value_chain": (
        f"/v1/initiatives?limit=100&value_chain=/valuechains/v1/chains/{CHAINS[2]}",
        "initiatives",
        "ix_initiatives_value_chain_page",
    ),
    "8. change feed filtered by type": (
        "/v1/changes?limit=100&type=initiatives.created",
        "change_events",
        "ix_change_events_type_seq",
    ),
}
DUPLICATES = "/v1/duplicates?kind=ebo&min_score=80&limit=100"


def portfolio_url(platform: Platform) -> str:
    return f"sqlite+aiosqlite:///{platform.workdir / 'portfolio.db'}"


async def check_register(platform: Platform, *, plans: bool, planted: set[frozenset[str]] | None) -> list[str]:
    """The seeded portfolio in-process, before its process starts: the feed verifies, every list
    answers, and (``plans``) each list's page query is served by its index in page order. With
    ``planted``, the share of planted near-duplicates the duplicates pages find. Notes to print."""
    url = portfolio_url(platform)
    settings = ServiceSettings(
        service="portfolio",
        database_url=url,
        var_dir=platform.var_dir,
        log_level="WARNING",
        log_json=False,
        background_tasks=False,  # no checkpoints or witnesses meanwhile: only what is asked
        # The others are not started here: unreachable, as the verification's witnesses say.
        valuechains_url=platform.url("valuechains"),
        portfolio_url=platform.url("portfolio"),
        principles_url=platform.url("principles"),
    )
    database = Database(url, pool_size=2)
    app = create_portfolio(settings, database=database)
    reader = bearer(issue_dev_token(settings, sub="bench", roles=["reader"]))
    auditor = bearer(issue_dev_token(settings, sub="bench-auditor", roles=["auditor"]))
    admin = bearer(issue_dev_token(settings, sub="bench-admin", roles=["admin"]))
    notes: list[str] = []
    try:
        async with app.router.lifespan_context(app):
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
                started = time.perf_counter()
                verified = (await client.get("/v1/changes/verify", headers=auditor)).json()
                if not verified.get("ok"):
                    raise Broken(f"the seeded feed of {platform.workdir.name} does not verify: {verified}")
                notes.append(
                    f"{platform.workdir.name}: feed of {verified['count']} events verified intact in "
                    f"{time.perf_counter() - started:.1f} s"
                )
                for name, (path, table, index) in SCALED_LISTS.items():
                    with statements(database.engine.sync_engine) as seen:
                        answer = await client.get(path, headers=reader)
                    if answer.status_code != 200 or not answer.json()["items"]:
                        raise Broken(f"GET {path} answered {answer.status_code} {answer.text[:200]}")
                    if plans:
                        plan = await query_plan(database, *page_statement(seen, table))
                        problems = plan_problems(plan, table, index)
                        if problems:
                            raise Broken(f"{name}: the plan of GET {path} {problems}: {plan}")
                        notes.append(f"plan of {path}: {' / '.join(plan)}")
                if planted is not None:
                    found: set[frozenset[str]] = set()
                    page: str | None = DUPLICATES
                    while page is not None:
                        answer = await client.get(page.removeprefix("/portfolio"), headers=admin)
                        if answer.status_code != 200:
                            raise Broken(f"GET {page} answered {answer.status_code}")
                        body = answer.json()
                        found.update(frozenset((p["a"]["href"][-36:], p["b"]["href"][-36:])) for p in body["items"])
                        page = body["next"]
                    notes.append(
                        f"{platform.workdir.name}: {len(planted & found)} of {len(planted)} planted near-duplicate "
                        "EBOs found"
                    )
    finally:
        await database.dispose()
    return notes


def seed_register(
    platform: Platform, *, initiatives: int, ebos: int, plans: bool, recall: bool, report: Report
) -> None:
    """Bulk-insert a register into the platform's (copied, not yet started) portfolio database and
    check it in-process."""
    started = time.perf_counter()
    planted = asyncio.run(
        seed_portfolio(portfolio_url(platform), initiatives_count=initiatives, ebos_count=ebos, programme=PROGRAMME)
    )
    report.notes.append(
        f"{platform.workdir.name}: {initiatives:,} initiatives and {ebos:,} EBOs (with their {initiatives + ebos:,} "
        f"feed events) inserted in {time.perf_counter() - started:.1f} s"
    )
    report.notes += asyncio.run(check_register(platform, plans=plans, planted=planted if recall else None))


# --- processes ------------------------------------------------------------------------------------


def launch_beside(platform: Platform, name: str, command: str, port_variable: str) -> None:
    """Start ``command`` as ``name`` beside the platform, on a free port put in for ``port_variable``
    (the Procfile's ``${..._PORT:-...}``); its log and its stop are the platform's."""
    if port_variable not in command:
        raise Broken(f"the command for {name} has no {port_variable}: {command}")
    port = platform.ports[name] = free_port()
    platform.commands[name] = command.replace(port_variable, str(port))
    platform.launch(name)


def launch_floor(platform: Platform) -> None:
    """The floor beside the platform, with the valuechains command's uvicorn flags."""
    command = platform.commands["valuechains"]
    floor = command.replace("services.valuechains.app:create_app", FLOOR_APP)
    if FLOOR_APP not in floor:
        raise Broken(f"the Procfile's valuechains command is not as expected: {command}")
    launch_beside(platform, "floor", floor, "${VALUECHAINS_PORT:-8003}")


def launch_hop_floors(platform: Platform) -> None:
    """The two pass-throughs of bench/hop.py to valuechains (``HOP_FLOORS``): ``pass-through`` on
    the gateway's own command (the same uvicorn, the same flags; only the app and the port differ)
    and ``streams`` (asyncio streams, no uvicorn)."""
    command = platform.commands["gateway"]
    passthrough = command.replace("gateway.app:create_app", HOP_APP)
    if HOP_APP not in passthrough:
        raise Broken(f"the Procfile's gateway command is not as expected: {command}")
    streams = "exec .venv/bin/python -m bench.hop --port ${GATEWAY_PORT:-8000}"
    upstream = f"IV_HOP_UPSTREAM={platform.url('valuechains')} "
    for name, line in zip(HOP_FLOORS, (passthrough, streams), strict=True):
        launch_beside(platform, name, upstream + line, "${GATEWAY_PORT:-8000}")


def top_up_initiatives(client: httpx2.Client, gateway: str, headers: dict[str, str]) -> int:
    """At least a full page of initiatives in the portfolio: more than 100."""
    listed = client.get(gateway + "/portfolio/v1/initiatives", params={"limit": 100}, headers=headers).json()
    have = len(listed["items"])
    if listed["next"]:
        return have  # a full page, and more
    for n in range(have, INITIATIVES_WANTED):
        answer = client.post(gateway + "/portfolio/v1/initiatives", json=initiative_body(n), headers=headers)
        if answer.status_code != 201:
            raise Broken(f"creating an initiative answered {answer.status_code}: {answer.text[:300]}")
    return max(have, INITIATIVES_WANTED)


def wait_settled(platform: Platform, auditor: dict[str, str], report: Report, timeout: float = 180) -> None:
    """Until principles has followed every feed to its head (the demo data's events are new to it):
    catching up is work that would otherwise land in the first measurements."""
    started = time.perf_counter()
    with httpx2.Client(headers=auditor, timeout=10) as client:
        while time.perf_counter() - started < timeout:
            text = client.get(platform.url("principles") + "/metrics").text
            behind = [line for line in text.splitlines() if line.startswith("principles_feed_events_behind{")]
            if len(behind) == 2 and all(float(line.rsplit(" ", 1)[1]) == 0 for line in behind):
                report.notes.append(
                    f"principles followed both feeds to their heads in {time.perf_counter() - started:.0f} s"
                )
                return
            time.sleep(0.5)
    report.notes.append(f"principles had not followed the feeds to their heads within {timeout:.0f} s")


def upstream_requests(client: httpx2.Client, gateway: str, auditor: dict[str, str]) -> float:
    text = client.get(gateway + "/metrics", headers=auditor).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_upstream_requests_total{")
    )


def write_rate(url: str, headers: dict[str, str], seconds: float) -> float:
    """Initiatives created per second by ``WRITERS`` concurrent writers, each POST with an
    Idempotency-Key of its own."""

    def create(client: httpx2.AsyncClient, n: int) -> Any:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        return client.post(url, json=initiative_body(n), headers=headers | key)

    return asyncio.run(rate(create, connections=WRITERS, seconds=seconds, expected=201))


def measure_writes(platform: Platform, database: str, sizes: Sizes, report: Report) -> None:
    manager = bearer(platform.token("portfolio_manager"))
    urls = {
        "direct": platform.url("portfolio") + "/v1/initiatives",
        "gateway": platform.url("gateway") + "/portfolio/v1/initiatives",
    }
    rates: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(sizes.rounds):
        for name, url in urls.items():
            rates[name].append(write_rate(url, manager, sizes.seconds))
    direct, gateway = statistics.fmean(rates["direct"]), statistics.fmean(rates["gateway"])
    report.add(
        f"write throughput, {WRITERS} writers creating initiatives, {database}",
        "report",
        f"direct {direct:.0f}/s, gateway {gateway:.0f}/s ({gateway / direct:.2f}x)",
    )


def postgres_reachable() -> bool:
    async def ask() -> bool:
        import asyncpg  # the project's PostgreSQL driver

        url = make_url(POSTGRES_URL)
        try:
            conn = await asyncpg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                database="postgres",
                timeout=3,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(ask())


class OnPostgres:
    """The platform on PostgreSQL for the writes: one database per service, made for the run and
    dropped after, migrated and filled with the demo data in a thread while the SQLite platform is
    prepared (setting up, not measuring, runs side by side)."""

    def __init__(self, workdir: Path) -> None:
        self.names = {service: f"iv_bench_{os.getpid()}_{service}" for service in SERVICES}
        urls = {s: asyncio.run(create_postgres_database(POSTGRES_URL, name)) for s, name in self.names.items()}
        self.platform = Platform(workdir, extra_env={f"IV_{s.upper()}_DATABASE_URL": url for s, url in urls.items()})
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._prestart)
        self.thread.start()

    def _prestart(self) -> None:
        try:
            self.platform.prestart()
        except Exception as failure:  # noqa: BLE001  (reported when the platform is wanted)
            self.failure = failure

    def start(self) -> Platform:
        self.thread.join()
        if self.failure is not None:
            raise Broken(f"prestarting on PostgreSQL failed: {self.failure}")
        for name in COMPONENTS:
            self.platform.launch(name)
        for name in COMPONENTS:
            self.platform.wait_ready(name, timeout=180)
        return self.platform

    def close(self) -> None:
        self.thread.join()
        self.platform.stop_all()
        for name in self.names.values():
            asyncio.run(drop_postgres_database(POSTGRES_URL, name))


# --- the run --------------------------------------------------------------------------------------


def measure(sizes: Sizes, workdir: Path, report: Report) -> None:
    """Everything on SQLite, then the writes on PostgreSQL (prestarted meanwhile) when it is there."""
    say = report.say
    postgres: OnPostgres | None = None
    if not sizes.postgres:
        report.add(f"write throughput, {WRITERS} writers, PostgreSQL", "report", "skipped in quick mode")
    elif postgres_reachable():
        postgres = OnPostgres(workdir / "postgres")
    else:
        report.add(f"write throughput, {WRITERS} writers, PostgreSQL", "report", f"skipped: {POSTGRES_URL} unreachable")
    try:
        measure_sqlite(sizes, workdir, report)
        if postgres is not None:
            say("the platform on PostgreSQL: write throughput")
            measure_writes(postgres.start(), "PostgreSQL", sizes, report)
            say("stopping")
    finally:
        if postgres is not None:
            postgres.close()


def measure_sqlite(sizes: Sizes, workdir: Path, report: Report) -> None:
    """The platform starts while the two registers are seeded, each into a portfolio database of
    its own; their processes start once they are seeded and checked."""
    say = report.say
    template = Platform(workdir / "template")
    say("prestarting the platform (migrations and demo data)")
    template.prestart()
    platform = Platform(workdir / "platform", template=template.workdir)
    small = Platform(workdir / "small", template=template.workdir)
    large = Platform(workdir / "large", template=template.workdir)
    try:
        for copy in (platform, small, large):
            copy.prestart()  # copies of the template's databases
        for name in COMPONENTS:
            platform.launch(name)
        launch_floor(platform)
        launch_hop_floors(platform)
        say(
            f"seeding {count(sizes.small)} and {count(sizes.large)} initiatives, "
            f"{count(sizes.small)} and {count(sizes.large_ebos)} EBOs"
        )
        seed_register(small, initiatives=sizes.small, ebos=sizes.small, plans=False, recall=True, report=report)
        seed_register(large, initiatives=sizes.large, ebos=sizes.large_ebos, plans=True, recall=False, report=report)
        small.launch("portfolio")
        large.launch("portfolio")
        say(f"starting {platform.describe()}, the floor and a portfolio for each register")
        for name in (*COMPONENTS, "floor", *HOP_FLOORS):
            platform.wait_ready(name, timeout=180)
        small.wait_ready("portfolio", timeout=180)
        large.wait_ready("portfolio", timeout=180)
        measure_platform(platform, small, large, sizes, report)
        processes = [
            *platform.processes.items(),
            ("portfolio, small register", small.processes["portfolio"]),
            ("portfolio, large register", large.processes["portfolio"]),
        ]
        for who, process in processes:
            memory = rss_mb(process.pid)
            report.add(f"RSS {who}", "report", f"{memory:.0f} MiB" if memory is not None else "gone")
        say("stopping")
    finally:
        stop_platforms(platform, small, large)


def measure_platform(platform: Platform, small: Platform, large: Platform, sizes: Sizes, report: Report) -> None:
    say = report.say
    gateway, direct, floor = platform.url("gateway"), platform.url("valuechains"), platform.url("floor")
    reader = bearer(platform.token("reader", clearance="secret"))
    manager = bearer(platform.token("portfolio_manager", clearance="secret"))
    auditor = bearer(platform.token("auditor"))
    by_id = {
        "floor": f"{floor}/v1/chains/{CHAIN}",
        "direct": f"{direct}/v1/chains/{CHAIN}",
        "gateway": f"{gateway}/valuechains/v1/chains/{CHAIN}",
    }
    wait_settled(platform, auditor, report)
    with httpx2.Client(timeout=60) as client:
        top_up_initiatives(client, gateway, manager)
        sizes_of = {name: len(client.get(url, headers=reader).content) for name, url in by_id.items()}
        report.notes.append(f"GET by id answers {sizes_of['direct']} bytes, the floor {sizes_of['floor']}")

        say(
            f"GET by id: {sizes.latency} sequential requests each, floor, direct, through the gateway and "
            "through the two pass-throughs, in turn"
        )
        hops = {name: f"{platform.url(name)}/valuechains/v1/chains/{CHAIN}" for name in HOP_FLOORS}
        latency = alternate(client, {**by_id, **hops}, reader, sizes.latency, warm_up=sizes.warm_up)
        floor50, direct50, gateway50 = p50(latency["floor"]), p50(latency["direct"]), p50(latency["gateway"])
        report.notes.append(
            "GET by id p50/p99, ms: "
            + ", ".join(f"{n} {p50(s):.2f}/{percentile(s, 99):.2f}" for n, s in latency.items())
        )
        report.notes.append(
            "the hop at its floor, p50 over direct: "
            + ", ".join(
                f"{name} {p50(latency[name]) - direct50:+.2f} ms ({p50(latency[name]) / direct50:.2f}x)"
                for name in ("gateway", *HOP_FLOORS)
            )
            + " (bench/hop.py: pass-through on the gateway's uvicorn command, streams on asyncio; nothing checked)"
        )

        page = f"{gateway}/portfolio/v1/initiatives?limit=100"
        say("a page of 100 initiatives through the gateway, plain and expanded")
        pages = alternate(
            client,
            {"plain": page, "expanded": page + "&expand=value_chain"},
            reader,
            sizes.pages,
            warm_up=sizes.warm_up,
        )
        before = upstream_requests(client, gateway, auditor)
        expanded = client.get(page + "&expand=value_chain", headers=reader).json()
        sent = upstream_requests(client, gateway, auditor) - before
        resolved = sum(1 for item in expanded["items"] if "name" in item["value_chain"])
        if sent != 2 or resolved != len(expanded["items"]):
            raise Broken(f"an expanded page took {sent:.0f} upstream requests (2 expected), {resolved} expanded")

        say("the lists and the duplicates at both sizes, in turn")
        small_reader = bearer(small.token("reader"))  # no clearance: internal
        scaled = {}
        for name, (path, _, _) in SCALED_LISTS.items():
            urls = {"small": small.url("portfolio") + path, "large": large.url("portfolio") + path}
            scaled[name] = alternate(client, urls, small_reader, sizes.scaled, warm_up=sizes.warm_up)
        admin = bearer(small.token("admin"))
        duplicates = alternate(
            client,
            {"small": small.url("portfolio") + DUPLICATES, "large": large.url("portfolio") + DUPLICATES},
            admin,
            sizes.duplicates,
            warm_up=1,
        )

    say(f"throughput at {CONNECTIONS} connections, {sizes.rounds} x {sizes.seconds:g} s per side")
    rates: dict[str, list[float]] = {name: [] for name in by_id}
    for _ in range(sizes.rounds):
        for name, url in by_id.items():
            rates[name].append(get_rate(url, reader, connections=CONNECTIONS, seconds=sizes.seconds))
    floor_rate, direct_rate, gateway_rate = (statistics.fmean(rates[n]) for n in ("floor", "direct", "gateway"))
    report.notes.append(
        f"throughput at {CONNECTIONS} connections, req/s: floor {floor_rate:.0f}, direct {direct_rate:.0f}, "
        f"gateway {gateway_rate:.0f}"
    )

    report.ratio("1. GET a chain by id, p50: service / floor", direct50 / floor50, at_most=2)
    report.ratio(
        f"2. GET a chain by id, throughput at {CONNECTIONS} connections: service / floor",
        direct_rate / floor_rate,
        at_least=0.3,
    )
    extra = gateway50 - direct50
    report.add(
        "3. GET a chain by id, p50: gateway / direct",
        "≤ 1.25x and ≤ +1 ms",
        f"{gateway50 / direct50:.2f}x, {extra:+.2f} ms",
        gateway50 / direct50 <= 1.25 and extra <= 1.0,
    )
    report.ratio(
        f"4. GET a chain by id, throughput at {CONNECTIONS} connections: gateway / direct",
        gateway_rate / direct_rate,
        at_least=0.6,
    )
    report.ratio(
        "5. page of 100 initiatives, p50: expand=value_chain / plain",
        p50(pages["expanded"]) / p50(pages["plain"]),
        at_most=1.5,
    )
    for name, samples in scaled.items():
        label = f"{name}, p50: {count(sizes.large)} / {count(sizes.small)}"
        report.ratio(label, p50(samples["large"]) / p50(samples["small"]), at_most=1.2)
    report.ratio(
        f"9. duplicates, first page, p50: {count(sizes.large_ebos)} / {count(sizes.small)} EBOs",
        p50(duplicates["large"]) / p50(duplicates["small"]),
        at_most=10,
    )
    measure_writes(platform, "SQLite", sizes, report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few requests: proves it still works")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    report = Report(
        rows=[], notes=[], say=lambda line: print(f"-- {time.perf_counter() - started:5.1f} s {line}", flush=True)
    )
    try:
        with tempfile.TemporaryDirectory(prefix="iv-bench-") as workdir:
            measure(sizes, Path(workdir), report)
    except Broken as broken:
        print(f"BROKEN: {broken}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print()
    print(
        f"IV-platform benchmark{' (quick mode: tiny sizes, figures mean little)' if args.quick else ''}, "
        f"{os.cpu_count()} cores shared by the client and every process, {elapsed:.0f} s"
    )
    print()
    print(report.table())
    print()
    for note in report.notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
