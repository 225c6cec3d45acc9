"""Authentication at every service: 401 for anything but a valid token, 403 for the wrong role."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.chassis.auth import TokenVerifier, ensure_dev_key
from services.chassis.errors import Unauthenticated
from services.chassis.settings import CommonSettings
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
