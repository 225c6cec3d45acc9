"""What verifying the audit feed costs everyone else: a cheap GET with and without 20 auditors
verifying at once.

Run from the repository root: ``.venv/bin/python bench/audit_bench.py`` (on its own: it takes a few
minutes, and ``make bench``, bench/run.py, does not run it).
It starts the real platform (the Procfile's four processes, SQLite, demo data; the principles follower
off) with the valuechains feed grown to ``EVENTS`` events before it starts, waits until the feed is checkpointed and
witnessed, verifies it once from genesis (the full cost, timed), then measures ``GET
/v1/chains/{id}`` straight to valuechains in rounds: quiet, then with ``VERIFIERS`` clients each
calling ``/v1/changes/verify`` once a second, all at once (incremental, the default), then with them
calling ``?from=genesis`` (admins: every event recomputed each time a run starts). For scale, a
``control`` round has the same twenty clients ask for one checkpoint instead: what twenty
authenticated requests a second cost whatever they ask. Each round's p50 and p99 are printed
with their ratio to the quiet rounds, and whether the incremental ratio is within ``ALLOWED`` (a
goal the benchmark reports, not an assertion: timings vary with the machine's load).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from bench.measure import percentile  # noqa: E402
from bench.processes import COMPONENTS, Platform  # noqa: E402
from bench.seed import append_events  # noqa: E402
from services.chassis.db import Database  # noqa: E402

CHAIN = "019a0000-0000-7000-8000-000000000001"
EVENTS = 20_000
VERIFIERS = 20
PERIOD = 1.0
REQUESTS = 150
ROUNDS = 2
ALLOWED = 1.20


async def grow_feed(url: str, events: int) -> None:
    """Append ``events`` events to the chain (about a path no collection holds), hashed as the
    chassis hashes them, in one bulk insert: appending them one by one would take minutes."""
    db = Database(url)
    try:
        async with db.session(write=True) as session:
            await append_events(
                session,
                [
                    {
                        "type": "bench.noted",
                        "subject": f"/valuechains/v1/bench-notes/{n}",
                        "actor": "bench",
                        "version": 1,
                        "changes": {"n": [None, n]},
                    }
                    for n in range(events)
                ],
            )
    finally:
        await db.dispose()


def cheap_gets(url: str, headers: dict[str, str]) -> list[float]:
    samples: list[float] = []
    with httpx2.Client(headers=headers, timeout=60) as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            answer = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {url} answered {answer.status_code}")
    return samples


class Verifiers:
    """``VERIFIERS`` clients each calling verify once every ``PERIOD`` seconds (twenty verifications
    at once, every second) until stopped, in a thread of their own."""

    def __init__(self, url: str, headers: dict[str, str], params: dict[str, str]) -> None:
        self.url, self.headers, self.params = url, headers, params
        self.stop = threading.Event()
        self.calls = 0
        self.failures: list[str] = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()))

    async def _run(self) -> None:
        async def one() -> None:
            async with httpx2.AsyncClient(headers=self.headers, timeout=300) as client:
                while not self.stop.is_set():
                    started = time.perf_counter()
                    answer = await client.get(self.url, params=self.params)
                    if answer.status_code != 200 or not answer.json().get("ok", True):
                        self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                        return
                    self.calls += 1
                    await asyncio.sleep(max(0.0, PERIOD - (time.perf_counter() - started)))

        await asyncio.gather(*(one() for _ in range(VERIFIERS)))

    def __enter__(self) -> Verifiers:
        self.thread.start()
        time.sleep(1.0)  # all of them under way
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        if self.failures:
            raise RuntimeError(f"a verification failed: {self.failures[0]}")


def wait_for_witnesses(platform: Platform, headers: dict[str, str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with httpx2.Client(headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            seen = [
                client.get(platform.url(s) + "/v1/changes/witnessed", params={"feed": "valuechains"}).json()["items"]
                for s in ("portfolio", "principles")
            ]
            if all(seen):
                return
            time.sleep(0.5)
    raise RuntimeError("the valuechains feed was not checkpointed and witnessed in time")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iv-audit-bench-") as workdir:
        # The principles follower would read the grown feed meanwhile: not what is measured here.
        env = {"IV_AUDIT_WITNESS_SECONDS": "1", "IV_PRINCIPLES_FOLLOW_ENABLED": "false"}
        platform = Platform(Path(workdir), extra_env=env)
        platform.prestart()
        asyncio.run(grow_feed(f"sqlite+aiosqlite:///{platform.workdir / 'valuechains.db'}", EVENTS))
        for name in COMPONENTS:
            platform.launch(name)
        try:
            for name in COMPONENTS:
                platform.wait_ready(name, timeout=180)  # four processes starting at once on a busy machine
            reader = {"Authorization": f"Bearer {platform.token('reader')}"}
            auditor = {"Authorization": f"Bearer {platform.token('auditor', sub='bench-auditor')}"}
            admin = {"Authorization": f"Bearer {platform.token('admin', sub='bench-admin')}"}
            verify = platform.url("valuechains") + "/v1/changes/verify"
            wait_for_witnesses(platform, auditor)
            with httpx2.Client(timeout=300) as client:
                started = time.perf_counter()
                first = client.get(verify, headers=auditor).json()
                full_ms = (time.perf_counter() - started) * 1000
                if not first["ok"]:
                    raise RuntimeError(f"the feed does not verify: {first}")
            cheap = platform.url("valuechains") + f"/v1/chains/{CHAIN}"
            cheap_gets(cheap, reader)  # warm up
            checkpoints = platform.url("valuechains") + "/v1/changes/checkpoints"
            rounds: dict[str, list[float]] = {"quiet": [], "control": [], "incremental": [], "genesis": []}
            calls = {"control": 0, "incremental": 0, "genesis": 0}
            for _ in range(ROUNDS):
                rounds["quiet"] += cheap_gets(cheap, reader)
                with Verifiers(checkpoints, auditor, {"limit": "1"}) as load:
                    rounds["control"] += cheap_gets(cheap, reader)
                calls["control"] += load.calls
                with Verifiers(verify, auditor, {}) as load:
                    rounds["incremental"] += cheap_gets(cheap, reader)
                calls["incremental"] += load.calls
                with Verifiers(verify, admin, {"from": "genesis"}) as load:
                    rounds["genesis"] += cheap_gets(cheap, reader)
                calls["genesis"] += load.calls
        finally:
            platform.stop_all()
    quiet50, quiet99 = statistics.median(rounds["quiet"]), percentile(rounds["quiet"], 99)
    print(f"feed: {first['count']} events; the first verification (from genesis): {full_ms:.0f} ms")
    print(f"GET /v1/chains/{{id}}, {REQUESTS * ROUNDS} requests per load, {VERIFIERS} verifiers each once a second:")
    ratios: dict[str, float] = {}
    for name, samples in rounds.items():
        p50, p99 = statistics.median(samples), percentile(samples, 99)
        ratios[name] = p50 / quiet50
        extra = f", {calls[name]} answered" if name in calls else ""
        print(
            f"  {name:12s} p50 {p50:7.2f} ms ({p50 / quiet50:4.2f}x)  p99 {p99:7.2f} ms ({p99 / quiet99:4.2f}x){extra}"
        )
    met = "met" if ratios["incremental"] <= ALLOWED else "NOT met"
    print(f"  goal: incremental verification slows a cheap GET at most {ALLOWED:.2f}x: {met}")


if __name__ == "__main__":
    main()
