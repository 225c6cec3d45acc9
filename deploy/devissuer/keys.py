"""The issuer's signing key: ES256 (P-256), as the services accept (``ALGORITHMS`` in
services/chassis/auth.py), named in every token's header by its RFC 7638 thumbprint (``kid``), so a
new key sits beside the old one in the JWKS while the old one's tokens run out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey, KeySet

from services.chassis.auth import DEV_ALGORITHM, ensure_dev_key


@dataclass(frozen=True)
class SigningKey:
    key: ECKey

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """The key in ``path`` (PEM), generated there first if there is none."""
        pem = ensure_dev_key(path).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        bare = ECKey.import_key(pem)
        return cls(ECKey.import_key(pem, parameters={"kid": bare.thumbprint(), "use": "sig", "alg": DEV_ALGORITHM}))

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def key_set(self) -> KeySet:
        """The private key as a set: joserfc then names it in the header (``kid``)."""
        return KeySet([self.key])

    def jwks(self) -> dict[str, Any]:
        """The public half, as ``/jwks.json`` serves it."""
        return {"keys": [self.key.as_dict(private=False)]}
