"""authlib's OAuth2 authorization server (RFC 6749) on Starlette requests.

authlib ships its server for Flask and Django only; the framework part is three methods
(``create_oauth2_request``, ``create_json_request``, ``handle_response``), given here for a request
whose form has already been read (Starlette reads bodies asynchronously, authlib synchronously; the
form is read by ``form_of``, with no multipart parser).
Everything OAuth2 stays authlib's: client authentication (HTTP Basic or the form, RFC 6749 §2.3.1),
grant dispatch, scope checks, error bodies and their status codes (``invalid_client`` is 401 with
``WWW-Authenticate: Basic`` when the client tried Basic), and the JWT access token profile
(RFC 9068, ``JWTBearerTokenGenerator``).
"""

from __future__ import annotations

import hmac
import json
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import Response

from deploy.devissuer.keys import SigningKey
from deploy.devissuer.settings import CLIENT_CLEARANCE, CLIENT_ROLES, SCOPE, IssuerSettings
from services.chassis.auth import DEV_ALGORITHM

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class Client(ClientMixin):
    """A confidential client and what its tokens say of it."""

    client_id: str
    secret: str
    roles: tuple[str, ...]
    clearance: str
    grant_types: tuple[str, ...] = (ClientCredentialsGrant.GRANT_TYPE,)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s == SCOPE)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ServiceClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class PlatformTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens with the claims the services read: ``iss``, ``aud`` (the platform),
    ``sub`` (the client), ``exp``, and the client's ``roles`` and ``clearance``; header ``kid``."""

    def __init__(self, settings: IssuerSettings, key: SigningKey) -> None:
        super().__init__(issuer=settings.jwt_issuer, alg=DEV_ALGORITHM)
        self.settings = settings
        self.key = key
        self.expires_generator = settings.client_token_lifetime_seconds

    def get_jwks(self) -> KeySet:
        return self.key.key_set

    def get_audiences(self, client: Client, user: Any, scope: str | None) -> str:
        return self.settings.jwt_audience

    def get_extra_claims(self, client: Client, grant_type: str, user: Any, scope: str | None) -> dict[str, Any]:
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

    def __init__(self, clients: Mapping[str, Client], tokens: PlatformTokens) -> None:
        super().__init__(scopes_supported=[SCOPE])
        self.clients = dict(clients)
        self.register_token_generator("default", tokens)
        self.register_grant(ServiceClientCredentials)

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


def authorization_server(settings: IssuerSettings, key: SigningKey) -> StarletteAuthorizationServer:
    """The server with the services' client registered (its secret from the settings or their file)."""
    secret = settings.client_secret()
    if not secret:
        raise ValueError(
            "the services' client needs a secret: set IV_OAUTH_CLIENT_SECRET_FILE (or IV_OAUTH_CLIENT_SECRET)"
        )
    clients = {
        settings.oauth_client_id: Client(
            client_id=settings.oauth_client_id, secret=secret, roles=tuple(CLIENT_ROLES), clearance=CLIENT_CLEARANCE
        )
    }
    return StarletteAuthorizationServer(clients, PlatformTokens(settings, key))
