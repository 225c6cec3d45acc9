"""The development identity provider's command line:

- ``python -m deploy.devissuer token --role ROLE [--sub .. --unit .. --clearance .. --name .. --hours ..]``
  (``--partner ORG`` with ``--role partner``): a person's token signed with the key ring's newest
  key, with the provider's ``iss`` and ``aud``: the options and claims of ``make token``. In
  compose: ``make compose-token ROLE=admin``.
- ``python -m deploy.devissuer rotate``: a new signing key signs from now on; the one it replaces
  stays in ``/jwks.json`` for ``IV_SIGNING_KEY_GRACE_SECONDS``, then it is dropped. The running
  provider follows at its next token and JWKS request, and the services at the next token naming
  the new key: no restart.
"""

from __future__ import annotations

import argparse
import sys
from typing import Unpack

from deploy.devissuer.settings import IssuerSettings
from services.chassis.auth import Person, add_person_arguments, person_claims, person_of


def person_token(settings: IssuerSettings, **person: Unpack[Person]) -> str:
    """A person's token, with the provider's ``iss`` and ``aud``, signed with its newest key."""
    claims = person_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, **person)
    if claims["exp"] - claims["iat"] > settings.jwt_max_lifetime_seconds:
        raise ValueError(f"the services refuse tokens living longer than {settings.jwt_max_lifetime_seconds} seconds")
    return settings.key_ring().sign(claims, typ="at+jwt")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.devissuer", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_person_arguments(commands.add_parser("token", help="print a person's token"))
    commands.add_parser("rotate", help="a new signing key; the old one stays published for the grace period")
    args = parser.parse_args(argv)
    settings = IssuerSettings()
    if args.command == "rotate":
        key = settings.key_ring().rotate()
        published = ", ".join(k.kid for k in settings.key_ring().published())
        print(f"signing with {key.kid}; published: {published}")
        return
    print(person_token(settings, **person_of(args)))


if __name__ == "__main__":
    main(sys.argv[1:])
