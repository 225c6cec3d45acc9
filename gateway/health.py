"""``/healthz``: the gateway process is alive. ``/readyz``: the gateway can serve.

Readiness is each process's own: the gateway is ready once it has started (its client, token
verifier and routes are there), whatever the services behind it do. A gateway taken out of
rotation because one service is slow would take every other service down with it. The services'
states are reported in the body (``degraded`` when one is not ready) and in metrics
(``gateway_upstream_ready``, ``gateway_upstream_breaker_open``), refreshed by every probe and by a
watcher every ``IV_READINESS_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.resilience import Upstream, UpstreamClient
from gateway.settings import GatewaySettings
from services.chassis.queries import strict_router
from services.chassis.tasks import gather


async def _probe(client: UpstreamClient, upstream: Upstream, seconds: float) -> dict[str, Any]:
    # Straight to the service, past retries and breaker: readiness must report what is true now,
    # and probes must not open or close a breaker that real traffic drives.
    result: dict[str, Any] = {"breaker": upstream.breaker.state}
    try:
        async with asyncio.timeout(seconds):
            response = await client.client.get(
                upstream.base_url + "/readyz", timeout=httpx2.Timeout(seconds, connect=seconds)
            )
    except (httpx2.RequestError, TimeoutError) as exc:
        kind = "did not answer in time" if isinstance(exc, TimeoutError | httpx2.TimeoutException) else "unreachable"
        return {"ready": False, "detail": kind, **result}
    if response.status_code == 200:
        return {"ready": True, **result}
    detail = f"answered {response.status_code}"
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            detail = body["detail"]
    except ValueError:
        pass
    return {"ready": False, "detail": detail, **result}


async def check_upstreams(client: UpstreamClient, seconds: float) -> dict[str, dict[str, Any]]:
    """Every service's readiness now (each probe allowed ``seconds``), with its breaker; the gauges follow."""
    upstreams = list(client.upstreams.values())
    probes = await gather(*(_probe(client, u, seconds) for u in upstreams))
    if client.metrics is not None:
        for upstream, probe in zip(upstreams, probes, strict=True):
            client.metrics.ready.labels(upstream.name).set(1 if probe["ready"] else 0)
            client.metrics.breaker.labels(upstream.name).set(0 if probe["breaker"] == "closed" else 1)
    return {u.name: probe for u, probe in zip(upstreams, probes, strict=True)}


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
            "service answers its own `/readyz`, `degraded` when one does not (its `detail` says why). "
            "Each service comes with the state of the gateway's circuit breaker for it (`closed`, `open`: "
            "failing fast, `half_open`: the next request probes). The same states are in `/metrics`."
        ),
    )
    async def readyz(request: Request) -> JSONResponse:
        client: UpstreamClient = request.app.state.upstream_client
        checks = await check_upstreams(client, request.app.state.settings.readiness_timeout)
        status = "ready" if all(c["ready"] for c in checks.values()) else "degraded"
        return JSONResponse({"status": status, "upstreams": checks})

    return router
