"""``python -m deploy.devissuer token --role ROLE [--sub .. --unit .. --clearance .. --name .. --hours ..]``:
a person's token from the development token issuer, signed with its key, with its ``iss`` and
``aud``: the options and claims of ``make token``, for the services of compose (which accept only
this issuer's keys). In compose: ``make compose-token ROLE=admin``."""

from __future__ import annotations

import argparse
import sys
from typing import Unpack

from joserfc import jwt

from deploy.devissuer.keys import SigningKey
from deploy.devissuer.settings import IssuerSettings
from services.chassis.auth import DEV_ALGORITHM, Person, add_person_arguments, person_claims, person_of


def person_token(settings: IssuerSettings, **person: Unpack[Person]) -> str:
    """A person's token, with the issuer's ``iss`` and ``aud``, signed with its key."""
    claims = person_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, **person)
    if claims["exp"] - claims["iat"] > settings.jwt_max_lifetime_seconds:
        raise ValueError(f"the services refuse tokens living longer than {settings.jwt_max_lifetime_seconds} seconds")
    key = SigningKey.load(settings.signing_key_path)
    return jwt.encode({"alg": DEV_ALGORITHM, "typ": "at+jwt"}, claims, key.key_set)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.devissuer", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_person_arguments(commands.add_parser("token", help="print a person's token"))
    args = parser.parse_args(argv)
    print(person_token(IssuerSettings(), **person_of(args)))


if __name__ == "__main__":
    main(sys.argv[1:])
