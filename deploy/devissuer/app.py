"""The development token issuer's ASGI app: ``uvicorn --factory deploy.devissuer.app:create_app``.

- ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``: where
  everything is (RFC 8414 metadata, at the OIDC discovery path too, where most clients look);
- ``/jwks.json``: the public signing key (the services' ``IV_JWKS_URL``);
- ``/token``: OAuth2 client credentials (the services' ``IV_OAUTH_TOKEN_URL``), errors as RFC 6749
  §5.2 has them;
- ``/healthz``, ``/readyz``: alive, and ready (its key and client are loaded before it serves).
"""

from __future__ import annotations

import os
from typing import Any

from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from deploy.devissuer.keys import SigningKey
from deploy.devissuer.server import AUTH_METHODS, StarletteAuthorizationServer, authorization_server, form_of
from deploy.devissuer.settings import SCOPE, IssuerSettings
from services.chassis.auth import DEV_ALGORITHM

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_PATH = "/jwks.json"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
CLAIMS = ["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "client_id", "scope", "roles", "clearance", "unit", "name"]


def discovery(settings: IssuerSettings) -> dict[str, Any]:
    """The metadata document (RFC 8414): only what this issuer does. Grants added later (authorization
    code with PKCE) add their endpoint and types here."""
    base = settings.jwt_issuer.rstrip("/")
    return {
        "issuer": settings.jwt_issuer,
        "jwks_uri": base + JWKS_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [ClientCredentialsGrant.GRANT_TYPE],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "scopes_supported": [SCOPE],
        "response_types_supported": [],
        "claims_supported": CLAIMS,
        "access_token_signing_alg_values_supported": [DEV_ALGORITHM],
    }


def create_app(settings: IssuerSettings | None = None) -> FastAPI:
    settings = settings or IssuerSettings()
    key = SigningKey.load(settings.signing_key_path)
    server: StarletteAuthorizationServer = authorization_server(settings, key)
    # authlib refuses plain-HTTP token requests unless told otherwise. This issuer serves only a
    # development network (its settings refuse production), where the services call it over HTTP.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    metadata = discovery(settings)
    jwks = key.jwks()

    async def well_known(request: Request) -> Response:
        return JSONResponse(metadata)

    async def keys(request: Request) -> Response:
        return JSONResponse(jwks, headers={"Cache-Control": "public, max-age=300"})

    async def token(request: Request) -> Response:
        response: Response = server.create_token_response((request, form_of(await request.body())))
        return response

    async def alive(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [
        *(Route(path, well_known, methods=["GET"]) for path in DISCOVERY_PATHS),
        Route(JWKS_PATH, keys, methods=["GET"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route("/healthz", alive, methods=["GET"]),
        Route("/readyz", alive, methods=["GET"]),
    ]
    # FastAPI for its routing only: no OpenAPI document or explorer for what RFC 8414 describes.
    app = FastAPI(routes=routes, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.signing_key = key
    app.state.authorization_server = server
    return app
