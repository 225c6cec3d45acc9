"""The development identity provider: an OAuth2 authorization server for ``make run`` and compose,
so the suite runs with no outside identity provider, and never beside production settings.

It serves what the services read from an identity provider (docs/operations.md, "OIDC and the
service client"): OIDC discovery (``/.well-known/openid-configuration``), the signing keys
(``/jwks.json``: the key ring's published keys, two while one retires) and a token endpoint with
the client-credentials grant for the services' own client, issuing ES256 JWTs with the platform's
``iss``, ``aud``, ``roles`` and ``clearance``; and for a person, authorization code with PKCE at
``/authorize``, whose sign-in page lets a developer pick a development identity (the explorer's
public client). A person's token comes from its command line too (``python -m deploy.devissuer
token --role ...``, the options of ``make token``), signed with the same keys; ``rotate`` starts a
new key.

- ``settings``: what it reads (``IV_*``), and the rule that it refuses production settings;
- ``server``: authlib's authorization server on Starlette requests, its clients, codes and tokens;
- ``signin``: the sign-in page;
- ``app``: the ASGI app (``uvicorn --factory deploy.devissuer.app:create_app``);
- ``__main__``: the command line.

Its keys are the development key ring (services/chassis/signing_keys.py), shared with ``make token``.
"""
