"""Token verification at its edges: what an attacker, or a misbehaving identity provider, can send,
and what the verifier, the trusted keys and the service's own credentials make of it: algorithms
that do not fit their key, keys the token brings along, time and audience claims of the wrong type
or range, a lifetime over the maximum, roles, clearance and partner claims, the Authorization
header's forms, a JWKS or token answer that is not JSON."""

from __future__ import annotations

import base64
import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from services.chassis.auth import TokenVerifier, principal_from_claims, principal_in
from services.chassis.credentials import ServiceCredentials
from services.chassis.errors import ServiceUnavailable, Unauthenticated
from services.chassis.settings import CommonSettings
from tests.conftest import Suite
from tests.support import client_for

ISSUER = "https://idp.politie.example"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token anyone can make: any header, any claims, a signature that is no signature."""
    return f"{_b64(header)}.{_b64(claims)}.{base64.urlsafe_b64encode(b'x' * 64).rstrip(b'=').decode()}"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "iv-platform-dev",
        "aud": "iv-platform",
        "sub": "u-edges",
        "roles": ["reader"],
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


def _signed(settings: CommonSettings, claims: dict[str, Any]) -> str:
    """``claims`` signed with the development ring's key as they are (PyJWT's encode refuses some)."""
    key = settings.dev_key_ring().current()
    signing_input = f"{_b64({'alg': 'ES256', 'typ': 'JWT', 'kid': key.kid})}.{_b64(claims)}".encode()
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(signing_input, key.private)
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _dev_settings(var_dir: Path, **extra: Any) -> CommonSettings:
    return CommonSettings(var_dir=var_dir, jwt_leeway_seconds=0, **extra)


class IdentityProvider:
    """A JWKS endpoint whose answer a test can change (``body``), serving an RSA and an EC key."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        self.body = json.dumps(
            {
                "keys": [
                    {**rsa_jwk, "kid": "idp-rsa", "use": "sig", "alg": "RS256"},
                    {**ec_jwk, "kid": "idp-ec", "use": "sig", "alg": "ES256"},
                ]
            }
        ).encode()
        self.content_type = "application/json"
        self.url = ""

    def settings(self, tmp_path: Path, **extra: Any) -> CommonSettings:
        return CommonSettings(environment="production", jwks_url=self.url, jwt_issuer=ISSUER, var_dir=tmp_path, **extra)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return _claims(iss=ISSUER, **overrides)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", provider.content_type)
            self.end_headers()
            self.wfile.write(provider.body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


# --- Bugs -------------------------------------------------------------------------------------


async def test_a_forged_token_whose_alg_does_not_fit_the_development_key_is_401(var_dir: Path) -> None:
    """Bug: ``{"alg": "RS256", "kid": <the ring's EC key>}`` with any signature made the verifier
    raise TypeError ("Expecting a PEM-formatted key", from PyJWT given an EC key for RS256): a 500
    for an unauthenticated request, instead of 401."""
    settings = _dev_settings(var_dir)
    verifier = TokenVerifier(settings)
    kid = settings.dev_key_ring().current().kid
    for header in ({"alg": "RS256", "kid": kid}, {"alg": "RS256"}):
        with pytest.raises(Unauthenticated):
            await verifier.verify(_forged(header, _claims()))


async def test_a_token_whose_alg_does_not_fit_the_key_its_kid_names_is_401(
    idp: IdentityProvider, tmp_path: Path
) -> None:
    """Bug: in production, with RS256 and ES256 keys published (both are accepted), a token naming
    the RSA key with ``alg: ES256`` (or the EC key with RS256) raised TypeError: 500, not 401. The
    well-formed tokens of both keys verify."""
    verifier = TokenVerifier(idp.settings(tmp_path))
    claims = idp.claims()
    assert (await verifier.verify(jwt.encode(claims, idp.rsa, "RS256", headers={"kid": "idp-rsa"}))).sub == "u-edges"
    assert (await verifier.verify(jwt.encode(claims, idp.ec, "ES256", headers={"kid": "idp-ec"}))).sub == "u-edges"
    for header in ({"alg": "ES256", "kid": "idp-rsa"}, {"alg": "RS256", "kid": "idp-ec"}):
        with pytest.raises(Unauthenticated):
            await verifier.verify(_forged(header, claims))


async def test_a_forged_token_with_a_mismatched_alg_is_401_at_a_service(suite: Suite) -> None:
    """Bug (as a client sees it): the mismatched token of the first test answered 500."""
    settings = suite.apps["valuechains"].state.settings
    forged = _forged({"alg": "RS256", "kid": settings.dev_key_ring().current().kid}, _claims())
    async with suite.client("valuechains", {"Authorization": f"Bearer {forged}"}) as client:
        answer = await client.get("/v1/chains")
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_jwks_answer_that_is_not_json_keeps_the_keys_held(idp: IdentityProvider, tmp_path: Path) -> None:
    """Bug: "A fetch that fails keeps the keys already held" (section 5) held for a provider that
    is unreachable or answers an HTTP error, not for one that answers 200 with something that is
    not JSON (a maintenance page, a captive proxy): PyJWKClient.fetch_data lets the
    JSONDecodeError through, TrustedKeys does not catch it, and every request once the JWKS's
    lifespan has passed, or naming an unknown kid, failed with it (500) while the provider was so."""
    verifier = TokenVerifier(idp.settings(tmp_path, token_cache_size=0))
    clock = [0.0]
    verifier.keys.clock = lambda: clock[0]
    token = jwt.encode(idp.claims(), idp.rsa, "RS256", headers={"kid": "idp-rsa"})
    assert (await verifier.verify(token)).sub == "u-edges"
    idp.body, idp.content_type = b"<html><body>Onderhoud</body></html>", "text/html"
    clock[0] += verifier.settings.jwks_cache_seconds + 10  # the JWKS is due to be fetched again
    assert (await verifier.verify(token)).sub == "u-edges", "the keys held still verify"
    clock[0] += verifier.settings.jwks_refetch_seconds + 1
    with pytest.raises(Unauthenticated):
        await verifier.verify(jwt.encode(idp.claims(), idp.rsa, "RS256", headers={"kid": "idp-new"}))


async def test_a_first_jwks_answer_that_is_not_json_is_401(idp: IdentityProvider, tmp_path: Path) -> None:
    """Bug: with no keys held yet, a JWKS answer that is not JSON is a JSONDecodeError (500)
    instead of the 401 "could not be fetched" an unreachable provider gets."""
    idp.body, idp.content_type = b"<html></html>", "text/html"
    verifier = TokenVerifier(idp.settings(tmp_path))
    with pytest.raises(Unauthenticated):
        await verifier.verify(jwt.encode(idp.claims(), idp.rsa, "RS256", headers={"kid": "idp-rsa"}))


async def test_a_token_that_has_lived_longer_than_the_maximum_is_refused(var_dir: Path) -> None:
    """Bug: section 5 refuses a token "living longer than IV_JWT_MAX_LIFETIME_SECONDS (24 h)", but
    only ``exp`` was compared, with now + 24 h: a token issued for a week (or ten years) verified
    in its last day. A token's life is ``exp - iat``."""
    settings = _dev_settings(var_dir)
    verifier = TokenVerifier(settings)
    now = int(time.time())
    week = settings.dev_key_ring().sign(_claims(iat=now - 6 * 24 * 3600, exp=now + 3600))
    with pytest.raises(Unauthenticated):
        await verifier.verify(week)
    # A token of a normal life, a while into it, still verifies.
    day = settings.dev_key_ring().sign(_claims(iat=now - 20 * 3600, exp=now + 3600))
    assert (await verifier.verify(day)).sub == "u-edges"


@pytest.mark.parametrize(
    "body",
    [
        b'{"access_token": "t", "token_type": "Bearer", "expires_in": 0}',
        b'{"access_token": "t", "token_type": "Bearer", "expires_in": -30}',
        b"<html><body>Onderhoud</body></html>",
        b'["t"]',
    ],
    ids=["expires_in 0", "expires_in negative", "not JSON", "not an object"],
)
async def test_a_token_answer_that_is_no_usable_token_is_the_provider_failing(tmp_path: Path, body: bytes) -> None:
    """Bug: an identity provider's answer with ``expires_in: 0`` passed the check (an int); authlib
    then sets no ``expires_at`` and ``principal`` failed with KeyError, and the token kept after
    that failure is one ``is_expired`` answers None for: used, never renewed, from then on. A
    negative ``expires_in`` gave a token already expired. An answer that is not JSON, or not an
    object, raised ValueError / AttributeError. Each is the provider failing (503), and the next
    call asks again."""
    settings = CommonSettings(
        var_dir=tmp_path, oauth_token_url="https://idp.example/token", oauth_client_id="c", oauth_client_secret="s"
    )
    asked = [0]

    def answer(request: httpx2.Request) -> httpx2.Response:
        asked[0] += 1
        return httpx2.Response(200, content=body, headers={"Content-Type": "application/json"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as client:
        credentials = ServiceCredentials(settings, "valuechains", client)
        for _ in range(2):
            with pytest.raises(ServiceUnavailable):
                await credentials.principal()
    assert asked[0] == 2, "no such answer is kept"


# --- Behaviour checked (passes) ---------------------------------------------------------------


async def test_an_hmac_token_keyed_with_the_published_public_key_is_refused(
    idp: IdentityProvider, tmp_path: Path
) -> None:
    """Algorithm confusion: HS256 with the provider's public key (PEM, or its JWK's modulus) as
    the secret, naming the provider's kid."""
    verifier = TokenVerifier(idp.settings(tmp_path))
    pem = idp.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    claims = idp.claims(roles=["admin"])
    for alg in ("HS256", "HS384", "HS512"):
        header = {"alg": alg, "kid": "idp-rsa", "typ": "JWT"}
        signing_input = f"{_b64(header)}.{_b64(claims)}".encode()
        signature = jwt.algorithms.HMACAlgorithm(getattr(jwt.algorithms.HMACAlgorithm, f"SHA{alg[2:]}")).sign(
            signing_input, pem
        )
        token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        with pytest.raises(Unauthenticated, match="not accepted"):
            await verifier.verify(token)
    odd: tuple[object, ...] = ("none", "None", "NONE", "", None, ["ES256"], "ES256 ", "PS256", "ES384", "EdDSA")
    for odd_alg in odd:
        with pytest.raises(Unauthenticated):
            await verifier.verify(_forged({"alg": odd_alg, "kid": "idp-rsa"}, claims))


async def test_a_key_the_token_brings_along_is_never_trusted(var_dir: Path) -> None:
    """``jwk``, ``jku``, ``x5u`` in the header are ignored: only the ring's (or the JWKS's) keys
    verify, whatever the token names."""
    settings = _dev_settings(var_dir)
    verifier = TokenVerifier(settings)
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key()))
    claims = _claims(roles=["admin"], clearance="secret")
    for headers in (
        {"jwk": jwk},
        {"jwk": jwk, "kid": "attacker"},
        {"jku": "http://127.0.0.1:9/jwks.json", "kid": "attacker"},
        {"x5u": "http://127.0.0.1:9/cert.pem"},
    ):
        with pytest.raises(Unauthenticated):
            await verifier.verify(jwt.encode(claims, attacker, "ES256", headers=headers))


async def test_a_key_past_its_grace_verifies_no_token(tmp_path: Path) -> None:
    """A rotated-out key's token is refused once the key is no longer published, whether the token
    names the key or names none (the development ring tries only the published keys)."""
    settings = _dev_settings(tmp_path / "var", signing_key_grace_seconds=3600)
    ring = settings.dev_key_ring()
    old = ring.current()
    named = ring.sign(_claims())
    unnamed = jwt.encode(_claims(), old.private, "ES256")
    ring.rotate()
    assert (await TokenVerifier(settings).verify(named)).sub == "u-edges", "within its grace"
    successor = sorted((tmp_path / "var" / "signing-keys").glob("*.pem"))[-1]
    past = time.time() - 2 * 3600
    os.utime(successor, (past, past))  # the successor was made two hours ago: the grace is over
    assert old.kid not in [k["kid"] for k in ring.jwks()["keys"]]
    verifier = TokenVerifier(settings)
    for token in (named, unnamed):
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("iat in the future", {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}),
        ("nbf in the future", {"nbf": int(time.time()) + 3600}),
        ("exp as a string", {"exp": str(int(time.time()) + 300)}),
        ("exp true", {"exp": True}),
        ("exp huge", {"exp": 1e300}),
        ("exp infinite", {"exp": float("inf")}),
        ("exp nan", {"exp": float("nan")}),
        ("exp a list", {"exp": [int(time.time()) + 300]}),
        ("iat a string", {"iat": "yesterday"}),
        ("no exp", {"exp": ...}),
        ("no aud", {"aud": ...}),
        ("no iss", {"iss": ...}),
        ("aud a list without ours", {"aud": ["another-api", "iv-platform-test"]}),
        ("aud empty", {"aud": []}),
        ("iss a list", {"iss": ["iv-platform-dev"]}),
        ("no sub", {"sub": ...}),
        ("sub a number", {"sub": 42}),
        ("sub empty", {"sub": ""}),
        ("sub blank", {"sub": " \t"}),
        ("roles a mapping", {"roles": {"admin": True}}),
        ("roles not strings", {"roles": ["reader", 1]}),
        ("clearance in another case", {"clearance": "Secret"}),
        ("clearance unknown", {"clearance": "cosmic"}),
        ("clearance a list", {"clearance": ["secret"]}),
        ("clearance empty", {"clearance": ""}),
        ("partner beside another role, as a string", {"roles": "partner admin", "partner_org": "OM"}),
        ("partner beside an unknown role", {"roles": ["partner", "superuser"], "partner_org": "OM"}),
        ("partner_org without the role (its name in capitals)", {"roles": ["PARTNER"], "partner_org": "OM"}),
        ("partner_org blank", {"roles": ["partner"], "partner_org": "  "}),
        ("partner_org not a string", {"roles": ["partner"], "partner_org": ["OM"]}),
        ("partner_org empty beside admin", {"roles": ["admin"], "partner_org": ""}),
    ],
)
async def test_claims_of_the_wrong_kind_are_401(var_dir: Path, name: str, overrides: dict[str, Any]) -> None:
    """Signed with the trusted key, and still refused: PyJWT's own claim checks (times as numbers,
    iat and nbf not in the future, aud and iss) and ``principal_from_claims``'s."""
    settings = _dev_settings(var_dir)
    token = _signed(settings, _claims(**overrides))
    with pytest.raises(Unauthenticated):
        await TokenVerifier(settings).verify(token)


async def test_an_audience_list_naming_ours_is_accepted(var_dir: Path) -> None:
    """RFC 7519 4.1.3 (PyJWT's default): a token for several audiences, ours among them."""
    settings = _dev_settings(var_dir)
    token = settings.dev_key_ring().sign(_claims(aud=["another-api", "iv-platform"]))
    assert (await TokenVerifier(settings).verify(token)).sub == "u-edges"


def test_claims_that_are_not_understood_give_no_more_access() -> None:
    """Unknown roles are dropped (none left: 403 in principal_of); a unit or name that is not a
    string is absent; no clearance is internal."""
    principal = principal_from_claims(
        {"sub": "u", "roles": ["Admin", "ADMIN", "reader ", "superuser"], "unit": ["Eenheid Utrecht"], "name": 7}, "t"
    )
    assert (principal.roles, principal.unit, principal.name, principal.clearance) == (
        frozenset(),
        None,
        None,
        "internal",
    )
    assert not principal.is_admin
    partner = principal_from_claims({"sub": "u", "roles": ["partner", "partner"], "partner_org": "OM"}, "t")
    assert (partner.roles, partner.partner_org) == (frozenset({"partner"}), "OM")


async def test_a_token_cached_by_one_audiences_verifier_is_refused_by_anothers(var_dir: Path) -> None:
    settings = _dev_settings(var_dir)
    token = settings.dev_key_ring().sign(_claims())
    assert (await TokenVerifier(settings).verify(token)).sub == "u-edges"
    other = TokenVerifier(_dev_settings(var_dir, jwt_audience="another-api"))
    with pytest.raises(Unauthenticated, match="another audience"):
        await other.verify(token)


def _scope(verifier: TokenVerifier, *authorizations: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/v1/chains",
        "query_string": b"",
        "headers": [(b"authorization", value) for value in authorizations],
        "app": SimpleNamespace(state=SimpleNamespace(verifier=verifier)),
    }


async def test_the_authorization_header_is_read_one_way(var_dir: Path) -> None:
    """The scheme in any case and spaces around the token are accepted; anything else is 401.
    With two Authorization headers the first is the caller (the gateway forwards both, in order,
    and the service reads the first too)."""
    settings = _dev_settings(var_dir)
    verifier = TokenVerifier(settings)
    token = settings.dev_key_ring().sign(_claims())
    other = settings.dev_key_ring().sign(_claims(sub="u-other", roles=["admin"]))
    for value in (f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer    {token}  "):
        principal = await principal_in(_scope(verifier, value.encode()))
        assert (principal.sub, principal.token) == ("u-edges", token)
    assert (await principal_in(_scope(verifier, f"Bearer {token}".encode(), f"Bearer {other}".encode()))).sub == (
        "u-edges"
    )
    for value in (f"Bearer\t{token}", f"Basic {token}", f"Bearer{token}", "Bearer ", "Bearer", f"Token {token}"):
        with pytest.raises(Unauthenticated):
            await principal_in(_scope(verifier, value.encode()))
    with pytest.raises(Unauthenticated):
        await principal_in(_scope(verifier))


async def test_the_gateway_and_the_service_read_an_odd_authorization_header_alike(
    suite: Suite, suite_gateway: FastAPI
) -> None:
    """The gateway checks the token and forwards the header as it came: the service accepts what
    the gateway accepted, and what the gateway refuses never reaches it."""
    settings = suite.apps["valuechains"].state.settings
    token = settings.dev_key_ring().sign(
        _claims(iss=settings.jwt_issuer, aud=settings.jwt_audience, exp=int(time.time()) + 600)
    )
    async with client_for(suite_gateway) as gateway, suite.client("valuechains") as service:
        for value, status in ((f"bearer   {token}", 200), (f"Bearer\t{token}", 401), (f"Bearer {token}x", 401)):
            assert (await gateway.get("/valuechains/v1/chains", headers={"Authorization": value})).status_code == status
            assert (await service.get("/v1/chains", headers={"Authorization": value})).status_code == status
