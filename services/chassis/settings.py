"""Settings shared by every component, read from ``IV_*`` environment variables.

A component refuses to start outside development mode while it would still run on a
development default (the generated signing key, a well-known database password).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis.partners import PartnerScope, demo_scopes
from services.chassis.routing import SERVICES
from services.chassis.signing_keys import ROTATED_KEYS_DIR, KeyRing

Environment = Literal["development", "production"]

# Passwords that ship in examples and compose files; never acceptable in production.
DEFAULT_PASSWORDS = frozenset({"postgres", "password", "changeme", "secret", "iv", "example"})


def instance_urls(variable: str, value: str) -> tuple[str, ...]:
    """The base URLs in one ``IV_<SERVICE>_URL``: one, or several separated by commas, each an
    http(s) origin with an optional path prefix, no credentials, query or fragment, none twice."""
    urls: list[str] = []
    for part in value.split(","):
        url = part.strip().rstrip("/")
        if not url:
            raise ValueError(f"{variable} has an empty entry; give base URLs separated by commas")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError as exc:
            raise ValueError(f"{variable}: {url!r} is not a URL ({exc})") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{variable}: {url!r} is not an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
            raise ValueError(f"{variable}: {url!r} may not carry credentials, a query or a fragment")
        if url in urls:
            raise ValueError(f"{variable} names {url!r} twice")
        urls.append(url)
    return tuple(urls)


class CommonSettings(BaseSettings):
    """Settings every process of the suite reads (services and gateway)."""

    model_config = SettingsConfigDict(env_prefix="IV_", extra="ignore", frozen=True)

    environment: Environment = "development"
    var_dir: Path = Path("var")

    # Authentication. In production tokens come from the organisation's OIDC provider (jwks_url);
    # in development a signing key is generated into var_dir on first use.
    jwks_url: str | None = None
    jwt_issuer: str = "iv-platform-dev"
    jwt_audience: str = "iv-platform"
    jwt_leeway_seconds: int = 30
    # Tokens that live longer than this are refused: a stolen token must not work for ever.
    jwt_max_lifetime_seconds: int = Field(default=24 * 3600, ge=60)
    # Verified tokens kept (by their hash, until their exp) so a caller's next request skips the
    # signature check; 0 keeps none.
    token_cache_size: int = Field(default=4096, ge=0)
    # The trusted keys (services.chassis.signing_keys.TrustedKeys): kept this long, and fetched
    # again at most once in jwks_refetch_seconds when a token names a key not held (a rollover).
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_refetch_seconds: float = Field(default=2.0, ge=0, le=30)
    # A development signing key replaced by ``python -m deploy.devissuer rotate`` stays published
    # this long (past the longest a token it signed may live), then it is dropped.
    signing_key_grace_seconds: int = Field(default=25 * 3600, ge=0)
    # What each chain partner organisation may read (services.chassis.partners), as JSON:
    # {"OM": {"collections": {"/valuechains/v1/chains": {"fields": ["code", "name"], "chains": null}}}}.
    # Unset: none in production, the demo's (partner OM) in development; an organisation not
    # named reads nothing.
    partner_scopes: dict[str, PartnerScope] | None = None

    # Where each service lives, keyed by its public prefix; the gateway and the services'
    # own reference checks read the same table (services.chassis.routing).
    valuechains_url: str = "http://127.0.0.1:8003"
    portfolio_url: str = "http://127.0.0.1:8001"
    principles_url: str = "http://127.0.0.1:8002"
    upstream_connect_timeout: float = 1.0
    upstream_timeout: float = 10.0

    # The service's own identity for work no person asked for (following change feeds): in
    # production short-lived tokens by OAuth2 client credentials from the identity provider,
    # renewed before they expire (services.chassis.credentials); in development signed with the
    # development key, for this many seconds.
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = Field(default=None, repr=False)
    oauth_client_secret_file: Path | None = None
    oauth_scope: str | None = None
    service_token_lifetime_seconds: int = Field(default=600, ge=1)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Of the traces that start here (no caller's decision to follow), the share kept when spans are
    # exported (services.chassis.telemetry); nothing is recorded while nothing exports.
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def partner_scopes_in_force(self) -> dict[str, PartnerScope]:
        """The configured partner scopes; unset, the demo's in development and none elsewhere."""
        if self.partner_scopes is not None:
            return self.partner_scopes
        return demo_scopes() if self.is_development else {}

    @property
    def dev_key_path(self) -> Path:
        return self.var_dir / "dev-signing-key.pem"

    def dev_key_ring(self) -> KeyRing:
        """The development signing keys: the development key and the keys that replaced it."""
        return KeyRing(self.dev_key_path, self.var_dir / ROTATED_KEYS_DIR, self.signing_key_grace_seconds)

    def oauth_secret(self) -> str:
        """The client secret, from the environment or the mounted file it names."""
        if self.oauth_client_secret_file is not None:
            return self.oauth_client_secret_file.read_text().strip()
        return self.oauth_client_secret or ""

    SEVERAL_INSTANCES: ClassVar[bool] = False
    """Whether ``IV_<SERVICE>_URL`` may name several instances: only the gateway balances over
    them; every other process reaches a service through one URL (a Kubernetes Service, or the
    gateway's prefix)."""

    @field_validator("valuechains_url", "portfolio_url", "principles_url")
    @classmethod
    def _service_urls(cls, value: str, info: ValidationInfo) -> str:
        variable = f"IV_{str(info.field_name).upper()}"
        urls = instance_urls(variable, value)
        if len(urls) > 1 and not cls.SEVERAL_INSTANCES:
            raise ValueError(
                f"{variable} names {len(urls)} URLs: only the gateway balances over several instances; "
                "a service reaches another through one (a Kubernetes Service, or the gateway's prefix)"
            )
        return ",".join(urls)

    def upstreams(self) -> dict[str, str]:
        """Public prefix (``/valuechains``) to base URL of the owning service."""
        return {f"/{name}": getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}

    @model_validator(mode="after")
    def _refuse_development_defaults(self) -> CommonSettings:
        if not self.is_development and not self.jwks_url:
            raise ValueError(
                "IV_JWKS_URL must be set outside development: the generated development "
                "signing key is not a production secret"
            )
        return self


class ServiceSettings(CommonSettings):
    """Settings of one domain service."""

    # Variables read per service as ``IV_<SERVICE>_<NAME>`` (``for_service``), so one process can
    # act for several services (a migration job) while each has a database of its own.
    PER_SERVICE: ClassVar[tuple[str, ...]] = ("database_url", "database_password_file")

    service: str = "service"
    database_url: str = ""
    # The database password as a file (a mounted secret), so the URL carries none: it is set into
    # the URL as its password, replacing any the URL has.
    database_password_file: Path | None = None
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # How long a key stays "in flight" before a retry may take it over (a request that died). A
    # request that is merely slow and loses its key this way is undone, not done twice.
    idempotency_in_flight_seconds: int = Field(default=120, ge=1)
    # Every instance beats this often; one silent for instance_lost_seconds is taken for dead, and
    # the keys it held in flight are free for a retry at once.
    instance_heartbeat_seconds: float = Field(default=2.0, gt=0)
    instance_lost_seconds: float = Field(default=6.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    # Work the service does on its own (sweeping expired idempotency keys, following feeds). Off
    # where something else drives it, e.g. tests that run every request in one rolled-back
    # transaction on a single connection, which a concurrent task must not share.
    background_tasks: bool = True

    # The live change stream (services.chassis.change_stream): how often it looks for new events,
    # how often a quiet stream sends a heartbeat, and how many streams one caller may hold open at
    # once in one process.
    stream_poll_seconds: float = Field(default=0.5, gt=0)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_max_per_caller: int = Field(default=3, ge=1)

    # The audit feed's signing key (Ed25519, PEM): a file from a mounted secret, never the
    # database. Development generates one per service into var_dir; a service refuses to start
    # outside development without it. Public keys of earlier signing keys stay published (and
    # verify the checkpoints they signed) while listed in audit_public_key_files.
    audit_signing_key_file: Path | None = None
    audit_public_key_files: list[Path] = []
    # A signed checkpoint of the feed's head after this many new events, or this many seconds
    # after the last one when the feed moved at all; the head is looked at every poll.
    audit_checkpoint_every_events: int = Field(default=100, ge=1)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    audit_poll_seconds: float = Field(default=1.0, gt=0)
    # How often this service records the other services' newest signed checkpoints (witnesses).
    audit_witness_seconds: float = Field(default=30.0, gt=0)
    # A verification that ended this recently answers callers who arrive after it (they see its
    # verified_at), so auditors asking in a loop cost one run per window, not one run after another.
    audit_verify_reuse_seconds: float = Field(default=2.0, ge=0)

    @property
    def audit_key_path(self) -> Path:
        """The signing key: the mounted file, or in development one generated per service."""
        if self.audit_signing_key_file is not None:
            return self.audit_signing_key_file
        return self.var_dir / f"audit-signing-key-{self.service}.pem"

    @classmethod
    def for_service(cls, service: str, **overrides: object) -> Self:
        """Settings for ``service``; ``IV_<SERVICE>_DATABASE_URL`` (and the other ``PER_SERVICE``
        names) win over ``IV_DATABASE_URL``."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        values: dict[str, object] = {"service": service}
        for name in cls.PER_SERVICE:
            value = os.environ.get(f"IV_{service.upper()}_{name.upper()}")
            if value:
                values[name] = value
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _default_database(self) -> ServiceSettings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{self.var_dir / (self.service + '.db')}")
        if self.database_password_file is not None:
            object.__setattr__(
                self, "database_url", _with_password(self.database_url, self.database_password_file.read_text().strip())
            )
        if self.environment == "production":
            password = _password_of(self.database_url)
            if password is not None and password in DEFAULT_PASSWORDS:
                raise ValueError("the database URL uses a default password; refusing to start")
            if not (
                self.oauth_token_url
                and self.oauth_client_id
                and (self.oauth_client_secret or self.oauth_client_secret_file)
            ):
                raise ValueError(
                    "a service needs its own credentials outside development: set IV_OAUTH_TOKEN_URL, "
                    "IV_OAUTH_CLIENT_ID and IV_OAUTH_CLIENT_SECRET (or IV_OAUTH_CLIENT_SECRET_FILE)"
                )
        return self


S = TypeVar("S", bound=ServiceSettings)


def settings_as(settings: ServiceSettings, cls: type[S]) -> S:
    """``settings`` as the service's own settings class ``cls``, so its own fields are typed.

    An app's settings already are (``service_factory`` makes them so); settings given as the chassis's
    base class (the command line's seed, a test) are completed from the environment.
    """
    if isinstance(settings, cls):
        return settings
    return cls(**settings.model_dump())


def _password_of(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(url).password


def _with_password(url: str, password: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)
