"""``GET /.well-known/iv-audit-keys``: every service's audit keys in one JWK set, no token needed.

Each key carries ``feed``: the service whose signed checkpoints it verifies (each service signs its
own; see ``services.chassis.audit``). A set with a service missing would make that service's
checkpoints look forged, so a service that cannot be reached makes the answer 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.resilience import Upstream, UpstreamClient
from services.chassis.audit import KEYS_PATH, Jwk
from services.chassis.errors import Problem, ServiceUnavailable, problem_responses
from services.chassis.queries import strict_router
from services.chassis.tasks import gather


class FeedJwk(Jwk):
    feed: str = Field(description="The service whose checkpoints this key verifies.")


class FeedJwkSet(BaseModel):
    keys: list[FeedJwk]


def audit_keys_router() -> APIRouter:
    router = strict_router(tags=["audit"])

    @router.get(
        KEYS_PATH,
        response_model=FeedJwkSet,
        summary="Every service's audit keys",
        responses=problem_responses(503),
        description="The Ed25519 public keys (a JWK set) that verify the services' signed checkpoints "
        "of their change feeds; `feed` names the service of each key. No token needed.",
    )
    async def audit_keys(request: Request) -> FeedJwkSet:
        client: UpstreamClient = request.app.state.upstream_client

        async def keys_of(upstream: Upstream) -> list[dict[str, Any]] | None:
            try:
                response = await client.send(upstream, "GET", KEYS_PATH)
            except Problem:
                return None
            keys = response.json().get("keys") if response.status_code == 200 else None
            return (
                [{**k, "feed": upstream.name} for k in keys if isinstance(k, dict)] if isinstance(keys, list) else None
            )

        upstreams = list(client.upstreams.values())
        answers = await gather(*(keys_of(u) for u in upstreams))
        missing = [u.name for u, keys in zip(upstreams, answers, strict=True) if keys is None]
        if missing:
            raise ServiceUnavailable(f"the audit keys of {', '.join(missing)} could not be fetched")
        return FeedJwkSet.model_validate({"keys": [key for keys in answers for key in keys or []]})

    return router
