"""Tokens: a static one (``IV_TOKEN``; development tokens are such), and OAuth2 client credentials.

In production a script or system authenticates as itself at the organisation's identity provider
with the client credentials grant (RFC 6749 section 4.4): ``ClientCredentials`` asks for a token,
keeps it until a fifth of its lifetime is left (at most a minute before it expires), then asks again,
once, however many threads need one; a 401 from the platform (a token revoked early) makes it ask
again and the request is sent once more.

In development the platform signs tokens with its development key (``make token``); ``dev_token``
asks the checkout for one the same way, so ``ivctl login`` can store it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Sequence
from pathlib import Path

import httpx2

from iv_client.errors import IVConnectionError, UnauthenticatedError


class BearerToken(httpx2.Auth):
    """A fixed bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token.strip()

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class ClientCredentials(httpx2.Auth):
    """OAuth2 client credentials at ``token_url``, the client authenticating with HTTP Basic."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        http: httpx2.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._http = http or httpx2.Client(timeout=timeout)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetched = 0
        """How many tokens it asked the identity provider for."""

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.time() >= self._renew_at:
                self._token, lifetime = self._fetch()
                self._renew_at = time.time() + lifetime - min(60.0, lifetime / 5)
                self.fetched += 1
            return self._token

    def _fetch(self) -> tuple[str, float]:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        try:
            answer = self._http.post(
                self.token_url,
                data=data,
                auth=httpx2.BasicAuth(self.client_id, self.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx2.TransportError as exc:
            raise IVConnectionError(f"the identity provider at {self.token_url} is unreachable: {exc}") from exc
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        token, lifetime = body.get("access_token"), body.get("expires_in", 300)
        if answer.status_code != 200 or not isinstance(token, str) or not isinstance(lifetime, int | float):
            reason = body.get("error_description") or body.get("error") or answer.reason_phrase
            raise UnauthenticatedError(
                {
                    "type": "/problems/unauthenticated",
                    "title": "Authentication required",
                    "status": 401,
                    "detail": f"the identity provider refused the client credentials ({answer.status_code}: {reason})",
                }
            )
        return token, float(lifetime)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
            yield request


def dev_token(
    roles: Sequence[str],
    *,
    sub: str | None = None,
    unit: str | None = None,
    clearance: str | None = None,
    name: str | None = None,
    hours: float = 12,
    checkout: Path | None = None,
    python: str | None = None,
) -> str:
    """A development token from a platform checkout (``checkout``, else ``$IV_CHECKOUT``, else the
    current directory), made as ``make token`` makes one: signed with its development key, which
    only a platform in development mode accepts."""
    root = (checkout or Path(os.environ.get("IV_CHECKOUT") or Path.cwd())).resolve()
    command = [python or sys.executable, "-m", "services.chassis.auth", "--role", ",".join(roles)]
    command += ["--hours", str(hours)]
    for flag, value in (("--sub", sub), ("--unit", unit), ("--clearance", clearance), ("--name", name)):
        if value is not None:
            command += [flag, value]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(
            f"no development token from {root} (run this in the platform's checkout): "
            f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
        )
    return result.stdout.strip()
