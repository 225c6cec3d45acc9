"""What the gateway costs: latency direct vs through it, and what expansion costs.

Run from the repository root: ``.venv/bin/python bench/gateway_bench.py`` (``make bench`` runs it).
It starts the real platform (the Procfile's four uvicorn processes, SQLite, demo data) on free
loopback ports in a temporary directory, tops the portfolio up to 120 initiatives through the
gateway, and measures in one run:

1. GET one chain by id, straight to valuechains and through the gateway (sequential requests on
   one keep-alive connection, alternating between the two so drift hits both alike): p50, p99, ratio.
2. A page of 100 initiatives through the gateway, without and with ``expand=value_chain``
   (alternating likewise): p50, p99, ratio; and how many requests the gateway sent upstream for one
   expanded page, read from its ``gateway_upstream_requests_total`` counter (expected: 2, the page
   and one batch of chains).
3. Throughput with 16 concurrent clients, direct and through the gateway, to show the price of the
   extra hop under load (the pooled client is where httpx is known to be slow).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from bench.processes import Platform  # noqa: E402

CHAIN = "019a0000-0000-7000-8000-000000000001"
CHAINS = [f"019a0000-0000-7000-8000-00000000000{n}" for n in range(1, 6)]
PROGRAMME = "019a0001-0000-7000-8000-000000000001"
INITIATIVES_WANTED = 120
LATENCY_REQUESTS = 400
PAGE_REQUESTS = 60
WARM_UP = 20
CONCURRENCY = 16
THROUGHPUT_SECONDS = 3.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(client: httpx2.Client, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed * 1000


def alternate(
    client: httpx2.Client, urls: dict[str, str], headers: dict[str, str], count: int
) -> dict[str, list[float]]:
    """``count`` timings of each url, taken in turn."""
    for _ in range(WARM_UP):
        for url in urls.values():
            timed(client, url, headers)
    samples: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(count):
        for name, url in urls.items():
            samples[name].append(timed(client, url, headers))
    return samples


def upstream_requests(client: httpx2.Client, gateway: str, auditor: dict[str, str]) -> float:
    text = client.get(gateway + "/metrics", headers=auditor).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_upstream_requests_total{")
    )


def top_up_initiatives(client: httpx2.Client, gateway: str, headers: dict[str, str]) -> int:
    listed = client.get(gateway + "/portfolio/v1/initiatives", params={"limit": 100}, headers=headers).json()
    have = len(listed["items"])
    while listed["next"]:
        listed = client.get(gateway + listed["next"], headers=headers).json()
        have += len(listed["items"])
    for n in range(have, INITIATIVES_WANTED):
        body = {
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
        answer = client.post(gateway + "/portfolio/v1/initiatives", json=body, headers=headers)
        if answer.status_code != 201:
            raise RuntimeError(f"creating an initiative answered {answer.status_code}: {answer.text[:300]}")
    return max(have, INITIATIVES_WANTED)


async def throughput(url: str, headers: dict[str, str]) -> float:
    """Requests per second with ``CONCURRENCY`` clients, each on its own connection."""
    done = 0
    deadline = time.perf_counter() + THROUGHPUT_SECONDS

    async def worker() -> None:
        nonlocal done
        async with httpx2.AsyncClient(headers=headers, timeout=30) as client:
            while time.perf_counter() < deadline:
                answer = await client.get(url)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {answer.status_code}")
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used (Linux), to tell CPU cost from waiting."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_throughput(platform: Platform, url: str, headers: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Requests per second, and CPU milliseconds per request of the gateway and of valuechains."""
    pids = {name: platform.processes[name].pid for name in ("gateway", "valuechains")}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    rate = asyncio.run(throughput(url, headers))
    requests = rate * (time.perf_counter() - started)
    cpu: dict[str, float] = {}
    for name, pid in pids.items():
        after, first = cpu_seconds(pid), before[name]
        if after is not None and first is not None:
            cpu[name] = (after - first) * 1000 / requests
    return rate, cpu


def row(name: str, samples: list[float]) -> str:
    return (
        f"| {name} | {percentile(samples, 50):.2f} | {percentile(samples, 99):.2f} | {statistics.fmean(samples):.2f} |"
    )


def ratio(a: list[float], b: list[float], q: float) -> float:
    return percentile(b, q) / percentile(a, q)


def main(report: Callable[[str], None] = print) -> None:
    with tempfile.TemporaryDirectory(prefix="iv-gateway-bench-") as workdir:
        platform = Platform(Path(workdir))
        try:
            report(f"starting the platform: {platform.describe()}")
            platform.start()
            gateway, direct = platform.url("gateway"), platform.url("valuechains")
            reader = {"Authorization": f"Bearer {platform.token('reader', clearance='secret')}"}
            manager = {"Authorization": f"Bearer {platform.token('portfolio_manager', clearance='secret')}"}
            with httpx2.Client(timeout=30) as client:
                total = top_up_initiatives(client, gateway, manager)
                by_id = alternate(
                    client,
                    {
                        "direct": f"{direct}/v1/chains/{CHAIN}",
                        "gateway": f"{gateway}/valuechains/v1/chains/{CHAIN}",
                    },
                    reader,
                    LATENCY_REQUESTS,
                )
                page = f"{gateway}/portfolio/v1/initiatives?limit=100"
                pages = alternate(
                    client, {"plain": page, "expanded": page + "&expand=value_chain"}, reader, PAGE_REQUESTS
                )
                auditor = {"Authorization": f"Bearer {platform.token('auditor')}"}  # /metrics needs it
                before = upstream_requests(client, gateway, auditor)
                expanded = client.get(page + "&expand=value_chain", headers=reader).json()
                sent = upstream_requests(client, gateway, auditor) - before
                resolved = sum(1 for item in expanded["items"] if "name" in item["value_chain"])
            rates = {
                "direct": measure_throughput(platform, f"{direct}/v1/chains/{CHAIN}", reader),
                "gateway": measure_throughput(platform, f"{gateway}/valuechains/v1/chains/{CHAIN}", reader),
            }
        finally:
            platform.stop_all()

    report("")
    report(
        f"IV-platform gateway benchmark ({LATENCY_REQUESTS} sequential requests each for GET by id, "
        f"{PAGE_REQUESTS} for pages; {WARM_UP} warm-up requests each not counted)"
    )
    report("")
    report("| GET /v1/chains/{id}, ms | p50 | p99 | mean |")
    report("|---|---|---|---|")
    report(row("direct to valuechains", by_id["direct"]))
    report(row("through the gateway", by_id["gateway"]))
    report(
        f"ratio gateway/direct: p50 {ratio(by_id['direct'], by_id['gateway'], 50):.2f}x, "
        f"p99 {ratio(by_id['direct'], by_id['gateway'], 99):.2f}x"
    )
    report("")
    report(f"| page of 100 initiatives ({total} in the portfolio), ms | p50 | p99 | mean |")
    report("|---|---|---|---|")
    report(row("through the gateway", pages["plain"]))
    report(row("with expand=value_chain", pages["expanded"]))
    report(
        f"ratio expanded/plain: p50 {ratio(pages['plain'], pages['expanded'], 50):.2f}x, "
        f"p99 {ratio(pages['plain'], pages['expanded'], 99):.2f}x"
    )
    report(
        f"upstream requests for one expanded page: {sent:.0f} (the page and one batch of chains); "
        f"{resolved} of {len(expanded['items'])} value_chain references expanded"
    )
    report("")
    report(f"throughput, {CONCURRENCY} concurrent clients for {THROUGHPUT_SECONDS:.0f}s, GET one chain by id:")
    (direct_rate, direct_cpu), (gateway_rate, gateway_cpu) = rates["direct"], rates["gateway"]
    report(
        f"direct {direct_rate:.0f} req/s, through the gateway {gateway_rate:.0f} req/s "
        f"({gateway_rate / direct_rate:.2f}x), {os.cpu_count()} cores shared by the client, gateway and services"
    )
    if gateway_cpu:
        report(
            f"CPU per request: valuechains {direct_cpu.get('valuechains', 0):.2f} ms direct and "
            f"{gateway_cpu.get('valuechains', 0):.2f} ms behind the gateway; "
            f"the gateway {gateway_cpu.get('gateway', 0):.2f} ms"
        )
    if sent != 2:
        raise SystemExit(f"expected 2 upstream requests for an expanded page, counted {sent:.0f}")


if __name__ == "__main__":
    main()
