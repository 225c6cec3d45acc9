"""The gateway's settings: the shared ``IV_*`` settings plus its edge and resilience knobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from services.chassis.explorer import SignIn
from services.chassis.routing import SERVICES
from services.chassis.settings import CommonSettings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class GatewaySettings(CommonSettings):
    """``IV_*`` environment variables; each service's instances come from ``instances()``, the one
    prefix table with every URL of ``IV_<SERVICE>_URL`` (comma-separated)."""

    SEVERAL_INSTANCES: ClassVar[bool] = True

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

    # Passive outlier ejection among a service's instances (gateway/balancer.py): an instance that
    # fails this many requests in a row (no connection, or a 5xx answer) gets no traffic for
    # outlier_ejection_seconds, doubled each time it fails again right after (up to the maximum).
    outlier_failures: int = Field(default=3, ge=1)
    outlier_ejection_seconds: float = Field(default=5.0, gt=0)
    outlier_max_ejection_seconds: float = Field(default=60.0, gt=0)

    # An event stream passed through (gateway/streams.py) that brings nothing, not even the
    # services' heartbeat (IV_STREAM_HEARTBEAT_SECONDS, 15), for this long is ended.
    stream_idle_seconds: float = Field(default=60.0, gt=0)

    # The explorer signs people in at the identity provider (authorization code with PKCE): the
    # explorer's public client there, and the provider's endpoints as a person's browser reaches
    # them (docs/operations.md, "Registering the platform's clients"). Without both URLs the
    # explorer offers only the pasted token.
    explorer_client_id: str = "iv-explorer"
    explorer_authorization_url: str | None = None
    explorer_token_url: str | None = None

    # The portal (gateway/portal, /portal/) signs people in at the identity provider with
    # authorization code and PKCE, as a client of its own: the authorization endpoint as a person's
    # browser reaches it, the token endpoint as the gateway reaches it (in compose they differ).
    # Without both URLs the portal's pages say that sign-in is not set up.
    portal_client_id: str = "iv-portal"
    portal_authorization_url: str | None = None
    portal_token_url: str | None = None
    # The keys that seal the portal's session cookie (Fernet keys, comma-separated: the first seals,
    # every one opens, so a key is replaced by putting the new one first). Required outside
    # development; in development a key is made per process (a restart signs everyone out).
    portal_session_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    portal_session_keys_file: Path | None = None

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

    @field_validator("portal_session_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def portal_keys(self) -> list[str]:
        """The session cookie's keys: from the file when one is set, else the variable."""
        if self.portal_session_keys_file is not None:
            return [line.strip() for line in self.portal_session_keys_file.read_text().splitlines() if line.strip()]
        return list(self.portal_session_keys)

    @field_validator("upstream_timeouts")
    @classmethod
    def _known_services(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(SERVICES)}")
        if any(seconds <= 0 for seconds in value.values()):
            raise ValueError("timeouts must be positive")
        return value

    @model_validator(mode="after")
    def _sign_in_needs_both_endpoints(self) -> GatewaySettings:
        if (self.explorer_authorization_url is None) != (self.explorer_token_url is None):
            raise ValueError(
                "IV_EXPLORER_AUTHORIZATION_URL and IV_EXPLORER_TOKEN_URL go together: the explorer signs in at both"
            )
        if (self.portal_authorization_url is None) != (self.portal_token_url is None):
            raise ValueError(
                "IV_PORTAL_AUTHORIZATION_URL and IV_PORTAL_TOKEN_URL go together: the portal signs in at both"
            )
        if self.portal_authorization_url is not None and not self.is_development and not self.portal_keys():
            raise ValueError(
                "the portal needs IV_PORTAL_SESSION_KEYS or IV_PORTAL_SESSION_KEYS_FILE outside development: "
                "every gateway instance must open the sessions the others seal"
            )
        # The portal's token URL is the gateway's to call, not a browser's: like IV_JWKS_URL and the
        # services' IV_OAUTH_TOKEN_URL it is an address inside the operator's network (compose:
        # http://issuer:8000), so only its scheme is checked.
        browsers = {"explorer_authorization_url", "explorer_token_url", "portal_authorization_url"}
        for name in (*sorted(browsers), "portal_token_url"):
            url = getattr(self, name)
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"IV_{name.upper()} is not an http(s) URL: {url!r}")
            # Outside development https, or plain http on the browser's own machine (a loopback
            # address, which browsers treat as secure: compose on one machine).
            insecure = (
                url is not None and urlsplit(url).scheme != "https" and urlsplit(url).hostname not in LOOPBACK_HOSTS
            )
            if insecure and name in browsers and not self.is_development:
                raise ValueError(f"IV_{name.upper()} must be https outside development: {url!r}")
        return self

    def sign_in(self) -> SignIn | None:
        """How the explorer signs in, when the provider's endpoints are set."""
        if self.explorer_authorization_url is None or self.explorer_token_url is None:
            return None
        return SignIn(self.explorer_client_id, self.explorer_authorization_url, self.explorer_token_url)

    @model_validator(mode="after")
    def _ejection_within_its_maximum(self) -> GatewaySettings:
        if self.outlier_max_ejection_seconds < self.outlier_ejection_seconds:
            raise ValueError("IV_OUTLIER_MAX_EJECTION_SECONDS must not be below IV_OUTLIER_EJECTION_SECONDS")
        return self

    def timeout_for(self, service: str) -> float:
        return self.upstream_timeouts.get(service, self.upstream_timeout)

    def instances(self) -> dict[str, tuple[str, ...]]:
        """Public prefix (``/valuechains``) to the base URLs of the service's instances."""
        return {f"/{name}": tuple(getattr(self, f"{name}_url").split(",")) for name in SERVICES}
