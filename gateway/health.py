"""``/healthz``: the gateway process is alive. ``/readyz``: every service says it is ready."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.resilience import Upstream, UpstreamClient
from services.chassis.errors import PROBLEM_JSON, UNAVAILABLE, problem_body


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


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness", description="200 while the gateway process is alive.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness of the whole platform",
        description=(
            "Asks every service's `/readyz` and reports each, with the state of the gateway's circuit "
            "breaker for it (`closed`, `open`: failing fast, `half_open`: the next request probes). "
            "503 problem when any service is not ready."
        ),
        responses={503: {"description": "Not ready", "content": {PROBLEM_JSON: {}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        client: UpstreamClient = request.app.state.upstream_client
        timeout: float = request.app.state.settings.readiness_timeout
        upstreams = list(client.upstreams.values())
        probes = await asyncio.gather(*(_probe(client, u, timeout) for u in upstreams))
        checks = {u.name: probe for u, probe in zip(upstreams, probes, strict=True)}
        if all(probe["ready"] for probe in probes):
            return JSONResponse({"status": "ready", "upstreams": checks})
        not_ready = ", ".join(f"{name} {c['detail']}" for name, c in checks.items() if not c["ready"])
        body = problem_body(UNAVAILABLE, f"not ready: {not_ready}", instance="/readyz")
        body["upstreams"] = checks
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)

    return router
