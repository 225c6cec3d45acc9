"""The development token issuer (deploy/devissuer): discovery and keys, the client-credentials grant
and its errors, a person's token, the services accepting both kinds, and the rule that it never
runs with production settings."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from pydantic import ValidationError

from deploy.devissuer.__main__ import main as issuer_main
from deploy.devissuer.__main__ import person_token
from deploy.devissuer.app import create_app
from deploy.devissuer.settings import IssuerSettings
from services.chassis.auth import ALGORITHMS
from tests.conftest import AppCache, build_suite
from tests.support import served

ISSUER = "http://issuer.test"
CLIENT_ID = "iv-platform-services"
SECRET = "a development secret"


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def issuer_settings(tmp_path: Path) -> IssuerSettings:
    secret_file = tmp_path / "oauth-client-secret"
    secret_file.write_text(SECRET + "\n")
    return IssuerSettings(
        environment="development", var_dir=tmp_path, jwt_issuer=ISSUER, oauth_client_secret_file=secret_file
    )


@pytest.fixture
async def issuer(issuer_settings: IssuerSettings) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(issuer_settings))
    async with httpx2.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


async def client_credentials(client: httpx2.AsyncClient, secret: str = SECRET, **form: str) -> httpx2.Response:
    return await client.post(
        "/token", data={"grant_type": "client_credentials", **form}, headers=basic(CLIENT_ID, secret)
    )


def verified(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The token's claims, verified as the services do (PyJWT, the JWKS, issuer and audience)."""
    keys = jwt.PyJWKSet.from_dict(jwks)
    key = next(k for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=ALGORITHMS, audience="iv-platform", issuer=ISSUER, options={"require": ["exp"]}
    )
    return claims


async def test_discovery_names_the_keys_and_the_token_endpoint(issuer: httpx2.AsyncClient) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        response = await issuer.get(path)
        assert response.status_code == 200
        document = response.json()
        # Every rule of RFC 8414 as authlib checks it, but one: response_types_supported stays empty
        # while the issuer has no authorization endpoint (the grant that adds one fills it).
        metadata = AuthorizationServerMetadata(document)
        for key in metadata.REGISTRY_KEYS:
            if key != "response_types_supported":
                getattr(metadata, f"validate_{key}")()
        assert document["response_types_supported"] == []
        assert document["issuer"] == ISSUER
        assert document["jwks_uri"] == f"{ISSUER}/jwks.json"
        assert document["token_endpoint"] == f"{ISSUER}/token"
        assert document["grant_types_supported"] == ["client_credentials"]
        assert {"roles", "clearance", "unit", "sub"} <= set(document["claims_supported"])


async def test_the_jwks_holds_the_public_key_named_by_its_thumbprint(issuer: httpx2.AsyncClient) -> None:
    (key,) = (await issuer.get("/jwks.json")).json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key, "the private part is never published"
    assert key["kid"] == jwt.PyJWK.from_dict(key).key_id
    # The kid is the RFC 7638 thumbprint: the same key always has the same name.
    from joserfc.jwk import ECKey

    assert key["kid"] == ECKey.import_key({k: v for k, v in key.items() if k != "kid"}).thumbprint()


async def test_client_credentials_issue_a_token_the_services_read(issuer: httpx2.AsyncClient) -> None:
    jwks = (await issuer.get("/jwks.json")).json()
    for response in (
        await client_credentials(issuer),
        await client_credentials(issuer, scope="iv-platform"),
        await issuer.post(  # the secret in the form (client_secret_post) works too
            "/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
        ),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        answer = response.json()
        assert answer["token_type"] == "Bearer" and answer["expires_in"] == 600
        claims = verified(answer["access_token"], jwks)
        assert (claims["sub"], claims["roles"], claims["clearance"]) == (CLIENT_ID, ["reader"], "secret")
        assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize(
    ("headers", "form", "status", "error"),
    [
        (basic(CLIENT_ID, "wrong"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (basic("someone-else", SECRET), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {},
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        ({}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            basic(CLIENT_ID, SECRET),
            {"grant_type": "password", "username": "u", "password": "p"},
            400,
            "unsupported_grant_type",
        ),
        (basic(CLIENT_ID, SECRET), {"grant_type": "client_credentials", "scope": "admin"}, 400, "invalid_scope"),
    ],
)
async def test_a_refused_request_gets_an_oauth2_error(
    issuer: httpx2.AsyncClient, headers: dict[str, str], form: dict[str, str], status: int, error: str
) -> None:
    response = await issuer.post("/token", data=form, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert "access_token" not in response.json()
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic ")


def test_the_issuer_never_runs_with_production_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="refuses to run with IV_ENVIRONMENT=production"):
        IssuerSettings(environment="production", var_dir=tmp_path, oauth_client_secret="s")
    # As the environment of a production pod has it: neither the app nor the command line starts.
    monkeypatch.setenv("IV_ENVIRONMENT", "production")
    monkeypatch.setenv("IV_OAUTH_CLIENT_SECRET", "s")
    monkeypatch.setenv("IV_VAR_DIR", str(tmp_path))
    with pytest.raises(ValidationError, match="refuses"):
        create_app()
    with pytest.raises(ValidationError, match="refuses"):
        issuer_main(["token", "--role", "admin"])
    assert not list(tmp_path.iterdir()), "no key was made"


def test_the_issuer_needs_a_client_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a secret"):
        create_app(IssuerSettings(environment="development", var_dir=tmp_path))


def test_a_persons_token_has_the_claims_make_token_gives(
    issuer_settings: IssuerSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "IV_ENVIRONMENT": "development",
        "IV_VAR_DIR": str(issuer_settings.var_dir),
        "IV_JWT_ISSUER": ISSUER,
    }.items():
        monkeypatch.setenv(name, value)
    issuer_main(["token", "--role", "chain_owner,contributor", "--unit", "Eenheid Utrecht", "--clearance", "secret"])
    token = capsys.readouterr().out.strip()
    jwks = create_app(issuer_settings).state.signing_key.jwks()
    claims = verified(token, jwks)
    assert claims["roles"] == ["chain_owner", "contributor"]
    assert (claims["sub"], claims["unit"], claims["clearance"]) == ("dev-chain_owner", "Eenheid Utrecht", "secret")
    assert claims["exp"] - claims["iat"] == 12 * 3600
    with pytest.raises(ValueError, match="unknown roles"):
        person_token(issuer_settings, sub="x", roles=["superuser"])
    with pytest.raises(ValueError, match="longer than"):
        issuer_main(["token", "--role", "admin", "--hours", "25"])


async def test_the_services_accept_the_issuers_tokens(app_cache: AppCache, issuer_settings: IssuerSettings) -> None:
    """Services configured as compose configures them (JWKS, issuer, their own client at the
    issuer) accept a person's token from the command line and get their own by client credentials."""
    app = create_app(issuer_settings)
    with served(app) as url:
        oauth = {
            "jwks_url": f"{url}/jwks.json",
            "jwt_issuer": ISSUER,
            "oauth_token_url": f"{ISSUER}/token",
            "oauth_client_id": CLIENT_ID,
            "oauth_client_secret": SECRET,
        }
        async with build_suite(app_cache, rollback=True, **oauth) as suite:
            suite.transport.add("issuer.test", app)
            person = {"Authorization": f"Bearer {person_token(issuer_settings, sub='u-1', roles=['admin'])}"}
            async with suite.client("valuechains", person) as client:
                response = await client.get("/v1/chains")
                assert response.status_code == 200, response.text
                # A token the issuer did not sign is refused.
                other = person_token(
                    issuer_settings.model_copy(update={"var_dir": issuer_settings.var_dir / "x"}),
                    sub="u",
                    roles=["admin"],
                )
                refused = await client.get("/v1/chains", headers={"Authorization": f"Bearer {other}"})
                assert refused.status_code == 401
            own = await suite.apps["principles"].state.credentials.principal()
            assert own.sub == "service:principles"
            async with suite.client("portfolio", own.authorization) as client:
                assert (await client.get("/v1/programmes")).status_code == 200
