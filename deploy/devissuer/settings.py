"""What the development token issuer reads: the ``IV_*`` names the services read for the same
things (issuer, audience, the services' client), so compose sets them once for both sides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.chassis.credentials import SERVICE_ROLES
from services.chassis.settings import Environment
from services.chassis.signing_keys import ROTATED_KEYS_DIR, KeyRing

SCOPE = "iv-platform"
"""The one scope it knows; a client may ask for it or for none."""
CLIENT_ROLES = sorted(SERVICE_ROLES)
CLIENT_CLEARANCE = "secret"
"""What a service's own identity is (services/chassis/credentials.py): it reads, cleared for
everything, to compute what it then filters by each person's own token."""


class IssuerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IV_", extra="ignore", frozen=True)

    environment: Environment = "development"
    var_dir: Path = Path("var")

    # The ``iss`` of every token, and the base of the URLs discovery names: the address at which
    # the services reach the issuer (compose: http://issuer:8000). The services' IV_JWT_ISSUER.
    jwt_issuer: str = "http://127.0.0.1:8000"
    jwt_audience: str = "iv-platform"
    jwt_max_lifetime_seconds: int = Field(default=24 * 3600, ge=60)

    # The services' own confidential client (their IV_OAUTH_CLIENT_ID and secret): its tokens carry
    # the roles and clearance of a service's own identity (CLIENT_ROLES, CLIENT_CLEARANCE).
    oauth_client_id: str = "iv-platform-services"
    oauth_client_secret: str | None = Field(default=None, repr=False)
    oauth_client_secret_file: Path | None = None
    # Client-credentials tokens live this long; the services renew theirs before they run out.
    client_token_lifetime_seconds: int = Field(default=600, ge=10)

    # The explorer's public client (authorization code with PKCE, no secret): the gateway's
    # IV_EXPLORER_CLIENT_ID, and the redirect URIs it may name (comma-separated): the gateway's
    # Swagger UI oauth2-redirect page, as the browser reaches it.
    explorer_client_id: str = "iv-explorer"
    explorer_redirect_uris: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000/docs/oauth2-redirect"]
    )
    # The portal's public client (gateway/portal: authorization code with PKCE, exchanged by the
    # gateway): the gateway's IV_PORTAL_CLIENT_ID, and the portal's callback as the browser reaches it.
    portal_client_id: str = "iv-portal"
    portal_redirect_uris: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000/portal/aanmelden/terug"]
    )
    # An authorization code is good for one token request within this many seconds.
    authorization_code_seconds: int = Field(default=60, ge=5, le=600)
    # A token for a person signed in through the explorer lives this long.
    person_token_lifetime_seconds: int = Field(default=3600, ge=60)

    # The first ES256 signing key (PEM): the development key the services and ``make token`` use
    # (var_dir/dev-signing-key.pem, generated on first use), or a mounted one. ``rotate`` adds keys
    # under var_dir/signing-keys; a replaced key stays published signing_key_grace_seconds.
    issuer_signing_key_file: Path | None = None
    signing_key_grace_seconds: int = Field(default=25 * 3600, ge=0)

    @property
    def signing_key_path(self) -> Path:
        return self.issuer_signing_key_file or self.var_dir / "dev-signing-key.pem"

    def key_ring(self) -> KeyRing:
        return KeyRing(self.signing_key_path, self.var_dir / ROTATED_KEYS_DIR, self.signing_key_grace_seconds)

    def explorer_origins(self) -> list[str]:
        """The origins of the explorer's and the portal's redirect URIs: where the sign-in page
        sends the browser back to, and where a browser's token request comes from."""
        origins = []
        for uri in [*self.explorer_redirect_uris, *self.portal_redirect_uris]:
            parts = urlsplit(uri)
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
        return origins

    @field_validator("explorer_redirect_uris", "portal_redirect_uris", mode="before")
    @classmethod
    def _split_uris(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for uri in value:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(
                    f"IV_EXPLORER_REDIRECT_URIS or IV_PORTAL_REDIRECT_URIS: {uri!r} is not an absolute "
                    "http(s) URI without a fragment"
                )
        return value

    def client_secret(self) -> str:
        if self.oauth_client_secret_file is not None:
            return self.oauth_client_secret_file.read_text().strip()
        return self.oauth_client_secret or ""

    @model_validator(mode="after")
    def _development_only(self) -> IssuerSettings:
        # The rule: this issuer hands a token to whoever holds a development secret (or a shell in
        # its container), so it never runs where the platform's settings are production's. Compose
        # gives it IV_ENVIRONMENT=development of its own; a production deployment sets production
        # for every pod (k8s/: iv-platform-config), so a stray issuer there refuses to start.
        if self.environment != "development":
            raise ValueError(
                f"the development token issuer refuses to run with IV_ENVIRONMENT={self.environment}: "
                "it is for compose and development only; production uses the organisation's identity provider"
            )
        if self.client_token_lifetime_seconds > self.jwt_max_lifetime_seconds:
            raise ValueError("IV_CLIENT_TOKEN_LIFETIME_SECONDS is longer than the services accept")
        return self
