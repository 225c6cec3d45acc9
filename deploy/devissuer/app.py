"""The development identity provider's ASGI app: ``uvicorn --factory deploy.devissuer.app:create_app``.

- ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``: where
  everything is (RFC 8414 metadata, at the OIDC discovery path too, where most clients look);
- ``/jwks.json``: the published public keys (the services' ``IV_JWKS_URL``): the key ring's newest
  and those replaced within their grace period, read at each request, so ``rotate`` needs no restart;
- ``/authorize``: authorization code with PKCE for the explorer: GET shows the sign-in page
  (``deploy.devissuer.signin``), its POST picks a development identity and redirects back with a code;
- ``/token``: the code for a token (PKCE verifier, no secret), and client credentials for the
  services (their ``IV_OAUTH_TOKEN_URL``); errors as RFC 6749 §5.2 has them. Browsers of the
  explorer's origins may call it (CORS);
- ``/healthz``, ``/readyz``: alive, and ready (its keys and clients are loaded before it serves).
"""

from __future__ import annotations

import os
from typing import Any

from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from deploy.devissuer.server import (
    AUTH_METHODS,
    PUBLIC_AUTH_METHOD,
    S256Challenge,
    StarletteAuthorizationServer,
    authorization_server,
    form_of,
)
from deploy.devissuer.settings import SCOPE, IssuerSettings
from deploy.devissuer.signin import SignInPages
from services.chassis.signing_keys import DEV_ALGORITHM

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_PATH = "/jwks.json"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
AUTHORIZE_PATH = "/authorize"
CLAIMS = [
    "iss",
    "aud",
    "sub",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "roles",
    "clearance",
    "unit",
    "name",
    "partner_org",
]


def discovery(settings: IssuerSettings) -> dict[str, Any]:
    """The metadata document (RFC 8414): only what this provider does."""
    base = settings.jwt_issuer.rstrip("/")
    return {
        "issuer": settings.jwt_issuer,
        "jwks_uri": base + JWKS_PATH,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [AuthorizationCodeGrant.GRANT_TYPE, ClientCredentialsGrant.GRANT_TYPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": list(S256Challenge.SUPPORTED_CODE_CHALLENGE_METHOD),
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, PUBLIC_AUTH_METHOD],
        "scopes_supported": [SCOPE],
        "claims_supported": CLAIMS,
        "access_token_signing_alg_values_supported": [DEV_ALGORITHM],
    }


def create_app(settings: IssuerSettings | None = None) -> FastAPI:
    settings = settings or IssuerSettings()
    ring = settings.key_ring()
    ring.current()  # made (or read) before serving
    server: StarletteAuthorizationServer = authorization_server(settings, ring)
    # authlib refuses plain-HTTP requests unless told otherwise. This provider serves only a
    # development network (its settings refuse production), where everyone calls it over HTTP.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    metadata = discovery(settings)
    pages = SignInPages(server, settings)

    async def well_known(request: Request) -> Response:
        return JSONResponse(metadata)

    async def keys(request: Request) -> Response:
        # Short-lived in caches: a verifier that finds a new kid asks again (TrustedKeys).
        return JSONResponse(ring.jwks(), headers={"Cache-Control": "public, max-age=60"})

    async def token(request: Request) -> Response:
        response: Response = server.create_token_response((request, form_of(await request.body())))
        return response

    async def alive(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [
        *(Route(path, well_known, methods=["GET"]) for path in DISCOVERY_PATHS),
        Route(JWKS_PATH, keys, methods=["GET"]),
        Route(AUTHORIZE_PATH, pages.show, methods=["GET"]),
        Route(AUTHORIZE_PATH, pages.sign_in, methods=["POST"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route("/healthz", alive, methods=["GET"]),
        Route("/readyz", alive, methods=["GET"]),
    ]
    # FastAPI for its routing only: no OpenAPI document or explorer for what RFC 8414 describes.
    app = FastAPI(routes=routes, openapi_url=None, docs_url=None, redoc_url=None)
    # The explorer in a browser exchanges its code here, from the gateway's origin (Swagger UI
    # sends X-Requested-With with it).
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.explorer_origins(),
        allow_methods=["POST"],
        allow_headers=["Accept", "Content-Type", "X-Requested-With"],
        max_age=600,
    )
    app.state.settings = settings
    app.state.key_ring = ring
    app.state.authorization_server = server
    return app
