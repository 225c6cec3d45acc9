"""Several instances of a service behind the gateway: requests spread over them, an instance that
fails is ejected for a back-off and tried again after it, and a retry goes to another instance only
when repeating the request is safe."""

from __future__ import annotations

import time
from collections import Counter

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from gateway.balancer import Balancer
from gateway.settings import GatewaySettings
from tests.gateway.conftest import FakeClock, MakeRig, Rig, chain_body, create, dropping_app
from tests.support import Tokens

TWO = "http://vc-a.test,http://vc-b.test"


def balancer(count: int, clock: FakeClock, **overrides: float) -> Balancer:
    settings = {"failures": 3, "ejection_seconds": 5.0, "max_ejection_seconds": 30.0, **overrides}
    return Balancer([f"http://i{n}.test" for n in range(count)], clock=clock, **settings)  # type: ignore[arg-type]


def failing_app(status: int) -> FastAPI:
    """An instance that answers every request with ``status`` (a problem document)."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def fail(path: str) -> JSONResponse:
        return JSONResponse(
            {"title": "failed", "status": status}, status_code=status, media_type="application/problem+json"
        )

    return app


def two_valuechains(rig: Rig) -> None:
    """Both instances are the suite's valuechains app (one service, one database, two addresses)."""
    for host in ("vc-a.test", "vc-b.test"):
        rig.transport.add(host, rig.suite.apps["valuechains"])


# --- the settings --------------------------------------------------------------------------------


def test_several_urls_per_service_and_one_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IV_PORTFOLIO_URL", " http://10.0.0.1:8001/ , https://portfolio-b.internal/base/")
    monkeypatch.setenv("IV_VALUECHAINS_URL", "http://valuechains.internal:8080/")
    settings = GatewaySettings()
    assert settings.instances()["/portfolio"] == ("http://10.0.0.1:8001", "https://portfolio-b.internal/base")
    assert settings.instances()["/valuechains"] == ("http://valuechains.internal:8080",)
    assert settings.upstreams()["/valuechains"] == "http://valuechains.internal:8080"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("http://a.test:1,", "empty entry"),
        ("http://a.test:1,,http://b.test:2", "empty entry"),
        ("ftp://a.test", "not an http:// or https:// URL"),
        ("a.test:8001", "not an http:// or https:// URL"),
        ("http://a.test:99999", "not a URL"),
        ("http://a.test:1,http://a.test:1/", "twice"),
        ("http://user:pw@a.test", "credentials"),
        ("http://a.test?x=1", "query"),
    ],
)
def test_bad_instance_urls_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.setenv("IV_PRINCIPLES_URL", value)
    with pytest.raises(ValidationError, match=f"IV_PRINCIPLES_URL.*{says}"):
        GatewaySettings()


def test_an_ejection_longer_than_its_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="IV_OUTLIER_MAX_EJECTION_SECONDS"):
        GatewaySettings(outlier_ejection_seconds=10, outlier_max_ejection_seconds=5)


# --- the balancer on its own ---------------------------------------------------------------------


def test_round_robin_spreads_evenly() -> None:
    chooser = balancer(3, FakeClock())
    picked = Counter(chooser.pick().url for _ in range(300))
    assert picked == {"http://i0.test": 100, "http://i1.test": 100, "http://i2.test": 100}


def test_ejected_after_failures_in_a_row_then_tried_again_after_the_back_off() -> None:
    clock = FakeClock()
    ejected: list[str] = []
    chooser = balancer(2, clock, failures=3)
    chooser.on_ejected = lambda instance: ejected.append(instance.url)
    first, second = chooser.instances
    chooser.failed(first)
    chooser.failed(first)
    chooser.succeeded(first)  # a success in between: not in a row
    chooser.failed(first)
    chooser.failed(first)
    assert ejected == [] and {chooser.pick() for _ in range(4)} == {first, second}
    chooser.failed(first)  # the third in a row
    assert ejected == [first.url]
    assert [chooser.pick() for _ in range(4)] == [second] * 4
    assert chooser.state(first) == {"ejected": True, "failures": 3, "ejected_for_seconds": 5.0}

    clock.now += 5  # the back-off is over: back in turn, on trial
    assert {chooser.pick() for _ in range(4)} == {first, second}
    chooser.failed(first)  # one failure on trial ejects it again, for twice as long
    assert ejected == [first.url] * 2 and chooser.state(first)["ejected_for_seconds"] == 10.0
    clock.now += 10
    chooser.failed(first)
    assert chooser.state(first)["ejected_for_seconds"] == 20.0
    clock.now += 20
    chooser.failed(first)
    assert chooser.state(first)["ejected_for_seconds"] == 30.0  # the maximum
    clock.now += 30
    chooser.succeeded(first)  # a success admits it fully: the next ejection needs 3 failures again
    chooser.failed(first)
    assert chooser.state(first) == {"ejected": False, "failures": 1}
    assert len(ejected) == 4


def test_a_retry_avoids_the_instance_it_comes_from() -> None:
    chooser = balancer(3, FakeClock())
    for _ in range(6):
        tried = chooser.pick()
        assert chooser.pick(avoid=tried) is not tried


def test_with_every_instance_ejected_each_is_still_tried_in_turn() -> None:
    clock = FakeClock()
    chooser = balancer(2, clock, failures=1)
    first, second = chooser.instances
    chooser.failed(first)
    chooser.failed(second)
    assert [chooser.pick() for _ in range(4)] == [first, second, first, second]
    assert chooser.pick(avoid=first) is second
    chooser.failed(first)  # failing again while ejected does not lengthen the ejection
    assert chooser.state(first)["ejected_for_seconds"] == 5.0


def test_a_single_instance_is_never_ejected() -> None:
    chooser = balancer(1, FakeClock(), failures=1)
    [only] = chooser.instances
    for _ in range(5):
        chooser.failed(only)
    assert chooser.pick() is only and chooser.state(only) == {"ejected": False, "failures": 5}


# --- through the gateway -------------------------------------------------------------------------


async def test_requests_spread_over_the_instances(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(valuechains_url=TWO) as rig:
        two_valuechains(rig)
        mark = rig.mark()
        async with rig.client(tokens("reader")) as client:
            for _ in range(10):
                assert (await client.get("/valuechains/v1/chains", params={"limit": 1})).status_code == 200
        assert len(rig.sent_to("vc-a.test", mark)) == len(rig.sent_to("vc-b.test", mark)) == 5


async def test_a_down_instance_costs_no_request_and_is_ejected(make_rig: MakeRig, tokens: Tokens) -> None:
    """Reads and writes are served by the other instance (a refused connection sent nothing, so a
    POST is retried too); after three refusals the instance gets nothing until its back-off ends."""
    async with make_rig(valuechains_url=TWO, outlier_failures=3, outlier_ejection_seconds=30) as rig:
        two_valuechains(rig)
        clock = FakeClock()
        rig.upstream("valuechains").balancer.clock = clock
        rig.transport.down.add("vc-b.test")
        async with rig.client(tokens("admin")) as client:
            mark = rig.mark()
            for n in range(6):
                assert (await client.get("/valuechains/v1/chains", params={"limit": 1})).status_code == 200
                body = {
                    "code": f"BAL{n}",
                    "name": "Balanced",
                    "domain": "Testing",
                    "mission": "Be served by whichever instance is up.",
                    "owner": {"subject": "u-bal", "name": "B. Alance", "unit": "Dienst IV"},
                }
                created = await client.post("/valuechains/v1/chains", json=body)
                assert created.status_code == 201, created.text
            assert len(rig.sent_to("vc-b.test", mark)) == 3  # then ejected
            assert len(rig.sent_to("vc-a.test", mark)) == 12

            ready = (await client.get("/readyz")).json()
            assert ready["status"] == "degraded"
            assert ready["upstreams"]["valuechains"]["ready"] is True
            assert ready["upstreams"]["valuechains"]["instances"] == [
                {"instance": 1, "ready": True, "ejected": False, "failures": 0},
                {
                    "instance": 2,
                    "ready": False,
                    "detail": "unreachable",
                    "ejected": True,
                    "failures": 3,
                    "ejected_for_seconds": 30.0,
                },
            ]
            metrics = (await client.get("/metrics")).text
            assert 'gateway_upstream_ejections_total{instance="http://vc-b.test",upstream="valuechains"} 1.0' in metrics
            assert (
                'gateway_upstream_instance_ejected{instance="http://vc-b.test",upstream="valuechains"} 1.0' in metrics
            )
            assert 'gateway_upstream_instance_ready{instance="http://vc-a.test",upstream="valuechains"} 1.0' in metrics

            # Back, and its back-off over: it is tried again and, answering, admitted again.
            rig.transport.down.discard("vc-b.test")
            clock.now += 30
            mark = rig.mark()
            for _ in range(4):
                assert (await client.get("/valuechains/v1/chains", params={"limit": 1})).status_code == 200
            assert len(rig.sent_to("vc-b.test", mark)) == 2
            assert rig.upstream("valuechains").balancer.state(rig.upstream("valuechains").balancer.instances[1]) == {
                "ejected": False,
                "failures": 0,
            }


async def test_a_write_whose_connection_broke_is_not_sent_again(make_rig: MakeRig, tokens: Tokens) -> None:
    """The request reached the instance before the connection broke: a POST may have been made, so
    it is not repeated elsewhere (502, sent once); a GET is repeated on the other instance."""
    async with make_rig(valuechains_url="http://dropping.test,http://vc-b.test", breaker_failure_threshold=100) as rig:
        rig.transport.add("dropping.test", dropping_app())
        rig.transport.add("vc-b.test", rig.suite.apps["valuechains"])
        async with rig.client(tokens("admin")) as client:
            # In turn: the dropping instance, the other, the dropping one again.
            write = await client.post("/valuechains/v1/chains", json={})
            assert write.status_code == 502 and write.json()["type"] == "/problems/bad-gateway"
            assert "may or may not have been made" in write.json()["detail"]
            assert [r.url.host for r in rig.transport.requests] == ["dropping.test"]
            for _ in range(2):
                read = await client.get("/valuechains/v1/chains", params={"limit": 1})
                assert read.status_code == 200
        assert [(r.method, r.url.host) for r in rig.transport.requests] == [
            ("POST", "dropping.test"),
            ("GET", "vc-b.test"),
            ("GET", "dropping.test"),
            ("GET", "vc-b.test"),  # the retry, on the other instance
        ]


@pytest.mark.parametrize("status", [500, 503])
async def test_an_instance_answering_5xx_is_ejected(make_rig: MakeRig, tokens: Tokens, status: int) -> None:
    """A 5xx answer is passed on as it is (it is not repeated), and counts against the instance."""
    async with make_rig(valuechains_url="http://failing.test,http://vc-b.test", outlier_failures=2) as rig:
        rig.transport.add("failing.test", failing_app(status))
        rig.transport.add("vc-b.test", rig.suite.apps["valuechains"])
        async with rig.client(tokens("reader")) as client:
            answers = [(await client.get("/valuechains/v1/chains", params={"limit": 1})).status_code for _ in range(8)]
        assert answers.count(status) == 2 and answers.count(200) == 6
        assert len(rig.sent_to("failing.test")) == 2


async def test_the_fan_out_uses_the_balancer(make_rig: MakeRig, tokens: Tokens) -> None:
    """``/references`` asks each service through the same balancer: in turn, and past a down instance."""
    async with make_rig(valuechains_url=TWO) as rig:
        two_valuechains(rig)
        target = "/portfolio/v1/initiatives/0190a000-0000-7000-8000-000000000000"
        async with rig.client(tokens("reader")) as client:
            mark = rig.mark()
            for _ in range(2):
                assert (await client.get("/references", params={"target": target})).status_code == 200
            assert len(rig.sent_to("vc-a.test", mark)) == len(rig.sent_to("vc-b.test", mark)) == 1
            rig.transport.down.add("vc-a.test")
            for _ in range(2):  # not 503: the other instance answers for the service
                assert (await client.get("/references", params={"target": target})).status_code == 200


async def test_a_retry_on_another_instance_does_not_wait(
    make_rig: MakeRig, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jittered wait is for asking the same instance again; another one is asked at once."""
    monkeypatch.setattr("gateway.resilience.random.uniform", lambda low, high: 0.5)
    async with make_rig(valuechains_url=TWO) as rig:
        two_valuechains(rig)
        rig.transport.down.add("vc-a.test")  # the first in turn
        async with rig.client(tokens("reader")) as client:
            started = time.monotonic()
            assert (await client.get("/valuechains/v1/chains", params={"limit": 1})).status_code == 200
            assert time.monotonic() - started < 0.45
        assert [r.url.host for r in rig.transport.requests] == ["vc-a.test", "vc-b.test"]


def exhausted_pool_app() -> FastAPI:
    """Stands for the gateway's own connection pool running out in front of an instance."""
    app = FastAPI()

    @app.get("/{path:path}")
    async def exhausted(path: str) -> None:
        raise httpx2.PoolTimeout("no connection free in the pool")

    return app


async def test_the_gateway_s_own_pool_running_out_is_not_held_against_an_instance(
    make_rig: MakeRig, tokens: Tokens
) -> None:
    async with make_rig(valuechains_url="http://pool.test,http://vc-b.test") as rig:
        rig.transport.add("pool.test", exhausted_pool_app())
        rig.transport.add("vc-b.test", rig.suite.apps["valuechains"])
        async with rig.client(tokens("reader")) as client:
            answer = await client.get("/valuechains/v1/chains", params={"limit": 1})
        assert answer.status_code == 503 and "no free connection" in answer.json()["detail"]
        assert rig.upstream("valuechains").balancer.instances[0].failures == 0


async def test_expansion_fetches_through_the_balancer(make_rig: MakeRig, tokens: Tokens) -> None:
    """``expand``'s batch fetch of the chains goes round the down instance as the request does."""
    async with make_rig(widgets=True, valuechains_url=TWO) as rig:
        two_valuechains(rig)
        async with rig.client(tokens("admin")) as admin:
            chain = await create(admin, "/valuechains/v1/chains", chain_body("Keten"))
            await create(admin, "/portfolio/v1/widgets", {"name": "balanced", "chain": {"href": chain["href"]}})
            assert (await admin.get("/openapi.json")).status_code == 200
            rig.transport.down.add("vc-a.test")
            mark = rig.mark()
            for _ in range(2):  # the batch meets each instance first once
                page = await admin.get("/portfolio/v1/widgets", params={"expand": "chain", "limit": 100})
                [widget] = [w for w in page.json()["items"] if w["name"] == "balanced"]
                assert widget["chain"] == chain
        fetched = [r.url.host for r in rig.transport.requests[mark:] if r.url.host.startswith("vc-")]
        assert fetched.count("vc-a.test") >= 1 and fetched.count("vc-b.test") == 2
