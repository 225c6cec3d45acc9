"""Authentication at every service: 401 for anything but a valid token, 403 for the wrong role."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.chassis.auth import Principal, TokenVerifier, VerifiedTokens
from services.chassis.errors import Unauthenticated
from services.chassis.settings import CommonSettings
from services.chassis.signing_keys import ensure_dev_key
from tests.chassis.cases import CASES, Case, case_ids
from tests.conftest import Suite
from tests.support import Tokens


def _claims(**overrides: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "iss": "iv-platform-dev",
        "aud": "iv-platform",
        "sub": "u-tester",
        "roles": ["admin"],
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def dev_key(var_dir: Path) -> ec.EllipticCurvePrivateKey:
    return ensure_dev_key(var_dir / "dev-signing-key.pem")


def _unsigned(claims: dict[str, object]) -> str:
    return jwt.encode(claims, key="", algorithm="none")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("expired", lambda key: jwt.encode(_claims(exp=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)), key, "ES256")),
        ("wrong issuer", lambda key: jwt.encode(_claims(iss="someone-else"), key, "ES256")),
        ("wrong audience", lambda key: jwt.encode(_claims(aud="another-api"), key, "ES256")),
        ("forged", lambda key: jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), "ES256")),
        ("alg none", lambda key: _unsigned(_claims())),
        ("hmac with public key", lambda key: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"),
        ("no expiry", lambda key: jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, key, "ES256")),
        ("garbage", lambda key: "not-a-token"),
    ],
)
@pytest.mark.parametrize("case", CASES, ids=case_ids())
async def test_bad_tokens_get_401(
    suite: Suite, dev_key: ec.EllipticCurvePrivateKey, case: Case, name: str, make: object
) -> None:
    token = make(dev_key)  # type: ignore[operator]
    async with suite.client(case.service, _bearer(token)) as client:
        response = await client.get(case.path)
    assert response.status_code == 401, (name, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", CASES, ids=case_ids())
async def test_no_token_is_401_and_valid_token_reads(suite: Suite, tokens: Tokens, case: Case) -> None:
    async with suite.client(case.service) as anonymous:
        assert (await anonymous.get(case.path)).status_code == 401
    async with suite.client(case.service, tokens("reader")) as reader:
        assert (await reader.get(case.path)).status_code == 200


@pytest.mark.parametrize("case", CASES, ids=case_ids())
async def test_wrong_role_is_403_and_changes_nothing(suite: Suite, tokens: Tokens, case: Case) -> None:
    body = case.body()
    for role in ("reader", "contributor"):
        async with suite.client(case.service, tokens(role)) as client:
            response = await client.post(case.path, json=body)
            assert response.status_code == 403, response.text
            assert response.json()["type"] == "/problems/forbidden"
    async with suite.client(case.service, tokens("admin")) as admin:
        listed = await admin.get(case.path, params={"code": body["code"]})
        assert listed.json()["items"] == []
        created = await admin.post(case.path, json=body)
        assert created.status_code == 201
    async with suite.client(case.service, tokens("reader")) as reader:
        response = await reader.patch(
            f"{case.path}/{created.json()['id']}", json=case.change, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 403
        assert (await reader.delete(f"{case.path}/{created.json()['id']}")).status_code == 403


@pytest.mark.parametrize("case", CASES, ids=case_ids())
async def test_token_without_platform_roles_is_403(
    suite: Suite, dev_key: ec.EllipticCurvePrivateKey, case: Case
) -> None:
    token = jwt.encode(_claims(roles=["something-else"]), dev_key, "ES256")
    async with suite.client(case.service, _bearer(token)) as client:
        assert (await client.get(case.path)).status_code == 403


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """The organisation's identity provider, as far as a service sees it: a JWKS document."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    finally:
        server.shutdown()


async def test_production_verifies_tokens_with_the_identity_providers_keys(
    jwks_server: tuple[str, rsa.RSAPrivateKey], tmp_path: Path
) -> None:
    url, key = jwks_server
    settings = CommonSettings(
        environment="production", jwks_url=url, jwt_issuer="https://idp.politie.example", var_dir=tmp_path
    )
    verifier = TokenVerifier(settings)
    claims = _claims(iss="https://idp.politie.example", roles=["architect"], clearance="secret", unit="Eenheid Utrecht")

    principal = await verifier.verify(jwt.encode(claims, key, "RS256", headers={"kid": "idp-1"}))
    assert (principal.sub, principal.roles, principal.clearance, principal.unit) == (
        "u-tester",
        frozenset({"architect"}),
        "secret",
        "Eenheid Utrecht",
    )

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        jwt.encode(claims, other, "RS256", headers={"kid": "idp-1"}),  # not the provider's key
        jwt.encode({**claims, "iss": "iv-platform-dev"}, key, "RS256", headers={"kid": "idp-1"}),
        jwt.encode(claims, key, "RS256", headers={"kid": "unknown-key"}),
    ):
        with pytest.raises(Unauthenticated):
            await verifier.verify(bad)
    # The development key is not accepted in production.
    assert not (tmp_path / "dev-signing-key.pem").exists()


async def test_a_token_that_lives_for_ever_is_refused(suite: Suite, var_dir: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    claims = {"iss": "iv-platform-dev", "aud": "iv-platform", "sub": "u", "roles": ["reader"], "iat": now}
    key = ensure_dev_key(var_dir / "dev-signing-key.pem")
    forever = jwt.encode({**claims, "exp": now + dt.timedelta(days=3650)}, key, "ES256")
    day = jwt.encode({**claims, "exp": now + dt.timedelta(hours=23)}, key, "ES256")
    async with suite.client("valuechains") as client:
        assert (await client.get("/v1/chains", headers={"Authorization": f"Bearer {forever}"})).status_code == 401
        assert (await client.get("/v1/chains", headers={"Authorization": f"Bearer {day}"})).status_code == 200


def _dev_verifier(var_dir: Path, **settings: object) -> TokenVerifier:
    return TokenVerifier(CommonSettings(var_dir=var_dir, jwt_leeway_seconds=0, **settings))  # type: ignore[arg-type]


async def test_a_verified_token_is_remembered_until_it_expires(
    var_dir: Path, dev_key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = _dev_verifier(var_dir)
    token = jwt.encode(_claims(), dev_key, "ES256")
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first = await verifier.verify(token)
    again = await verifier.verify(token)
    assert again == first
    assert decoded == [token]  # the signature was checked once
    # Once the token's own exp has passed, the cache serves it no more: it is verified again, and
    # refused as any expired token is.
    verifier.verified.clock = lambda: float(jwt.decode(token, options={"verify_signature": False})["exp"])
    monkeypatch.setattr(jwt, "decode", real_decode)
    assert verifier.verified.get(token) is None
    assert len(verifier.verified) == 0


async def test_an_expired_token_is_not_served_from_the_cache(
    var_dir: Path, dev_key: ec.EllipticCurvePrivateKey
) -> None:
    verifier = _dev_verifier(var_dir)
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode(_claims(iat=now, exp=now + dt.timedelta(seconds=2)), dev_key, "ES256")
    await verifier.verify(token)
    assert len(verifier.verified) == 1
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, exp - dt.datetime.now(dt.UTC).timestamp()) + 0.05)  # past its exp
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)
    assert len(verifier.verified) == 0


async def test_a_different_token_with_the_same_prefix_is_verified_on_its_own(
    var_dir: Path, dev_key: ec.EllipticCurvePrivateKey
) -> None:
    verifier = _dev_verifier(var_dir)
    token = jwt.encode(_claims(), dev_key, "ES256")
    await verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(Unauthenticated):
        await verifier.verify(forged)
    other_claims = jwt.encode(_claims(roles=["reader"], sub="u-other"), dev_key, "ES256")
    assert (await verifier.verify(other_claims)).sub == "u-other"


def test_the_token_cache_is_bounded() -> None:
    cache = VerifiedTokens(2, clock=lambda: 0.0)
    principals = [Principal(sub=f"u{n}", roles=frozenset({"reader"})) for n in range(3)]
    for n, principal in enumerate(principals):
        cache.put(f"token-{n}", 100.0, principal)
    assert len(cache) == 2
    assert cache.get("token-0") is None  # the least recently used went first
    assert cache.get("token-2") == principals[2]
    assert len(VerifiedTokens(0)) == 0
    off = VerifiedTokens(0)
    off.put("token", 100.0, principals[0])
    assert off.get("token") is None
