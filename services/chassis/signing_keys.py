"""Signing keys with rollover: the development key ring that signs, and the trusted keys that verify.

``KeyRing`` is the development key and the keys that replaced it: the first key is the one file
``make token`` has always used (``var/dev-signing-key.pem``, or a mounted secret), each rotation
(``python -m deploy.devissuer rotate``) adds ``var/signing-keys/<n>.pem``. The newest key signs;
a replaced key stays published for ``grace`` seconds after its successor was made (long enough for
every token it signed to expire), then it is dropped. ``make token``, the services' own
development tokens and the development identity provider all sign with the ring, so their tokens
verify the same way, and each names its key by its RFC 7638 thumbprint (``kid``).

``TrustedKeys`` is what a verifier trusts: a JWKS fetched from a source (the identity provider's
``IV_JWKS_URL``, or the ring's public half in development), kept ``lifespan`` seconds, fetched
again when a token names a key it does not hold, so a rollover at the provider is followed without
a restart and without a refused request. Those refetches are bounded: however many requests name
unknown keys, at most one fetch in ``refetch_interval`` seconds, shared by every request waiting.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey, KeySet

DEV_ALGORITHM = "ES256"
ROTATED_KEYS_DIR = "signing-keys"
"""Where, under the var directory, rotated development keys are kept."""


def ensure_private_key(path: Path, generate: Callable[[], Any]) -> Any:
    """Load a private key file, creating it atomically (``generate()``) if no process has yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dev-key-")
        try:
            os.write(fd, pem)
            os.close(fd)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def ensure_dev_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load a development signing key, creating it atomically if no process has yet."""
    loaded = ensure_private_key(path, lambda: ec.generate_private_key(ec.SECP256R1()))
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return loaded


@dataclass(frozen=True)
class RingKey:
    """One key of the ring: the private key, its ``kid``, and when its successor was made (``None``
    while it is the newest)."""

    path: Path
    private: ec.EllipticCurvePrivateKey
    kid: str
    replaced_at: float | None

    @classmethod
    def load(cls, path: Path, replaced_at: float | None) -> RingKey:
        private = ensure_dev_key(path)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(path, private, ECKey.import_key(pem).thumbprint(), replaced_at)

    @property
    def jwk(self) -> ECKey:
        """The private key as joserfc holds it, named by its ``kid`` (authlib's token generator signs with it)."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return ECKey.import_key(pem, parameters={"kid": self.kid, "use": "sig", "alg": DEV_ALGORITHM})

    def public_jwk(self) -> dict[str, Any]:
        return self.jwk.as_dict(private=False)


class KeyRing:
    """The development signing keys: ``first`` and the files of ``rotated_dir`` (``1.pem``, ``2.pem``, ...)."""

    def __init__(self, first: Path, rotated_dir: Path, grace_seconds: float, clock: Callable[[], float] = time.time):
        self.first = first
        self.rotated_dir = rotated_dir
        self.grace_seconds = grace_seconds
        self.clock = clock
        self._loaded: dict[tuple[Path, float | None], RingKey] = {}

    def _rotated(self) -> list[tuple[int, Path]]:
        if not self.rotated_dir.is_dir():
            return []
        numbered = [(int(p.stem), p) for p in self.rotated_dir.glob("*.pem") if p.stem.isdigit()]
        return sorted(numbered)

    def keys(self) -> list[RingKey]:
        """Every key still on disk, oldest first; each read once (files never change once written)."""
        paths = [self.first, *(path for _, path in self._rotated())]
        keys = []
        for index, path in enumerate(paths):
            replaced_at = paths[index + 1].stat().st_mtime if index + 1 < len(paths) else None
            cached = self._loaded.get((path, replaced_at))
            if cached is None:
                cached = self._loaded[(path, replaced_at)] = RingKey.load(path, replaced_at)
            keys.append(cached)
        return keys

    def current(self) -> RingKey:
        """The key that signs: the newest."""
        return self.keys()[-1]

    def published(self) -> list[RingKey]:
        """The newest key and every replaced one still within its grace period."""
        now = self.clock()
        return [k for k in self.keys() if k.replaced_at is None or now < k.replaced_at + self.grace_seconds]

    def jwks(self) -> dict[str, Any]:
        """The public half of the published keys, as ``/jwks.json`` serves it."""
        return {"keys": [key.public_jwk() for key in self.published()]}

    def key_set(self) -> KeySet:
        """The signing key as a joserfc set (it names the key in the header)."""
        return KeySet([self.current().jwk])

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        key = self.current()
        return jwt.encode(claims, key.private, algorithm=DEV_ALGORITHM, headers={"kid": key.kid, "typ": typ})

    def rotate(self) -> RingKey:
        """A new key that signs from now on; rotated keys past their grace period are deleted (the
        first key may be a mounted secret: it is only no longer published)."""
        rotated = self._rotated()
        number = rotated[-1][0] + 1 if rotated else 1
        ensure_dev_key(self.rotated_dir / f"{number}.pem")
        for key in self.keys():
            if key.path != self.first and key not in self.published():
                key.path.unlink(missing_ok=True)
        return self.current()


class TrustedKeys:
    """The keys a verifier accepts, from ``fetch`` (a JWKS as a dict), refreshed every ``lifespan``
    seconds and when a token names an unknown key, at most once in ``refetch_interval`` seconds.

    A request that finds its key unknown waits for the next fetch (never longer than
    ``refetch_interval``), and every request waiting meanwhile shares it. When a fetch fails, the
    keys already held keep serving.
    """

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        *,
        lifespan: float,
        refetch_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.lifespan = lifespan
        self.refetch_interval = refetch_interval
        self.clock = clock
        self.fetches = 0
        self._keys: list[jwt.PyJWK] | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = anyio.Lock()

    def _matching(self, kid: str | None) -> list[jwt.PyJWK]:
        keys = self._keys or []
        return [k for k in keys if kid is None or k.key_id == kid]

    async def keys_for(self, kid: str | None) -> list[jwt.PyJWK]:
        """The keys a token naming ``kid`` may be signed with (every key, for a token naming none);
        empty when the source has no such key, even after a fetch."""
        asked = self.clock()
        if self._fetched_at is None or asked - self._fetched_at >= self.lifespan:
            await self._refresh(asked, must_have=self._keys is None)
        found = self._matching(kid)
        if not found and kid is not None:
            await self._refresh(asked, must_have=True)
            found = self._matching(kid)
        return found

    async def _refresh(self, asked: float, *, must_have: bool) -> None:
        async with self._lock:
            if self._attempted_at is not None and self._attempted_at >= asked:
                return  # fetched (or tried) since this request asked: that answer is as fresh as any
            if self._attempted_at is not None:
                wait = self._attempted_at + self.refetch_interval - self.clock()
                if wait > 0:
                    await anyio.sleep(wait)
            self._attempted_at = self.clock()
            self.fetches += 1
            try:
                try:
                    data = await anyio.to_thread.run_sync(self._fetch)
                except ValueError as exc:  # an answer that is not JSON (PyJWKClient lets it through)
                    raise jwt.PyJWKClientError(f"the JWKS is not JSON: {exc}") from exc
                keys = jwt.PyJWKSet.from_dict(data).keys
            except (jwt.PyJWKClientError, jwt.PyJWKSetError):
                if must_have and self._keys is None:
                    raise
                return
            self._keys = keys
            self._fetched_at = self._attempted_at
