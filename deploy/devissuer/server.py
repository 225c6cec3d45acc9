"""authlib's OAuth2 authorization server (RFC 6749) on Starlette requests.

authlib ships its server for Flask and Django only; the framework part is three methods
(``create_oauth2_request``, ``create_json_request``, ``handle_response``), given here for a request
whose form has already been read (Starlette reads bodies asynchronously, authlib synchronously; the
form is read by ``form_of``, with no multipart parser).
Everything OAuth2 stays authlib's: client authentication (HTTP Basic or the form, RFC 6749 §2.3.1),
grant dispatch, scope checks, error bodies and their status codes (``invalid_client`` is 401 with
``WWW-Authenticate: Basic`` when the client tried Basic), and the JWT access token profile
(RFC 9068, ``JWTBearerTokenGenerator``), and the authorization code grant with PKCE
(``AuthorizationCodeGrant`` with ``CodeChallenge``, S256 only) for the explorer's public client.
Its codes live in memory (``AuthorizationCodes``): one process, a minute each, used once.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import Response

from deploy.devissuer.settings import CLIENT_CLEARANCE, CLIENT_ROLES, SCOPE, IssuerSettings
from services.chassis.auth import Person
from services.chassis.signing_keys import DEV_ALGORITHM, KeyRing

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
PUBLIC_AUTH_METHOD = "none"
"""A public client (the explorer in a browser) holds no secret: PKCE stands in for it."""


@dataclass(frozen=True)
class Client(ClientMixin):
    """A client: confidential (a secret, the client-credentials grant, its own roles and clearance)
    or public (no secret, authorization code with PKCE to its redirect URIs, for a person)."""

    client_id: str
    secret: str | None
    roles: tuple[str, ...] = ()
    clearance: str = "internal"
    grant_types: tuple[str, ...] = (ClientCredentialsGrant.GRANT_TYPE,)
    redirect_uris: tuple[str, ...] = ()

    @property
    def is_public(self) -> bool:
        return self.secret is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s == SCOPE)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret is not None and hmac.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == PUBLIC_AUTH_METHOD if self.is_public else method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return self.is_public and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ServiceClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class S256Challenge(CodeChallenge):
    """PKCE, required, with S256 only: ``plain`` would show the verifier to whoever sees the URL."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


@dataclass(frozen=True)
class SignedIn:
    """The development identity a developer picked on the sign-in page."""

    person: Person

    def get_user_id(self) -> str:
        return self.person["sub"]


@dataclass(frozen=True)
class AuthorizationCode:
    """What a code stands for (authlib's ``AuthorizationCodeMixin``): who, for which client and
    redirect URI, with which PKCE challenge, until when."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: SignedIn
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> None:
        return None


class AuthorizationCodes:
    """The codes handed out and not yet used: each good for one token request, until it expires."""

    def __init__(self, lifetime_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.clock = clock
        self._codes: dict[str, AuthorizationCode] = {}

    def save(self, code: str, request: OAuth2Request) -> None:
        now = self.clock()
        for stale in [c for c, entry in self._codes.items() if entry.expires_at <= now]:
            del self._codes[stale]
        payload = request.payload
        self._codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=payload.redirect_uri or "",
            scope=request.scope or "",
            user=request.user,
            code_challenge=payload.data.get("code_challenge", ""),
            code_challenge_method=payload.data.get("code_challenge_method", ""),
            expires_at=now + self.lifetime_seconds,
        )

    def find(self, code: str, client: Client) -> AuthorizationCode | None:
        entry = self._codes.get(code)
        if entry is None or entry.client_id != client.get_client_id():
            return None
        if entry.expires_at <= self.clock():
            del self._codes[code]
            return None
        return entry

    def use(self, code: AuthorizationCode) -> None:
        self._codes.pop(code.code, None)

    def __len__(self) -> int:
        return len(self._codes)


class ExplorerAuthorizationCode(AuthorizationCodeGrant):
    """Authorization code for the public client: no secret at the token endpoint (PKCE instead)."""

    TOKEN_ENDPOINT_AUTH_METHODS = [PUBLIC_AUTH_METHOD]

    @property
    def codes(self) -> AuthorizationCodes:
        server: StarletteAuthorizationServer = self.server
        return server.codes

    def generate_authorization_code(self) -> str:
        return secrets.token_urlsafe(32)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        self.codes.save(code, request)

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.codes.find(code, client)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.codes.use(authorization_code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SignedIn:
        return authorization_code.user


class PlatformTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens with the claims the services read: ``iss``, ``aud`` (the platform),
    ``sub`` (the client, or the person signed in), ``exp``, and the client's or the person's
    ``roles``, ``clearance`` (and a person's ``unit``, ``name`` and ``partner_org``); header ``kid``: the key ring's
    newest key, read at each token, so a rotation signs from the next token on."""

    def __init__(self, settings: IssuerSettings, ring: KeyRing) -> None:
        super().__init__(issuer=settings.jwt_issuer, alg=DEV_ALGORITHM)
        self.settings = settings
        self.ring = ring
        self.expires_generator = self.lifetime

    def lifetime(self, client: Client, grant_type: str) -> int:
        if grant_type == AuthorizationCodeGrant.GRANT_TYPE:
            return self.settings.person_token_lifetime_seconds
        return self.settings.client_token_lifetime_seconds

    def get_jwks(self) -> KeySet:
        return self.ring.key_set()

    def get_audiences(self, client: Client, user: Any, scope: str | None) -> str:
        return self.settings.jwt_audience

    def get_extra_claims(self, client: Client, grant_type: str, user: Any, scope: str | None) -> dict[str, Any]:
        if isinstance(user, SignedIn):
            person = user.person
            claims: dict[str, Any] = {"roles": list(person["roles"])}
            for name in ("clearance", "unit", "name", "partner_org"):
                if person.get(name):
                    claims[name] = person.get(name)
            return claims
        return {"roles": list(client.roles), "clearance": client.clearance}


Form = list[tuple[str, str]]
"""A request's form, as ``form_of`` reads it."""


def form_of(body: bytes) -> Form:
    """The fields of an ``application/x-www-form-urlencoded`` body (RFC 6749 §3.2: what a token
    request sends), read without a multipart parser; a body that is not UTF-8 has none."""
    try:
        return urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return []


class FormPayload(OAuth2Payload):
    def __init__(self, query: Mapping[str, str], form: Form) -> None:
        self._values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in [*query.items(), *form]:
            self._values[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return {key: values[0] for key, values in self._values.items()}

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._values


class StarletteOAuth2Request(OAuth2Request):
    def __init__(self, request: Request, form: Form) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self._query = request.query_params
        self._form = dict(form)
        self.payload = FormPayload(request.query_params, form)

    @property
    def args(self) -> Mapping[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class StarletteAuthorizationServer(AuthorizationServer):
    """The issuer's authorization server: clients by id, tokens from ``PlatformTokens``, nothing
    stored (a JWT carries what it grants until it expires)."""

    def __init__(self, clients: Mapping[str, Client], tokens: PlatformTokens, codes: AuthorizationCodes) -> None:
        super().__init__(scopes_supported=[SCOPE])
        self.clients = dict(clients)
        self.codes = codes
        self.register_token_generator("default", tokens)
        self.register_grant(ServiceClientCredentials)
        self.register_grant(ExplorerAuthorizationCode, [S256Challenge(required=True)])

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        return None

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: tuple[Request, Form]) -> StarletteOAuth2Request:
        return StarletteOAuth2Request(*request)

    def create_json_request(self, request: tuple[Request, Form]) -> JsonRequest:
        starlette_request, _ = request
        return JsonRequest(starlette_request.method, str(starlette_request.url), starlette_request.headers)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = body if isinstance(body, str | bytes) else json.dumps(body)
        response = Response(content, status_code=status, media_type="application/json")
        for name, value in headers:
            if name.lower() != "content-type":
                response.headers.append(name, value)
        return response


def authorization_server(settings: IssuerSettings, ring: KeyRing) -> StarletteAuthorizationServer:
    """The server with the services' client (its secret from the settings or their file) and the
    explorer's and the portal's public clients registered."""
    secret = settings.client_secret()
    if not secret:
        raise ValueError(
            "the services' client needs a secret: set IV_OAUTH_CLIENT_SECRET_FILE (or IV_OAUTH_CLIENT_SECRET)"
        )
    clients = {
        settings.oauth_client_id: Client(
            client_id=settings.oauth_client_id, secret=secret, roles=tuple(CLIENT_ROLES), clearance=CLIENT_CLEARANCE
        ),
        settings.explorer_client_id: Client(
            client_id=settings.explorer_client_id,
            secret=None,
            grant_types=(AuthorizationCodeGrant.GRANT_TYPE,),
            redirect_uris=tuple(settings.explorer_redirect_uris),
        ),
        settings.portal_client_id: Client(
            client_id=settings.portal_client_id,
            secret=None,
            grant_types=(AuthorizationCodeGrant.GRANT_TYPE,),
            redirect_uris=tuple(settings.portal_redirect_uris),
        ),
    }
    codes = AuthorizationCodes(settings.authorization_code_seconds)
    return StarletteAuthorizationServer(clients, PlatformTokens(settings, ring), codes)
