"""The gateway's settings: the shared ``IV_*`` settings plus its edge and resilience knobs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from services.chassis.routing import SERVICES
from services.chassis.settings import CommonSettings


class GatewaySettings(CommonSettings):
    """``IV_*`` environment variables; upstream URLs come from ``upstreams()`` (the one prefix table)."""

    # Browsers may call the API cross-origin only from these origins (comma-separated or a JSON
    # list in IV_CORS_ORIGINS). Empty: no CORS headers at all, so browsers allow same-origin only.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Whole-request deadline per upstream, by service name (JSON in IV_UPSTREAM_TIMEOUTS, e.g.
    # {"principles": 20}); services not named use ``upstream_timeout``.
    upstream_timeouts: dict[str, float] = Field(default_factory=dict)

    # Retries of safe methods after a connection failure: attempts in all, and the time budget they
    # may spend, kept well under the 2 seconds in which a down upstream must be reported.
    retry_attempts: int = Field(default=3, ge=1, le=5)
    retry_budget_seconds: float = Field(default=0.8, gt=0, le=5)

    # Circuit breaker per upstream: this many failed requests in a row open it; after the recovery
    # time one request probes the upstream and closes it again on success.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_recovery_seconds: float = Field(default=5.0, gt=0)

    # An event stream passed through (gateway/streams.py) that brings nothing, not even the
    # services' heartbeat (IV_STREAM_HEARTBEAT_SECONDS, 15), for this long is ended.
    stream_idle_seconds: float = Field(default=60.0, gt=0)

    readiness_timeout: float = Field(default=1.5, gt=0)
    # How often the services' readiness is refreshed for /metrics between readiness probes.
    readiness_interval_seconds: float = Field(default=10.0, gt=0)
    # The merged OpenAPI document is rebuilt this often, so redeployed services show up.
    openapi_cache_seconds: float = Field(default=300.0, ge=0)
    # Items per included collection (``?include=``): its first page; ``next`` links to the rest.
    include_limit: int = Field(default=25, ge=1, le=100)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("upstream_timeouts")
    @classmethod
    def _known_services(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(SERVICES)}")
        if any(seconds <= 0 for seconds in value.values()):
            raise ValueError("timeouts must be positive")
        return value

    def timeout_for(self, service: str) -> float:
        return self.upstream_timeouts.get(service, self.upstream_timeout)
