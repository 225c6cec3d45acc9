"""Signing in and out: OAuth2 authorization code with PKCE (S256) at the configured identity provider.

The portal is the client (``IV_PORTAL_CLIENT_ID``, public: PKCE stands in for a secret). ``GET
/portal/aanmelden`` sends the browser to the provider's authorization endpoint with a fresh
``state`` and code challenge, both remembered in the sealed sign-in cookie; the provider sends the
browser back to ``/portal/aanmelden/terug`` with a one-time code, which the gateway exchanges
(server to server, with the verifier) for the person's access token. The token is verified as
every API call's is, and sealed into the session cookie; it never reaches the browser's script or
a URL. In development the provider is ``deploy/devissuer``, whose sign-in page is where one picks a
development identity (role, unit, clearance, partner organisation).

authlib builds the authorization URL (``prepare_grant_uri``), the token request's body
(``prepare_token_request``), the verifier (``generate_token``) and its S256 challenge; the request
goes out on the gateway's own pooled ``httpx2`` client.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx2
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.portal.pages import PAGE_HEADERS, SIGN_IN_PATH, Portal, View, action, error_page, render
from gateway.portal.session import CALLBACK_PATH, PORTAL_PATH, SIGN_IN_COOKIE, Session, SignInRequest, end_cookies
from gateway.settings import GatewaySettings
from services.chassis.errors import ServiceUnavailable, Unauthenticated

NOT_SET_UP = "Aanmelden is voor deze omgeving niet ingericht (IV_PORTAL_AUTHORIZATION_URL en IV_PORTAL_TOKEN_URL)."
AGAIN = "Het aanmelden is verlopen of niet hier begonnen. Meld u opnieuw aan."


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a portal path of this site only (never another site)."""
    if not value or not value.startswith(PORTAL_PATH + "/") or value.startswith("//") or "\\" in value:
        return PORTAL_PATH + "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else PORTAL_PATH + "/"


def redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK_PATH


class SignInFlow:
    def __init__(self, portal: Portal, settings: GatewaySettings) -> None:
        self.portal = portal
        self.client_id = settings.portal_client_id
        self.authorization_url = settings.portal_authorization_url
        self.token_url = settings.portal_token_url

    async def start(self, request: Request) -> Response:
        if self.authorization_url is None:
            return error_page(503, NOT_SET_UP)
        verifier = generate_token(64)
        state = generate_token(32)
        location = prepare_grant_uri(
            self.authorization_url,
            self.client_id,
            "code",
            redirect_uri=redirect_uri(request),
            state=state,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        response = RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)
        next_path = safe_next(request.query_params.get("next"))
        self.portal.sealer.remember_sign_in(response, SignInRequest(state, verifier, next_path))
        return response

    async def finish(self, request: Request) -> Response:
        if self.token_url is None:
            return error_page(503, NOT_SET_UP)
        started = self.portal.sealer.sign_in_of(request)
        params = request.query_params
        if started is None or params.get("state") != started.state:
            return error_page(400, AGAIN)
        if "error" in params or not params.get("code"):
            reason = params.get("error_description") or params.get("error") or "er kwam geen code terug"
            return error_page(400, f"De aanmelding is geweigerd: {reason}.")
        body = prepare_token_request(
            "authorization_code",
            code=params["code"],
            redirect_uri=redirect_uri(request),
            client_id=self.client_id,
            code_verifier=started.verifier,
        )
        client = request.app.state.upstream_client.client
        try:
            answer = await client.post(
                self.token_url,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
        except Exception:  # noqa: BLE001 - any failure to reach the provider is the same to the person
            return error_page(503, "De aanmeldvoorziening is nu niet bereikbaar. Probeer het later opnieuw.")
        token = _access_token(answer) if answer.status_code == 200 else None
        if token is None:
            return error_page(400, AGAIN)
        try:
            principal = await request.app.state.verifier.verify(token)
        except Unauthenticated:
            return error_page(400, "De aanmeldvoorziening gaf een sleutel die het platform niet aanvaardt.")
        except ServiceUnavailable:
            return error_page(503, "De aanmeldvoorziening is nu niet bereikbaar. Probeer het later opnieuw.")
        expires_at = principal.expires_at or time.time()
        # A page of our own rather than a redirect: the browser arrived from the provider's site, and
        # a redirect onward would still be that site's navigation, on which SameSite=Strict cookies
        # are not sent; the refresh from this page is the portal's own.
        response = render("signed_in.html", title="Aangemeld", next_path=started.next_path, principal=principal)
        self.portal.sealer.start(response, Session(token, expires_at))
        response.delete_cookie(SIGN_IN_COOKIE, path=CALLBACK_PATH, secure=True, httponly=True, samesite="lax")
        return response


@action("/afmelden")
async def sign_out(view: View) -> Response:
    """After the CSRF check (an action): the cookies go; the provider's own session is the provider's."""
    response = RedirectResponse(PORTAL_PATH + "/?afgemeld=1", status_code=303, headers=PAGE_HEADERS)
    end_cookies(response)
    return response


__all__ = ["SIGN_IN_PATH", "SignInFlow", "safe_next", "sign_out"]


def _access_token(answer: httpx2.Response) -> str | None:
    """The access token of the provider's token answer, None when it holds none (not JSON, not an object)."""
    try:
        body = answer.json()
    except ValueError:
        return None
    token = body.get("access_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None
