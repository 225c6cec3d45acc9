"""Upstreams that are down, slow or drop the connection: problems quickly, never a hang or a 500."""

from __future__ import annotations

import asyncio

import pytest

from gateway.resilience import CircuitBreaker, CircuitOpen
from tests.gateway.conftest import FakeClock, MakeRig, Rig, dropping_app, slow_app
from tests.support import Tokens

ALONE = {"ejected": False}
"""A service's only instance is never ejected: there is nowhere else to send its requests."""


async def test_down_upstream_is_503_problem(rig: Rig, tokens: Tokens) -> None:
    rig.transport.down.add("valuechains.test")
    async with rig.client(tokens("reader")) as client:
        answer = await client.get("/valuechains/v1/chains")
        other = await client.get("/principles/healthz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unavailable"
    assert "valuechains" in answer.json()["detail"]
    assert other.status_code == 200  # one upstream down does not take the others with it


async def test_slow_upstream_is_504_problem(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(principles_url="http://slow.test", upstream_timeouts={"principles": 0.2}) as rig:
        rig.transport.add("slow.test", slow_app(30))
        async with rig.client(tokens("reader")) as client:
            answer = await client.get("/principles/v1/principles")
            fast = await client.get("/valuechains/healthz")
    assert answer.status_code == 504
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/gateway-timeout"
    assert fast.status_code == 200
    assert rig.upstream("principles").timeout == 0.2 and rig.upstream("valuechains").timeout == 10.0


async def test_connection_dropped_mid_request_is_502_problem(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(principles_url="http://dropping.test") as rig:
        rig.transport.add("dropping.test", dropping_app())
        async with rig.client(tokens("admin")) as client:
            read = await client.get("/principles/v1/principles")
            write = await client.post("/principles/v1/principles", json={})
    for answer in (read, write):
        assert answer.status_code == 502
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "/problems/bad-gateway"


async def test_retries_bounded_and_only_what_is_safe(make_rig: MakeRig, tokens: Tokens) -> None:
    """A refused connection sent nothing, so any method is tried again; a connection dropped after
    the request went out is tried again only for a safe method (a write may have been made)."""
    methods = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")
    async with make_rig(retry_attempts=3, breaker_failure_threshold=100, principles_url="http://dropping.test") as rig:
        rig.transport.add("dropping.test", dropping_app(methods))
        rig.transport.down.add("valuechains.test")
        refused: dict[str, int] = {}
        dropped: dict[str, int] = {}
        async with rig.client(tokens("admin")) as client:
            for method in methods:
                body: dict[str, str] | None = {} if method != "GET" else None
                mark = rig.mark()
                answer = await client.request(method, "/valuechains/v1/chains/x", json=body)
                assert answer.status_code == 503, method
                refused[method] = len(rig.sent_to("valuechains.test", mark))
                mark = rig.mark()
                answer = await client.request(method, "/principles/v1/principles/x", json=body)
                assert answer.status_code == 502, method
                dropped[method] = len(rig.sent_to("dropping.test", mark))
    assert refused == dict.fromkeys(methods, 3)
    assert dropped == {"GET": 3, "HEAD": 3, "POST": 1, "PATCH": 1, "PUT": 1, "DELETE": 1}


async def test_retries_stop_within_the_budget(
    make_rig: MakeRig, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    def longest(low: float, high: float) -> float:
        waits.append(high)
        return high

    monkeypatch.setattr("gateway.resilience.random.uniform", longest)
    async with make_rig(retry_attempts=5, retry_budget_seconds=0.12, breaker_failure_threshold=100) as rig:
        rig.transport.down.add("valuechains.test")
        async with rig.client(tokens("reader")) as client:
            mark = rig.mark()
            assert (await client.get("/valuechains/v1/chains")).status_code == 503
            tried = len(rig.sent_to("valuechains.test", mark))
    # Waits of up to 50 ms, then 100 ms: the second would end past the 120 ms budget, so no third try.
    assert waits == [0.05, 0.1]
    assert tried == 2


async def test_breaker_opens_fails_fast_and_recovers(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(breaker_failure_threshold=2, breaker_recovery_seconds=30) as rig:
        clock = FakeClock()
        breaker = rig.upstream("valuechains").breaker
        breaker.clock = clock
        rig.transport.down.add("valuechains.test")
        async with rig.client(tokens("reader")) as client:
            for _ in range(2):
                assert (await client.get("/valuechains/v1/chains")).status_code == 503
            assert breaker.state == "open"

            mark = rig.mark()
            fast = await client.get("/valuechains/healthz")
            assert fast.status_code == 503
            assert fast.headers["content-type"] == "application/problem+json"
            assert int(fast.headers["retry-after"]) >= 1
            assert rig.sent_to("valuechains.test", mark) == []  # failed fast: nothing was sent

            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            # Two GETs of three attempts each failed in a row.
            assert ready.json()["upstreams"]["valuechains"] == {
                "ready": False,
                "detail": "unreachable",
                "breaker": "open",
                "instances": [{"instance": 1, "ready": False, "detail": "unreachable", **ALONE, "failures": 6}],
            }

            # The service comes back; after the recovery time one probe closes the breaker again.
            rig.transport.down.discard("valuechains.test")
            assert (await client.get("/valuechains/v1/chains")).status_code == 503
            clock.now += 31
            assert breaker.state == "half_open"
            assert (await client.get("/valuechains/v1/chains")).status_code == 200
            assert breaker.state == "closed"
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            assert ready.json()["upstreams"]["valuechains"] == {
                "ready": True,
                "breaker": "closed",
                "instances": [{"instance": 1, "ready": True, **ALONE, "failures": 0}],
            }


async def test_breaker_is_per_upstream(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(breaker_failure_threshold=1) as rig:
        rig.transport.down.add("valuechains.test")
        async with rig.client(tokens("reader")) as client:
            await client.get("/valuechains/v1/chains")
            assert rig.upstream("valuechains").breaker.state == "open"
            assert (await client.get("/portfolio/healthz")).status_code == 200
            assert rig.upstream("portfolio").breaker.state == "closed"


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, recovery_seconds=5, clock=clock)
    breaker.acquire()
    breaker.failed()
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    clock.now += 5
    breaker.acquire()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.acquire()  # others still fail fast while it runs
    breaker.failed()
    assert breaker.state == "open"  # a failed probe reopens for a full recovery period
    clock.now += 4.9
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    clock.now += 0.1
    breaker.acquire()
    breaker.abandoned()  # a probe cancelled by its client decides nothing: another may try
    breaker.acquire()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.failures == 0


async def test_cancelled_request_releases_the_probe(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(principles_url="http://slow.test", breaker_failure_threshold=1) as rig:
        arrived = asyncio.Event()
        rig.transport.add("slow.test", slow_app(30, arrived))
        breaker = rig.upstream("principles").breaker
        clock = FakeClock()
        breaker.clock = clock
        breaker.failed()
        clock.now += 10
        async with rig.client(tokens("reader")) as client:
            probe = asyncio.create_task(client.get("/principles/v1/principles"))
            await arrived.wait()
            assert breaker.state == "half_open" and breaker._probing
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
        assert not breaker._probing


async def test_readyz_reports_every_upstream(rig: Rig) -> None:
    async with rig.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "upstreams": {
            name: {
                "ready": True,
                "breaker": "closed",
                "instances": [{"instance": 1, "ready": True, **ALONE, "failures": 0}],
            }
            for name in ("valuechains", "portfolio", "principles")
        },
    }


async def test_a_service_down_leaves_the_gateway_ready_and_says_so(rig: Rig, tokens: Tokens) -> None:
    """The gateway's readiness is its own: one service down must not take every gateway (and with
    it every other service) out of rotation. Its state shows in the body and in metrics."""
    rig.transport.down.add("principles.test")
    async with rig.client() as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["upstreams"]["principles"]["ready"] is False
        assert body["upstreams"]["principles"]["detail"] == "unreachable"
        assert body["upstreams"]["valuechains"]["ready"] is True
        metrics = (await client.get("/metrics", headers=tokens("admin"))).text
        assert 'gateway_upstream_ready{upstream="principles"} 0.0' in metrics
        assert 'gateway_upstream_ready{upstream="valuechains"} 1.0' in metrics
        assert 'gateway_upstream_breaker_open{upstream="principles"} 0.0' in metrics
        # And the other services are served as ever.
        assert (await client.get("/valuechains/v1/chains", headers=tokens("reader"))).status_code == 200
