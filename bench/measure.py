"""Timing helpers the benchmarks share: sequential latency taken in turn, throughput under
concurrent connections, and what a process holds in memory."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx2

# One TLS context for every client: making one per client costs more than a request, and every
# request here is plain HTTP on the loopback anyway.
TLS = ssl.create_default_context()


class Broken(Exception):
    """Something answered wrongly: the benchmark's figures would mean nothing."""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(client: httpx2.Client, url: str, headers: dict[str, str]) -> float:
    """Milliseconds for one GET, which must answer 200."""
    started = time.perf_counter()
    answer = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise Broken(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed * 1000


def alternate(
    client: httpx2.Client, urls: dict[str, str], headers: dict[str, str], count: int, *, warm_up: int
) -> dict[str, list[float]]:
    """``count`` timings of each url after ``warm_up`` untimed ones, taken in turn (A, B, A, B, ...)
    so that whatever slows the machine for a while slows every side alike."""
    for _ in range(warm_up):
        for url in urls.values():
            timed(client, url, headers)
    samples: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(count):
        for name, url in urls.items():
            samples[name].append(timed(client, url, headers))
    return samples


async def rate(
    request: Callable[[httpx2.AsyncClient, int], Awaitable[httpx2.Response]],
    *,
    connections: int,
    seconds: float,
    expected: int = 200,
) -> float:
    """Requests per second from ``connections`` clients (one connection each) for ``seconds``;
    ``request(client, n)`` sends the n-th request, which must answer ``expected``. Each client has
    opened its connection with one request before the clock starts."""
    done = 0

    async def send(client: httpx2.AsyncClient) -> None:
        nonlocal done
        answer = await request(client, done)
        if answer.status_code != expected:
            raise Broken(
                f"{answer.request.method} {answer.request.url} answered {answer.status_code}: {answer.text[:300]}"
            )
        done += 1

    async def worker(client: httpx2.AsyncClient, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await send(client)

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx2.AsyncClient(timeout=60, verify=TLS)) for _ in range(connections)
        ]
        await asyncio.gather(*(send(client) for client in clients))  # every connection open
        done = 0
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, started + seconds) for client in clients))
        return done / (time.perf_counter() - started)


def get_rate(url: str, headers: dict[str, str], *, connections: int, seconds: float) -> float:
    """GETs per second of ``url`` from ``connections`` concurrent connections."""
    return asyncio.run(
        rate(lambda client, _: client.get(url, headers=headers), connections=connections, seconds=seconds)
    )


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (``VmRSS`` in /proc/<pid>/status), in MiB; None when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
