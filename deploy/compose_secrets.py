"""Make the secrets ``deploy/compose.yaml`` mounts (``make compose-secrets``): random passwords and
client secret, the issuer's ES256 key, each service's Ed25519 audit key and the key that seals
the portal's session cookie, in ``deploy/secrets/``
(ignored by git). A file that is there already is kept, so running it again changes nothing.

    python deploy/compose_secrets.py [DIRECTORY]

The folder is the developer's own (mode 0700); the files in it are readable by all (0644) because
compose mounts each file as it is into containers that run as other users (PostgreSQL as 999, the
platform as 10001). To renew one, delete it and run this again; a new database password needs a new
database volume too (``docker compose -f deploy/compose.yaml down --volumes``): PostgreSQL reads the
passwords on its first start only.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

SERVICES = ("valuechains", "portfolio", "principles")
DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "secrets"


def password() -> bytes:
    return secrets.token_urlsafe(32).encode() + b"\n"


def pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def contents() -> dict[str, Callable[[], bytes]]:
    """Each file's name and how its content is made."""
    made: dict[str, Callable[[], bytes]] = {"postgres_password": password, "oauth_client_secret": password}
    made |= {f"{service}_database_password": password for service in SERVICES}
    made["issuer-signing-key.pem"] = lambda: pem(ec.generate_private_key(ec.SECP256R1()))
    made |= {
        f"{service}-audit-signing-key.pem": lambda: pem(ed25519.Ed25519PrivateKey.generate()) for service in SERVICES
    }
    made["portal-session-keys"] = lambda: Fernet.generate_key() + b"\n"
    return made


def make(directory: Path) -> list[str]:
    """The files made (not those already there)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = []
    for name, content in contents().items():
        path = directory / name
        if path.exists():
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(content())
        os.chmod(path, 0o644)  # whatever the umask
        made.append(name)
    return made


def main(argv: list[str]) -> None:
    directory = Path(argv[1]) if len(argv) > 1 else DEFAULT_DIRECTORY
    made = make(directory)
    print(f"{directory}: made {', '.join(made)}" if made else f"{directory}: every secret is there already")


if __name__ == "__main__":
    main(sys.argv)
