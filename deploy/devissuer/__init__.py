"""The development token issuer: an OAuth2 authorization server for compose, so the suite runs
with no outside identity provider, and never beside production settings.

It serves what the services read from an identity provider (docs/operations.md, "OIDC and the
service client"): OIDC discovery (``/.well-known/openid-configuration``), the signing keys
(``/jwks.json``) and a token endpoint with the client-credentials grant for the services' own
client, issuing ES256 JWTs with the platform's ``iss``, ``aud``, ``roles`` and ``clearance``. A
person's token comes from its command line (``python -m deploy.devissuer token --role ...``, the
options of ``make token``), signed with the same key.

- ``settings``: what it reads (``IV_*``), and the rule that it refuses production settings;
- ``keys``: its signing key and the JWKS;
- ``server``: authlib's authorization server on Starlette requests, its clients and its tokens;
- ``app``: the ASGI app (``uvicorn --factory deploy.devissuer.app:create_app``);
- ``__main__``: the command line.

Later grants (authorization code with PKCE and a sign-in page, for a browser) register with the same
authorization server (``server.authorization_server``) and sign with the same generator.
"""
