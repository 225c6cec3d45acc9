"""The sign-in page of the development identity provider: a developer picks a development identity.

``GET /authorize`` checks the authorization request first (authlib: the client, its redirect URI,
``response_type=code``, a PKCE S256 challenge): a request naming an unknown client or redirect URI
gets an error page and is never redirected; any other refused request goes back to the client
with its OAuth2 error. A valid one shows a form whose hidden fields carry the request, with a
CSRF token that is also in a cookie only this page can read (double submit, ``SameSite=Strict``).
Its POST checks that token, reads the identity (subject, name, roles, unit, clearance; the partner
organisation, taken only with the partner role, which stands alone), and redirects to the client
with a code.
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.grants import BaseGrant
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from deploy.devissuer.server import Form, SignedIn, StarletteAuthorizationServer, form_of
from deploy.devissuer.settings import IssuerSettings
from services.chassis.auth import CLEARANCES, ROLES, Person, partner_problem
from services.chassis.partners import PARTNER_ROLE

CSRF_COOKIE = "iv_signin_csrf"
CSRF_FIELD = "csrf_token"
OAUTH_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
"""The authorization request's parameters, carried from the GET to the POST as hidden fields."""

_PAGE = """<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>Aanmelden — IV-platform (ontwikkeling)</title>
<style>
body {{ font-family: sans-serif; max-width: 34rem; margin: 2rem auto; }}
label {{ display: block; margin-top: .8rem; }}
fieldset {{ margin-top: .8rem; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
<h1>Aanmelden (ontwikkeling)</h1>
<p>Development identity provider: pick who you are. Never used in production.</p>
{error}
<form method="post" action="/authorize">
{hidden}
<label>Subject (sub) <input name="sub" required value="dev-user"></label>
<label>Naam (name) <input name="name" value="Ontwikkelaar"></label>
<fieldset><legend>Rollen (roles)</legend>
{roles}
</fieldset>
<label>Eenheid (unit) <input name="unit" value=""></label>
<label>Partnerorganisatie (partner_org, with the partner role only) <input name="partner_org" value=""></label>
<label>Rubricering (clearance) <select name="clearance">
{clearances}
</select></label>
<p><button type="submit">Aanmelden</button></p>
</form>
</body>
</html>
"""


class BadIdentity(ValueError):
    """The sign-in form's identity is not one the services accept."""


def person_from_form(form: Form) -> Person:
    """The identity picked on the form, refused unless every role and the clearance are known."""
    values: dict[str, list[str]] = {}
    for name, value in form:
        values.setdefault(name, []).append(value.strip())
    sub = (values.get("sub") or [""])[0]
    if not sub:
        raise BadIdentity("a subject (sub) is required")
    roles = [role for role in values.get("roles", []) if role]
    if not roles:
        raise BadIdentity("pick at least one role")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise BadIdentity(f"unknown roles {unknown}")
    clearance = (values.get("clearance") or ["internal"])[0]
    if clearance not in CLEARANCES:
        raise BadIdentity(f"unknown clearance {clearance!r}")
    # The organisation field counts only when the partner role is picked (a left-over value with
    # another role is ignored); a partner without an organisation, or with other roles, is refused.
    partner_org = ((values.get("partner_org") or [""])[0] or None) if PARTNER_ROLE in roles else None
    problem = partner_problem(roles, partner_org)
    if problem:
        raise BadIdentity(problem)
    return {
        "sub": sub,
        "roles": roles,
        "unit": (values.get("unit") or [""])[0] or None,
        "clearance": clearance,
        "name": (values.get("name") or [""])[0] or None,
        "partner_org": partner_org,
    }


class SignInPages:
    """``GET`` and ``POST /authorize``."""

    HEADERS: ClassVar[dict[str, str]] = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}

    def __init__(self, server: StarletteAuthorizationServer, settings: IssuerSettings) -> None:
        self.server = server
        # The POST redirects to the explorer: form-action must allow its origins (browsers check
        # the redirect after a form submission against it).
        origins = " ".join(settings.explorer_origins())
        self.policy = (
            "default-src 'none'; style-src 'unsafe-inline'; "
            f"form-action 'self' {origins}; frame-ancestors 'none'; base-uri 'none'"
        )

    async def show(self, request: Request) -> Response:
        grant = self._consent(request, [])  # authlib reads the request's query itself
        if isinstance(grant, Response):
            return grant
        return self._page(request, request.query_params.multi_items(), csrf=secrets.token_urlsafe(32))

    async def sign_in(self, request: Request) -> Response:
        form = form_of(await request.body())
        sent = dict(form).get(CSRF_FIELD, "")
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return self._error_page("The sign-in form expired or did not come from this page: start again.", 403)
        if request.query_params:
            return self._error_page("The sign-in form is posted without a query.", 400)
        oauth: Form = [(name, value) for name, value in form if name in OAUTH_FIELDS]
        grant = self._consent(request, oauth)
        if isinstance(grant, Response):
            return grant
        try:
            person = person_from_form(form)
        except BadIdentity as exc:
            return self._page(request, oauth, csrf=expected, error=str(exc), status=400)
        response: Response = self.server.create_authorization_response(
            (request, oauth), grant_user=SignedIn(person), grant=grant
        )
        response.delete_cookie(CSRF_COOKIE, path="/authorize")
        return response

    def _consent(self, request: Request, form: Form) -> BaseGrant | Response:
        """The grant of a valid authorization request; else its refusal: back to the client with the
        OAuth2 error when the client and redirect URI are known, an error page when they are not."""
        try:
            grant: BaseGrant = self.server.get_consent_grant((request, form))
        except OAuth2Error as error:
            if error.redirect_uri:
                refusal: Response = self.server.handle_error_response(request, error)
                return refusal
            return self._error_page(f"{error.error}: {error.description or 'the request was refused'}", 400)
        return grant

    def _page(
        self, request: Request, oauth: Iterable[tuple[str, str]], *, csrf: str, error: str = "", status: int = 200
    ) -> Response:
        hidden = "\n".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in [*oauth, (CSRF_FIELD, csrf)]
            if name in (*OAUTH_FIELDS, CSRF_FIELD)
        )
        roles = "\n".join(
            f'<label><input type="checkbox" name="roles" value="{role}"{checked}> {role}</label>'
            for role in ROLES
            for checked in [" checked" if role == "reader" else ""]
        )
        clearances = "\n".join(
            f'<option value="{level}"{" selected" if level == "internal" else ""}>{level}</option>'
            for level in CLEARANCES
        )
        body = _PAGE.format(
            hidden=hidden,
            roles=roles,
            clearances=clearances,
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        )
        response = HTMLResponse(
            body, status_code=status, headers={**self.HEADERS, "Content-Security-Policy": self.policy}
        )
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            path="/authorize",
            httponly=True,
            samesite="strict",
            secure=urlsplit(str(request.url)).scheme == "https",
        )
        return response

    def _error_page(self, message: str, status: int) -> Response:
        body = (
            '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Sign-in refused</title>'
            f"<p>{html.escape(message)}</p></html>"
        )
        return HTMLResponse(body, status_code=status, headers={**self.HEADERS, "Content-Security-Policy": self.policy})
