"""The development token issuer (deploy/devissuer): discovery and keys, the client-credentials grant
and its errors, a person's token, the services accepting both kinds, and the rule that it never
runs with production settings."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from pydantic import ValidationError

from deploy.devissuer.__main__ import main as issuer_main
from deploy.devissuer.__main__ import person_token
from deploy.devissuer.app import create_app
from deploy.devissuer.server import AuthorizationCodes, Client, FormPayload, SignedIn
from deploy.devissuer.settings import IssuerSettings
from deploy.supervise import ROOT, commands_of
from services.chassis.auth import ALGORITHMS, issue_dev_token, person_claims
from services.chassis.settings import CommonSettings
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


async def test_discovery_names_the_keys_and_the_endpoints(issuer: httpx2.AsyncClient) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        response = await issuer.get(path)
        assert response.status_code == 200
        document = response.json()
        # Every rule of RFC 8414 as authlib checks it.
        AuthorizationServerMetadata(document).validate()
        assert document["issuer"] == ISSUER
        assert document["jwks_uri"] == f"{ISSUER}/jwks.json"
        assert document["authorization_endpoint"] == f"{ISSUER}/authorize"
        assert document["token_endpoint"] == f"{ISSUER}/token"
        assert document["response_types_supported"] == ["code"]
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert document["grant_types_supported"] == ["authorization_code", "client_credentials"]
        assert "none" in document["token_endpoint_auth_methods_supported"]
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
    jwks = create_app(issuer_settings).state.key_ring.jwks()
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


EXPLORER = "iv-explorer"
REDIRECT = "http://127.0.0.1:8000/docs/oauth2-redirect"


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.2), computed here, not by authlib."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_request(challenge: str, **changes: str) -> dict[str, str]:
    request = {
        "response_type": "code",
        "client_id": EXPLORER,
        "redirect_uri": REDIRECT,
        "state": "s-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return {name: value for name, value in {**request, **changes}.items() if value}


async def sign_in(issuer: httpx2.AsyncClient, challenge: str, **identity: str | list[str]) -> httpx2.Response:
    """The sign-in page for an authorization request, and its form posted back with ``identity``."""
    page = await issuer.get("/authorize", params=authorization_request(challenge))
    assert page.status_code == 200, page.text
    assert "form-action 'self' http://127.0.0.1:8000" in page.headers["content-security-policy"]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert hidden["csrf_token"] == issuer.cookies["iv_signin_csrf"]
    form = {**{name: html.unescape(value) for name, value in hidden.items()}, **identity}
    return await issuer.post("/authorize", data=form)


def code_of(response: httpx2.Response) -> str:
    assert response.status_code == 302, response.text
    location = httpx2.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT
    assert location.params["state"] == "s-123"
    assert set(location.params) == {"code", "state"}, "a code in the URL, never a token"
    return location.params["code"]


async def exchange(issuer: httpx2.AsyncClient, code: str, verifier: str) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": EXPLORER,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    return await issuer.post("/token", data=form)


async def test_a_person_signs_in_with_authorization_code_and_pkce(issuer: httpx2.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    identity: dict[str, str | list[str]] = {
        "sub": "u-42",
        "name": "Ada Jansen",
        "roles": ["chain_owner", "contributor"],
        "unit": "Eenheid Utrecht",
        "clearance": "confidential",
    }
    code = code_of(await sign_in(issuer, challenge, **identity))
    answer = await exchange(issuer, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()["access_token"]
    claims = verified(token, (await issuer.get("/jwks.json")).json())
    assert (claims["sub"], claims["name"], claims["unit"], claims["clearance"]) == (
        "u-42",
        "Ada Jansen",
        "Eenheid Utrecht",
        "confidential",
    )
    assert claims["roles"] == ["chain_owner", "contributor"]
    assert claims["client_id"] == EXPLORER
    assert claims["exp"] - claims["iat"] == 3600
    # A code is good once: the second exchange is refused, verifier and all.
    again = await exchange(issuer, code, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_a_partner_signs_in_with_their_organisation(issuer: httpx2.AsyncClient) -> None:
    page = await issuer.get("/authorize", params=authorization_request(pkce_pair()[1]))
    assert 'name="partner_org"' in page.text
    for roles, partner_org in ((["partner"], "OM"), (["reader"], None)):
        verifier, challenge = pkce_pair()
        # The organisation field counts with the partner role only.
        code = code_of(await sign_in(issuer, challenge, sub="u-om", roles=roles, partner_org="OM"))
        token = (await exchange(issuer, code, verifier)).json()["access_token"]
        claims = verified(token, (await issuer.get("/jwks.json")).json())
        assert (claims["roles"], claims.get("partner_org")) == (roles, partner_org)


async def test_a_code_needs_its_own_verifier(issuer: httpx2.AsyncClient) -> None:
    _, challenge = pkce_pair()
    code = code_of(await sign_in(issuer, challenge, sub="u-1", roles=["reader"]))
    other, _ = pkce_pair()
    for wrong in (other, ""):
        refused = await exchange(issuer, code, wrong)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] in ("invalid_grant", "invalid_request")
        assert "access_token" not in refused.json()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),  # PKCE is required
        ({"code_challenge_method": "plain"}, "invalid_request"),  # and S256 only
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_a_refused_authorization_request_goes_back_with_its_error(
    issuer: httpx2.AsyncClient, changes: dict[str, str], error: str
) -> None:
    _, challenge = pkce_pair()
    response = await issuer.get("/authorize", params=authorization_request(challenge, **changes))
    assert response.status_code == 302, response.text
    location = httpx2.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT
    assert (location.params["error"], location.params["state"]) == (error, "s-123")
    assert "code" not in location.params


@pytest.mark.parametrize(
    "changes", [{"redirect_uri": "https://evil.example/cb"}, {"client_id": "someone-else"}, {"client_id": CLIENT_ID}]
)
async def test_an_unknown_client_or_redirect_uri_is_never_redirected_to(
    issuer: httpx2.AsyncClient, changes: dict[str, str]
) -> None:
    _, challenge = pkce_pair()
    response = await issuer.get("/authorize", params=authorization_request(challenge, **changes))
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "csrf_token" not in response.text


async def test_the_sign_in_form_needs_its_csrf_token_and_a_known_identity(issuer: httpx2.AsyncClient) -> None:
    _, challenge = pkce_pair()
    page = await issuer.get("/authorize", params=authorization_request(challenge))
    form = {**authorization_request(challenge), "sub": "u-1", "roles": "reader"}
    # A form posted from elsewhere carries no token, or not the cookie's.
    for token in ("", "forged"):
        refused = await issuer.post("/authorize", data={**form, "csrf_token": token})
        assert refused.status_code == 403 and "location" not in refused.headers
    issuer.cookies.clear()
    refused = await issuer.post("/authorize", data={**form, "csrf_token": page.cookies["iv_signin_csrf"]})
    assert refused.status_code == 403
    # An identity the services would not accept is shown again with what is wrong.
    page = await issuer.get("/authorize", params=authorization_request(challenge))
    csrf = page.cookies["iv_signin_csrf"]
    for identity, message in (
        ({"sub": "u-1", "roles": "superuser"}, "unknown roles"),
        ({"sub": "u-1"}, "pick at least one role"),
        ({"sub": " ", "roles": "reader"}, "subject"),
        ({"sub": "u-1", "roles": "reader", "clearance": "cosmic"}, "unknown clearance"),
        ({"sub": "u-1", "roles": "partner"}, "must name its organisation"),
        ({"sub": "u-1", "roles": ["partner", "admin"], "partner_org": "OM"}, "partner role alone"),
    ):
        response = await issuer.post(
            "/authorize", data={**authorization_request(challenge), **identity, "csrf_token": csrf}
        )
        assert response.status_code == 400 and message in response.text, response.text
        assert "location" not in response.headers


def test_a_code_expires() -> None:
    now = [0.0]
    codes = AuthorizationCodes(60, clock=lambda: now[0])
    client = Client(client_id=EXPLORER, secret=None)
    request = OAuth2Request("POST", "http://issuer.test/authorize")
    request.payload = FormPayload({}, [("redirect_uri", REDIRECT), ("code_challenge", "c")])
    request.client = client
    request.user = SignedIn({"sub": "u", "roles": ["reader"]})
    codes.save("abc", request)
    assert codes.find("abc", client) is not None
    assert codes.find("abc", Client(client_id="other", secret=None)) is None, "bound to its client"
    now[0] = 60.0
    assert codes.find("abc", client) is None
    assert len(codes) == 0


async def test_the_explorers_origin_may_exchange_its_code(issuer: httpx2.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "accept,content-type,x-requested-with",
    }
    allowed = await issuer.options("/token", headers={**preflight, "Origin": "http://127.0.0.1:8000"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    other = await issuer.options("/token", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_key_rollover_during_a_run_of_requests_refuses_none(
    app_cache: AppCache, issuer_settings: IssuerSettings
) -> None:
    """The provider on a real port, a service verifying through its JWKS: the provider rotates its
    key in the middle of a run of requests, each with a token of its own (no cached verdict), and
    not one is refused; a token of the retiring key keeps working; tokens of another issuer or
    audience, signed with the provider's own key, are 401."""
    provider = create_app(issuer_settings)
    ring = provider.state.key_ring
    with served(provider) as url:
        settings = {"jwks_url": f"{url}/jwks.json", "jwt_issuer": ISSUER, "jwks_refetch_seconds": 0.2}
        async with build_suite(app_cache, rollback=True, **settings) as suite:
            retiring = person_token(issuer_settings, sub="before", roles=["reader"])
            statuses: list[int] = []
            kids: set[str] = set()
            async with suite.client("valuechains", {}) as client:

                async def call(n: int) -> None:
                    token = person_token(issuer_settings, sub=f"p-{n}", roles=["reader"])
                    kids.add(jwt.get_unverified_header(token)["kid"])
                    statuses.append((await client.get("/v1/chains", headers=bearer(token))).status_code)

                for batch in range(4):
                    if batch == 2:
                        ring.rotate()  # as `python -m deploy.devissuer rotate` does, beside the running provider
                    async with anyio.create_task_group() as group:
                        for n in range(8):
                            group.start_soon(call, batch * 8 + n)
                    assert (await client.get("/v1/chains", headers=bearer(retiring))).status_code == 200
                for claims, detail in (
                    (
                        person_claims(issuer="http://other.test", audience="iv-platform", sub="u", roles=["admin"]),
                        "issuer",
                    ),
                    (person_claims(issuer=ISSUER, audience="another-api", sub="u", roles=["admin"]), "audience"),
                ):
                    refused = await client.get("/v1/chains", headers=bearer(ring.sign(claims)))
                    assert refused.status_code == 401, refused.text
                    assert detail in refused.json()["detail"]
                    assert refused.headers["content-type"] == "application/problem+json"
            assert statuses == [200] * 32
            assert len(kids) == 2, "the run spans the old key and the new"
            verifier = suite.apps["valuechains"].state.verifier
            assert verifier.keys.fetches == 2, "the keys at first, and once more for the new kid"


def test_make_run_starts_the_provider_in_development_only() -> None:
    lists = [ROOT / "deploy" / "Procfile", ROOT / "deploy" / "Procfile.development"]
    commands = commands_of(lists, "development")
    assert set(commands) == {"valuechains", "portfolio", "principles", "gateway", "issuer"}
    assert "--factory deploy.devissuer.app:create_app" in commands["issuer"]
    with pytest.raises(SystemExit, match="refused with IV_ENVIRONMENT=production"):
        commands_of(lists, "production")
    assert "issuer" not in commands_of(lists[:1], "production")
    makefile = (ROOT / "Makefile").read_text()
    assert "deploy/supervise.py deploy/Procfile deploy/Procfile.development" in makefile
    # The services and the gateway verify through the provider's keys, for its issuer; make token
    # signs for the same issuer, with the same key ring.
    assert "IV_JWKS_URL=$(DEV_PROVIDER)/jwks.json" in makefile
    assert "@$(DEV_AUTH) $(BIN)/python -m services.chassis.auth" in makefile


async def test_make_token_and_the_provider_sign_with_the_same_keys(
    issuer: httpx2.AsyncClient, issuer_settings: IssuerSettings
) -> None:
    """``make token`` (the chassis' development token) verifies against the provider's JWKS, before
    and after the provider's key ring rotates."""
    services = CommonSettings(var_dir=issuer_settings.var_dir, jwt_issuer=ISSUER)
    for rotate in (False, True):
        if rotate:
            issuer_settings.key_ring().rotate()
        token = issue_dev_token(services, sub="u-1", roles=["reader"])
        jwks = (await issuer.get("/jwks.json")).json()
        assert verified(token, jwks)["sub"] == "u-1"
        assert jwt.get_unverified_header(token)["kid"] == jwks["keys"][-1]["kid"], "signed with the newest key"
