"""``/healthz``: the gateway process is alive. ``/readyz``: the gateway can serve.

Readiness is each process's own: the gateway is ready once it has started (its client, token
verifier and routes are there), whatever the services behind it do. A gateway taken out of
rotation because one service is slow would take every other service down with it. The services'
states are reported in the body (``degraded`` when an instance is not ready), each
instance's with it (ready, ejected by the balancer), and in metrics (``gateway_upstream_ready``,
``gateway_upstream_breaker_open``, ``gateway_upstream_instance_ready``,
``gateway_upstream_instance_ejected``), refreshed by every probe and by a watcher every
``IV_READINESS_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.balancer import Instance
from gateway.resilience import UpstreamClient
from gateway.settings import GatewaySettings
from services.chassis.queries import strict_router
from services.chassis.tasks import gather


async def _probe(client: UpstreamClient, instance: Instance, seconds: float) -> dict[str, Any]:
    """One instance's readiness now: ``ready``, and ``detail`` when it is not."""
    # Straight to the instance, past retries, breaker and balancer: readiness must report what is
    # true now, and probes must not open a breaker or eject an instance (real traffic drives those).
    try:
        async with asyncio.timeout(seconds):
            response = await client.client.get(
                instance.url + "/readyz", timeout=httpx2.Timeout(seconds, connect=seconds)
            )
    except (httpx2.RequestError, TimeoutError) as exc:
        kind = "did not answer in time" if isinstance(exc, TimeoutError | httpx2.TimeoutException) else "unreachable"
        return {"ready": False, "detail": kind}
    if response.status_code == 200:
        return {"ready": True}
    detail = f"answered {response.status_code}"
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            detail = body["detail"]
    except ValueError:
        pass
    return {"ready": False, "detail": detail}


async def check_upstreams(client: UpstreamClient, seconds: float) -> dict[str, dict[str, Any]]:
    """Every service's readiness now (each instance's probe allowed ``seconds``), with its breaker
    and its instances' states; the gauges follow. A service is ready while one instance is."""
    upstreams = list(client.upstreams.values())
    pairs = [(u, i) for u in upstreams for i in u.balancer.instances]
    probes = await gather(*(_probe(client, instance, seconds) for _, instance in pairs))
    states: dict[str, dict[str, Any]] = {
        u.name: {"ready": False, "breaker": u.breaker.state, "instances": []} for u in upstreams
    }
    for (upstream, instance), probe in zip(pairs, probes, strict=True):
        state = states[upstream.name]
        # Numbered as listed in IV_<SERVICE>_URL: /readyz answers anyone, so the addresses
        # themselves are only in /metrics, which needs a token.
        number = len(state["instances"]) + 1
        seen = {"instance": number, **probe, **upstream.balancer.state(instance)}
        state["instances"].append(seen)
        state["ready"] = state["ready"] or probe["ready"]
        if client.metrics is not None:
            client.metrics.instance_ready.labels(upstream.name, instance.url).set(1 if seen["ready"] else 0)
            client.metrics.instance_ejected.labels(upstream.name, instance.url).set(1 if seen["ejected"] else 0)
    for upstream in upstreams:
        state = states[upstream.name]
        if not state["ready"]:
            state["detail"] = state["instances"][0]["detail"]
        if client.metrics is not None:
            client.metrics.ready.labels(upstream.name).set(1 if state["ready"] else 0)
            client.metrics.breaker.labels(upstream.name).set(0 if state["breaker"] == "closed" else 1)
    return states


async def watch_upstreams(client: UpstreamClient, settings: GatewaySettings) -> None:
    """Keep the upstream gauges current between readiness probes."""
    while True:
        await asyncio.sleep(settings.readiness_interval_seconds)
        with contextlib.suppress(Exception):
            await check_upstreams(client, settings.readiness_timeout)


def health_router() -> APIRouter:
    router = strict_router(tags=["operations"])

    @router.get("/healthz", summary="Liveness", description="200 while the gateway process is alive.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness of the gateway, and the state of every service behind it",
        description=(
            "200 once the gateway can serve, whatever the services do: `status` is `ready` when every "
            "instance of every service answers its own `/readyz`, `degraded` when one does not. A service "
            "is `ready` while one of its instances is (else its `detail` says why), and comes with the "
            "state of the gateway's circuit breaker for it (`closed`, `open`: failing fast, `half_open`: "
            "the next request probes) and each instance's: `instance` (its place in `IV_<SERVICE>_URL`, from 1), "
            "`ready` (`detail`), `ejected` (it gets "
            "no traffic for `ejected_for_seconds` after failing) and `failures` in a row. The same states "
            "are in `/metrics`."
        ),
    )
    async def readyz(request: Request) -> JSONResponse:
        client: UpstreamClient = request.app.state.upstream_client
        checks = await check_upstreams(client, request.app.state.settings.readiness_timeout)
        every = all(i["ready"] for c in checks.values() for i in c["instances"])
        status = "ready" if every else "degraded"
        return JSONResponse({"status": status, "upstreams": checks})

    return router
