"""Bearer JWT authentication, roles and need-to-know clearance.

Production verifies RS256/ES256 tokens with keys from the organisation's JWKS URL, following a key
rollover there (``TrustedKeys``, services/chassis/signing_keys.py). Development signs and verifies
with the development key ring generated into ``var/`` on first use (or through the development
identity provider's JWKS, as ``make run`` does); ``make token`` prints a token signed with it.
Services and the gateway verify every token; calls between services forward the caller's token,
so access follows the person.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, Required, TypedDict, Unpack

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import Scope

from services.chassis import partners
from services.chassis.errors import Forbidden, Unauthenticated
from services.chassis.settings import CommonSettings
from services.chassis.signing_keys import TrustedKeys

ROLE_DUTIES: dict[str, str] = {
    "reader": "reads everything not classified above their clearance (every role reads)",
    "auditor": "reads as a reader, verifies the change feeds and reads what each service witnessed; writes nothing",
    "contributor": "registers and updates the EBOs of their own unit (the token's `unit`)",
    "portfolio_manager": "programmes, initiatives, rounds, EBO decisions and archiving",
    "chain_owner": "the chains they own (their `sub`), with those chains' teams, allocations and applications",
    "architect": "principles, assessments, explanations (approving: never their own) and simplicity reviews",
    "admin": "everything; creating chains and reassigning their owners",
    "partner": "a chain partner (the token's `partner_org`): reads only what its scope names; writes nothing",
}
"""What each role may do, as the explorer's description lists it (docs/architecture.md section 5)."""
ROLES: tuple[str, ...] = tuple(ROLE_DUTIES)
AUDITOR_ROLES: tuple[str, ...] = ("auditor",)
"""Who may verify the audit feed and read what a service witnessed (and admin, as always). An
auditor reads everything they are cleared for and writes nothing: no write admits the role."""
CLEARANCES: tuple[str, ...] = ("public", "internal", "confidential", "secret")
ALGORITHMS = ["RS256", "ES256"]


def clearance_rank(level: str | None) -> int:
    """Position of a classification or clearance level; unknown counts as internal."""
    return CLEARANCES.index(level) if level in CLEARANCES else CLEARANCES.index("internal")


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified token."""

    sub: str
    roles: frozenset[str]
    unit: str | None = None
    clearance: str = "internal"
    name: str | None = None
    token: str = field(default="", repr=False)
    expires_at: float | None = None
    """The token's ``exp`` (seconds since the epoch): what lasts, such as a change stream, ends then."""
    partner_org: str | None = None
    """A chain partner's organisation (``partner`` role tokens only, which carry no other role)."""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        """True when the caller holds one of ``roles``; admin may do everything."""
        return self.is_admin or any(role in self.roles for role in roles)

    @property
    def authorization(self) -> dict[str, str]:
        """The header that forwards this caller's token to another service."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class Person(TypedDict, total=False):
    """Whose token to issue: what ``make token`` and the development token issuer are told."""

    sub: Required[str]
    roles: Required[list[str]]
    unit: str | None
    clearance: str | None
    name: str | None
    partner_org: str | None
    ttl: dt.timedelta
    """12 hours when not given."""


def issue_dev_token(settings: CommonSettings, **person: Unpack[Person]) -> str:
    """A token signed with the development key (development mode only)."""
    if not settings.is_development:
        raise RuntimeError("development tokens are only issued in development mode")
    claims = person_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, **person)
    return settings.dev_key_ring().sign(claims)


def person_claims(*, issuer: str, audience: str, **person: Unpack[Person]) -> dict[str, Any]:
    """The claims of a person's token as the services read them (``principal_from_claims``), times
    in whole seconds; unknown roles or clearances are refused. The development key and the
    development token issuer (deploy/devissuer) sign the same claims."""
    roles, clearance = person["roles"], person.get("clearance")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {', '.join(ROLES)}")
    if clearance is not None and clearance not in CLEARANCES:
        raise ValueError(f"unknown clearance {clearance!r}; known: {', '.join(CLEARANCES)}")
    problem = partner_problem(roles, person.get("partner_org"))
    if problem:
        raise ValueError(problem)
    now = time.time()
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": person["sub"],
        "roles": roles,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + person.get("ttl", dt.timedelta(hours=12)).total_seconds()),
    }
    for key in ("unit", "clearance", "name", "partner_org"):
        value = person.get(key)
        if value is not None:
            claims[key] = value
    return claims


class VerifiedTokens:
    """Tokens already verified, so a caller's next request skips the signature check.

    Keyed by the SHA-256 of the whole token (never a prefix, never the token itself), bounded to
    ``size`` entries (the least recently used goes first), and an entry is served only while the
    token's own ``exp`` has not passed: never beyond what the token itself allows. ``size`` 0 keeps
    nothing.
    """

    def __init__(self, size: int, clock: Callable[[], float] = time.time) -> None:
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, token: str) -> Principal | None:
        key = self.key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        exp, principal = entry
        if self.clock() >= exp:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return principal

    def put(self, token: str, exp: float, principal: Principal) -> None:
        if self.size <= 0:
            return
        key = self.key(token)
        self._entries[key] = (exp, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class TokenVerifier:
    """Verifies bearer tokens against the trusted keys (``TrustedKeys``): the configured JWKS, or in
    development the development key ring; tokens it has verified are remembered until they expire
    (``VerifiedTokens``)."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.verified = VerifiedTokens(settings.token_cache_size)
        fetch: Callable[[], dict[str, Any]]
        if settings.jwks_url:
            client = jwt.PyJWKClient(settings.jwks_url, cache_jwk_set=False, timeout=5)
            fetch = client.fetch_data
        else:
            fetch = settings.dev_key_ring().jwks
        self.keys = TrustedKeys(
            fetch, lifespan=settings.jwks_cache_seconds, refetch_interval=settings.jwks_refetch_seconds
        )
        # Only the development ring is trusted for a token naming no key (make token's before kids).
        self._kid_required = bool(settings.jwks_url)

    async def _keys_for(self, header: dict[str, Any]) -> list[Any]:
        kid = header.get("kid")
        if kid is None and self._kid_required:
            raise Unauthenticated("invalid token: its header names no signing key (kid)")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("invalid token: its kid is not a string")
        try:
            keys = await self.keys.keys_for(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated("the token's signing keys could not be fetched") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token's signing keys could not be read: {exc}") from exc
        if not keys:
            raise Unauthenticated("invalid token: it is signed with a key the identity provider does not publish")
        # A key verifies only with its own algorithm: an RS256 header naming an EC key (or ES256 an
        # RSA key) is refused here, not left to PyJWT, which raises TypeError for such a pair.
        fitting = [key.key for key in keys if key.algorithm_name == header["alg"]]
        if not fitting:
            raise Unauthenticated(f"invalid token: its algorithm {header['alg']!r} is not that of its signing key")
        return fitting

    async def verify(self, token: str) -> Principal:
        cached = self.verified.get(token)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not accepted")
        keys = await self._keys_for(header)
        try:
            claims = self._decode(token, keys)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("the token is from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        exp, iat = claims.get("exp"), claims.get("iat")
        longest = self.settings.jwt_max_lifetime_seconds + self.settings.jwt_leeway_seconds
        if (
            not isinstance(exp, int | float)
            or exp > time.time() + longest
            or (isinstance(iat, int | float) and exp - iat > longest)  # issued for longer, even if near its end
        ):
            raise Unauthenticated(
                f"the token lives longer than the {self.settings.jwt_max_lifetime_seconds} seconds accepted"
            )
        principal = principal_from_claims(claims, token)
        self.verified.put(token, float(exp), principal)
        return principal

    def _decode(self, token: str, keys: list[Any]) -> dict[str, Any]:
        """The token's claims, checked with the one key it names (or, naming none, with each key of
        the development ring in turn until one signature holds)."""
        for key in keys[:-1]:
            with contextlib.suppress(jwt.InvalidSignatureError):
                return self._decode_with(token, key)
        return self._decode_with(token, keys[-1])

    def _decode_with(self, token: str, key: Any) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=self.settings.jwt_audience,
            issuer=self.settings.jwt_issuer,
            leeway=self.settings.jwt_leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims


def partner_problem(roles: list[str], partner_org: object) -> str | None:
    """Why these claims make no valid token as far as chain partners go, or None: a partner token
    names its organisation and carries no other role (so no other role's right can widen a
    partner's reach), and only a partner token names a partner organisation."""
    if partners.PARTNER_ROLE in roles:
        if not isinstance(partner_org, str) or not partner_org.strip():
            return "a partner token must name its organisation (partner_org)"
        if set(roles) != {partners.PARTNER_ROLE}:
            return "a partner token carries the partner role alone"
    elif partner_org is not None:
        return "only a partner token names a partner organisation (partner_org)"
    return None


def principal_from_claims(claims: dict[str, Any], token: str) -> Principal:
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's roles claim is not a list of strings")
    clearance = claims.get("clearance")
    if clearance is not None and clearance not in CLEARANCES:
        raise Unauthenticated(f"unknown clearance {clearance!r}")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():  # a blank subject names no one to audit
        raise Unauthenticated("the token has no subject")
    partner_org = claims.get("partner_org")
    problem = partner_problem(roles, partner_org)
    if problem:
        raise Unauthenticated(problem)
    return Principal(
        sub=sub,
        roles=frozenset(r for r in roles if r in ROLES),
        unit=claims.get("unit") if isinstance(claims.get("unit"), str) else None,
        clearance=clearance or "internal",
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        token=token,
        expires_at=float(exp) if isinstance(exp := claims.get("exp"), int | float) else None,
        partner_org=partner_org if isinstance(partner_org, str) else None,
    )


MAX_TOKEN_CHARS = 8192
"""A signed token of this platform's identity provider is well under 2 KB; a longer one is refused
before any work is spent on it, and never echoed."""


async def principal_of(request: Request, *, passes_on: bool = False) -> Principal:
    """The verified caller of a request (cached on it); 401 problem without a valid token, 403 when
    the token carries none of the platform's roles or is a chain partner's outside their scope
    (``partners.admit``; ``passes_on``: the gateway passing the request on to the service that
    checks the scope)."""
    return await principal_in(request.scope, passes_on=passes_on, request=request)


async def principal_in(scope: Scope, *, passes_on: bool = False, request: Request | None = None) -> Principal:
    """``principal_of`` from the request's ASGI scope, for an endpoint that makes no ``Request``
    (the gateway's pass-on): the same checks, one made only for a chain partner's token."""
    state: dict[str, Any] = scope.setdefault("state", {})  # what ``request.state`` keeps
    cached = state.get("principal")
    if isinstance(cached, Principal):
        return cached
    authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
    scheme, token = get_authorization_scheme_param(authorization.decode("latin-1") if authorization else None)
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer token is required")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
    verifier: TokenVerifier = scope["app"].state.verifier
    principal = await verifier.verify(token)
    if not principal.roles:
        raise Forbidden("the token carries none of the platform's roles")
    if partners.is_partner(principal):  # a chain partner's scope, before anything else is done
        partners.admit(request or Request(scope), principal, passes_on=passes_on)
    state["principal"] = principal
    return principal


class BearerPrincipal(HTTPBearer):
    """The dependency form of ``principal_of``. Being FastAPI's bearer scheme, it documents the
    token in OpenAPI; being one dependency, not the scheme and a second one that reads it again,
    it costs a request one dependant fewer to solve."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await principal_of(request)


authenticate = BearerPrincipal(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="A JWT from the organisation's identity provider (in development: `make token ROLE=...`).",
)

CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_role(*roles: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only callers holding one of ``roles`` (or admin)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return principal

    return dependency


def add_person_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say whose token to print (``make token`` and the development token issuer)."""
    parser.add_argument("--role", default="reader", help="comma-separated roles")
    parser.add_argument("--sub", default=None)
    parser.add_argument("--unit", default=None)
    parser.add_argument("--clearance", default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--partner", default=None, help="the partner organisation (with --role partner)")
    parser.add_argument("--hours", type=float, default=12)


def person_of(args: argparse.Namespace) -> Person:
    """Whose token, from ``add_person_arguments``'s options."""
    roles = [r.strip() for r in args.role.split(",") if r.strip()]
    return {
        "sub": args.sub or f"dev-{roles[0] if roles else 'user'}",
        "roles": roles,
        "unit": args.unit,
        "clearance": args.clearance,
        "name": args.name,
        "partner_org": args.partner,
        "ttl": dt.timedelta(hours=args.hours),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a development token.")
    add_person_arguments(parser)
    try:
        token = issue_dev_token(CommonSettings(), **person_of(parser.parse_args(argv)))
    except ValueError as exc:  # an unknown role, or a partner without an organisation
        parser.error(str(exc))
    print(token)


if __name__ == "__main__":
    main()
