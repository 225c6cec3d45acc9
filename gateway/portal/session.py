"""The portal's session: a sealed cookie holding the person's access token and its expiry, nothing more.

No session store: several gateway instances serve the same people, and none of them shares memory
with the others. So the session travels with the browser, sealed (Fernet: AES-CBC encrypted and
HMAC-SHA256 signed, from ``cryptography``) with keys every instance holds
(``IV_PORTAL_SESSION_KEYS``). What it holds is what the portal must have to call the API as the
person: the token (which already says who they are, their roles, unit and clearance) and when it
ends. Nothing the token does not say is stored; nothing is stored in the clear.

The cookie is ``HttpOnly`` (no script reads it), ``Secure`` (never over plain HTTP, but browsers
treat 127.0.0.1 and localhost as secure), ``SameSite=Strict`` (no other site's page sends it) and
``Path=/portal``. It ends when the token does (``Max-Age``); the seal is refused once the token's
expiry has passed, whatever the browser keeps.

CSRF: every form carries ``csrf``, an HMAC of the session's token under a key derived from the
first session key, so it is bound to this session (a token of another session, or none, is
refused) and needs no storage; it is compared in constant time.

Signing in needs a short-lived second cookie, ``SIGN_IN_COOKIE``: the OAuth2 ``state``, the PKCE
verifier and the page to return to, sealed the same way, for the answer of the identity provider
only (``Path`` of the callback, ten minutes, ``SameSite=Lax``: the provider's redirect back is a
navigation from another site, on which a ``Strict`` cookie is not sent; it grants nothing by
itself, and it is removed once used).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "iv_portal_session"
SIGN_IN_COOKIE = "iv_portal_sign_in"
PORTAL_PATH = "/portal"
CALLBACK_PATH = PORTAL_PATH + "/aanmelden/terug"
SIGN_IN_SECONDS = 600
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    """A signed-in person: their access token and when it ends (seconds since the epoch)."""

    token: str
    expires_at: float


@dataclass(frozen=True)
class SignInRequest:
    """What the callback checks the provider's answer against."""

    state: str
    verifier: str
    next_path: str


class Sealer:
    """Seals and opens the portal's cookies with the configured keys (the first seals)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            keys = [Fernet.generate_key().decode()]
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ValueError(
                "IV_PORTAL_SESSION_KEYS: each key must be a Fernet key (32 url-safe base64 bytes)"
            ) from exc
        self._csrf_key = hashlib.sha256(b"iv-portal-csrf:" + keys[0].encode()).digest()

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def open(self, value: str | None, max_age: int | None = None) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            data = json.loads(self._fernet.decrypt(value.encode(), ttl=max_age))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # The session ---------------------------------------------------------------------------------

    def session_of(self, request: Request) -> Session | None:
        data = self.open(request.cookies.get(SESSION_COOKIE))
        if data is None:
            return None
        token, expires_at = data.get("token"), data.get("exp")
        if not isinstance(token, str) or not isinstance(expires_at, int | float) or expires_at <= time.time():
            return None
        return Session(token, float(expires_at))

    def start(self, response: Response, session: Session) -> None:
        max_age = max(0, int(session.expires_at - time.time()))
        set_cookie(response, SESSION_COOKIE, self.seal({"token": session.token, "exp": session.expires_at}), max_age)

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.token.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, offered: str | None) -> bool:
        return session is not None and offered is not None and hmac.compare_digest(self.csrf_token(session), offered)

    # Signing in ----------------------------------------------------------------------------------

    def remember_sign_in(self, response: Response, sign_in: SignInRequest) -> None:
        value = self.seal({"state": sign_in.state, "verifier": sign_in.verifier, "next": sign_in.next_path})
        set_cookie(response, SIGN_IN_COOKIE, value, SIGN_IN_SECONDS, path=CALLBACK_PATH, same_site="lax")

    def sign_in_of(self, request: Request) -> SignInRequest | None:
        data = self.open(request.cookies.get(SIGN_IN_COOKIE), max_age=SIGN_IN_SECONDS)
        if data is None:
            return None
        state, verifier, next_path = data.get("state"), data.get("verifier"), data.get("next")
        if not (isinstance(state, str) and isinstance(verifier, str) and isinstance(next_path, str)):
            return None
        return SignInRequest(state, verifier, next_path)


def set_cookie(
    response: Response, name: str, value: str, max_age: int, *, path: str = PORTAL_PATH, same_site: str = "strict"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=True,
        httponly=True,
        samesite=same_site,  # type: ignore[arg-type]
    )


def end_cookies(response: Response) -> None:
    """Remove the session (and any sign-in under way) from the browser."""
    response.delete_cookie(SESSION_COOKIE, path=PORTAL_PATH, secure=True, httponly=True, samesite="strict")
    response.delete_cookie(SIGN_IN_COOKIE, path=CALLBACK_PATH, secure=True, httponly=True, samesite="lax")
