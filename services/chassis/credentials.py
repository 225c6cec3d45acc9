"""A service's own identity, for work no person asked for (following other services' feeds,
witnessing their heads): short-lived tokens, renewed before they expire.

- Production: OAuth2 client credentials (RFC 6749 §4.4) at the organisation's identity provider
  (``IV_OAUTH_TOKEN_URL``, ``IV_OAUTH_CLIENT_ID``, the secret in ``IV_OAUTH_CLIENT_SECRET`` or the
  file ``IV_OAUTH_CLIENT_SECRET_FILE``, optional ``IV_OAUTH_SCOPE``), the client authenticating with
  HTTP Basic. The request and the token's expiry are authlib's (``prepare_token_request``,
  ``OAuth2Token``); it goes out on the service's own pooled client.
- Development: the service signs its own token with the development key
  (``IV_SERVICE_TOKEN_LIFETIME_SECONDS``, 10 minutes by default).

A token is kept until a fifth of its lifetime is left (at most a minute before it expires), then
renewed once, however many tasks ask at that moment. Calls that act for a person forward that
person's token instead; this identity is for the service's own work only.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import time
from typing import Any

import httpx2
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from services.chassis.auth import Principal, issue_dev_token
from services.chassis.errors import ServiceUnavailable
from services.chassis.settings import CommonSettings

SERVICE_ROLES = frozenset({"reader"})
"""What a service's own identity may do: read, cleared for everything. What it reads this way it
uses to compute (never to show): answers to people are filtered by their own token."""


class ServiceCredentials:
    def __init__(self, settings: CommonSettings, service: str, client: httpx2.AsyncClient) -> None:
        self.settings = settings
        self.sub = f"service:{service}"
        self.client = client
        self._token: OAuth2Token | None = None
        self._leeway = 0
        self._lock = asyncio.Lock()
        self.renewals = 0

    async def principal(self) -> Principal:
        """The service's identity with a token that is good for a while yet."""
        async with self._lock:
            if self._token is None or self._token.is_expired(leeway=self._leeway):
                self._token = await self._fetch()
                lifetime = max(int(self._token["expires_at"] - time.time()), 0)
                self._leeway = min(60, lifetime // 5)
                self.renewals += 1
            token = str(self._token["access_token"])
        return Principal(sub=self.sub, roles=SERVICE_ROLES, clearance="secret", token=token)

    async def _fetch(self) -> OAuth2Token:
        if self.settings.oauth_token_url is None:
            return self._development_token()
        body = prepare_token_request("client_credentials", scope=self.settings.oauth_scope)
        secret = self.settings.oauth_secret()
        basic = base64.b64encode(f"{self.settings.oauth_client_id}:{secret}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        try:
            response = await self.client.post(self.settings.oauth_token_url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise ServiceUnavailable(f"the identity provider is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"the identity provider refused the service's credentials ({response.status_code})"
            )
        try:
            answer: Any = response.json()
        except ValueError as exc:
            raise ServiceUnavailable("the identity provider's token answer is not JSON") from exc
        expires_in = answer.get("expires_in") if isinstance(answer, dict) else None
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("access_token"), str)
            or isinstance(expires_in, bool)
            or not isinstance(expires_in, int | float)
            or expires_in < 1
        ):
            raise ServiceUnavailable("the identity provider's token answer has no access_token and expires_in")
        return OAuth2Token.from_dict(answer)

    def _development_token(self) -> OAuth2Token:
        lifetime = self.settings.service_token_lifetime_seconds
        token = issue_dev_token(
            self.settings,
            sub=self.sub,
            roles=sorted(SERVICE_ROLES),
            clearance="secret",
            ttl=dt.timedelta(seconds=lifetime),
        )
        return OAuth2Token.from_dict({"access_token": token, "token_type": "Bearer", "expires_in": lifetime})
