"""The OpenAPI explorer (Swagger UI), served from this process: nothing is fetched from outside.

The page has no inline script, so its Content-Security-Policy can be ``script-src 'self'``.

With a ``SignIn`` the explorer signs a person in at the identity provider: OAuth2 authorization
code with PKCE (S256) for its public client. Swagger UI opens the provider's sign-in page in a
window of its own; the provider sends that window back to ``/docs/oauth2-redirect`` with a
one-time code (never a token), whose script hands the code to the explorer and closes the window;
the explorer exchanges it, with its PKCE verifier, for a token by a POST to the provider's token
endpoint, and keeps the token in the browser (never in a URL). Pasting a token (the bearer
scheme) stays, for tokens from ``make token`` or a script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fastapi_offline
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from services.chassis.middleware import page_policy

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/static/explorer"
REDIRECT_PATH = "/docs/oauth2-redirect"
SIGN_IN_SCHEME = "SignIn"
BEARER_SCHEME = "HTTPBearer"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{prefix}/favicon.png">
<link rel="stylesheet" href="{prefix}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{prefix}/swagger-ui-bundle.js"></script>
<script src="{prefix}/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({config});
"""

_SIGN_IN_INIT = """window.ui = SwaggerUIBundle(Object.assign({config}, {{
  oauth2RedirectUrl: window.location.origin + "{redirect}"
}}));
window.ui.initOAuth({oauth});
"""

_REDIRECT_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing in</title></head>
<body>
<p id="message">Signing in…</p>
<script src="{prefix}/oauth2-redirect.js"></script>
</body>
</html>
"""

# Our own hand-back to the explorer window that opened the sign-in window (Swagger UI leaves its
# state in window.opener.swaggerUIRedirectOauth2: auth, state, redirectUrl, callback, errCb).
_REDIRECT_SCRIPT = """(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  // The code leaves the address bar (and the history) at once; it is good for one exchange only.
  window.history.replaceState(null, "", window.location.pathname);
  var handoff = window.opener && window.opener.swaggerUIRedirectOauth2;
  var message = document.getElementById("message");
  if (!handoff) {
    message.textContent = "This page finishes a sign-in started in the explorer (/docs); start there.";
    return;
  }
  var refuse = function (level, text) {
    handoff.errCb({ authId: handoff.auth.name, source: "auth", level: level, message: text });
  };
  if (params.get("state") !== handoff.state) {
    refuse("warning", "The sign-in answer does not belong to this explorer's request (state differs): ignored.");
  } else if (params.get("code")) {
    delete window.opener.swaggerUIRedirectOauth2;
    handoff.auth.code = params.get("code");
    handoff.callback({ auth: handoff.auth, redirectUrl: handoff.redirectUrl });
  } else {
    var reason = params.get("error_description") || params.get("error") || "no code came back";
    refuse("error", "Sign-in refused: " + reason);
  }
  window.close();
})();
"""


@dataclass(frozen=True)
class SignIn:
    """How the explorer signs a person in: the provider's endpoints (as the browser reaches them)
    and the explorer's public client."""

    client_id: str
    authorization_url: str
    token_url: str

    @property
    def token_origin(self) -> str:
        parts = urlsplit(self.token_url)
        return f"{parts.scheme}://{parts.netloc}"

    def scheme(self) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": "Sign in at the organisation's identity provider (authorization code with PKCE).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": self.authorization_url,
                    "tokenUrl": self.token_url,
                    "scopes": {},
                }
            },
        }


def offer_sign_in(document: dict[str, Any], sign_in: SignIn) -> dict[str, Any]:
    """``document`` with the sign-in scheme beside the bearer one: every operation that takes a
    bearer token takes a signed-in person's token too. Idempotent (the document may be cached)."""
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[SIGN_IN_SCHEME] = sign_in.scheme()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            security = operation.get("security")
            if isinstance(security, list) and {BEARER_SCHEME: []} in security and {SIGN_IN_SCHEME: []} not in security:
                security.append({SIGN_IN_SCHEME: []})
    return document


def mount_explorer(
    app: FastAPI, *, title: str, openapi_url: str = "/openapi.json", sign_in: SignIn | None = None
) -> None:
    """``/docs`` with Swagger UI's assets from the installed package; the token can be authorised,
    pasted or (with ``sign_in``) by signing in."""
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "persistAuthorization": True,
        "displayRequestDuration": True,
        "filter": True,
        "tryItOutEnabled": True,
        "validatorUrl": None,
    }
    page = _PAGE.format(title=title, prefix=ASSET_PREFIX)
    headers: dict[str, str] = {}
    if sign_in is None:
        init = _INIT.format(config=json.dumps(config))
    else:
        oauth = {"clientId": sign_in.client_id, "usePkceWithAuthorizationCodeGrant": True}
        init = _SIGN_IN_INIT.format(config=json.dumps(config), redirect=REDIRECT_PATH, oauth=json.dumps(oauth))
        # The explorer's script posts the code to the provider's token endpoint.
        headers["Content-Security-Policy"] = page_policy(sign_in.token_origin)

    @app.get("/docs", include_in_schema=False)
    async def explorer() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get(ASSET_PREFIX + "/init.js", include_in_schema=False)
    async def explorer_init() -> Response:
        return Response(init, media_type="text/javascript")

    if sign_in is not None:
        redirect_page = _REDIRECT_PAGE.format(prefix=ASSET_PREFIX)

        @app.get(REDIRECT_PATH, include_in_schema=False)
        async def oauth2_redirect(
            code: str | None = None,
            state: str | None = None,
            error: str | None = None,
            error_description: str | None = None,
            error_uri: str | None = None,
            iss: str | None = None,
            session_state: str | None = None,
        ) -> HTMLResponse:
            # The authorization response (RFC 6749 §4.1.2, RFC 9207's iss) is for the page's script
            # only: the server reads none of it, and no cache keeps it.
            return HTMLResponse(redirect_page, headers={"Cache-Control": "no-store"})

        @app.get(ASSET_PREFIX + "/oauth2-redirect.js", include_in_schema=False)
        async def oauth2_redirect_script() -> Response:
            return Response(_REDIRECT_SCRIPT, media_type="text/javascript")

    app.mount(ASSET_PREFIX, StaticFiles(directory=ASSETS), name="explorer-assets")
