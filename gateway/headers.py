"""Which headers cross the gateway, in each direction.

Requests lose the hop-by-hop headers (RFC 9110 section 7.6.1, and any the ``Connection`` header
names) and every header a client could use to pose as someone or somewhere else: the services
know the caller only from the bearer token, and where the request came from only from the
``X-Forwarded-*`` headers the gateway itself sets. When the gateway runs behind a trusted ingress,
uvicorn's ``--forwarded-allow-ips`` has already put the real client address into the connection
scope, which is what ``X-Forwarded-For`` is built from here.
"""

from __future__ import annotations

from collections.abc import Sequence

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Set by proxies or identity-aware front ends; from a client they are lies we must not pass on.
SPOOFABLE = frozenset(
    {
        "forwarded",
        "x-real-ip",
        "x-client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-url",
        "x-rewrite-url",
        "remote-user",
        "remote-addr",
        "x-roles",
        "x-clearance",
        "x-unit",
        "x-groups",
        "x-email",
    }
)
SPOOFABLE_PREFIXES = (
    "x-forwarded-",
    "x-original-",
    "x-user",
    "x-remote-",
    "x-auth-",
    "x-authenticated-",
    "x-principal",
    "x-identity",
    "x-iv-",
)

# Recomputed for the new exchange: the gateway sends its own Host, length and encodings.
RECOMPUTED_REQUEST = frozenset({"host", "content-length", "accept-encoding", "expect"})
# The gateway answers with the decoded body and its own framing, date and server headers.
RECOMPUTED_RESPONSE = frozenset({"content-length", "content-encoding", "date", "server"})


_REQUEST_DROPPED = HOP_BY_HOP | RECOMPUTED_REQUEST
_RESPONSE_DROPPED = HOP_BY_HOP | RECOMPUTED_RESPONSE


def _connection_tokens(value: bytes) -> set[str]:
    """The header names a ``Connection`` header's value makes hop-by-hop."""
    return {t.strip().lower() for t in value.decode("latin-1").split(",") if t.strip()}


def is_spoofable(name: str) -> bool:
    return name in SPOOFABLE or name.startswith(SPOOFABLE_PREFIXES)


def _crossing(
    raw: Sequence[tuple[bytes, bytes]], dropped: frozenset[str], *, spoofable: bool
) -> list[tuple[bytes, bytes, str]]:
    """(name, value, lower-case name) of the headers that cross: not hop-by-hop, not named by
    ``Connection``, not in ``dropped`` and, with ``spoofable``, none a client could lie with. One
    pass over the headers; the names ``Connection`` gives are taken out after it."""
    named: set[str] = set()
    kept = []
    for name, value in raw:
        lower = name.decode("latin-1").lower()
        if lower == "connection":
            named |= _connection_tokens(value)
        elif lower not in dropped and not (spoofable and is_spoofable(lower)):
            kept.append((name, value, lower))
    return [header for header in kept if header[2] not in named] if named else kept


def request_headers(
    raw: Sequence[tuple[bytes, bytes]], *, client_ip: str | None, proto: str, host: str | None
) -> list[tuple[str, str]]:
    """The client's headers as the upstream may see them, plus the gateway's X-Forwarded-*: decoded
    once, names in lower case, ready for the upstream request."""
    kept = [(lower, value.decode("latin-1")) for _, value, lower in _crossing(raw, _REQUEST_DROPPED, spoofable=True)]
    if client_ip:
        kept.append(("x-forwarded-for", client_ip))
    kept.append(("x-forwarded-proto", proto))
    if host:
        kept.append(("x-forwarded-host", host))
    return kept


def response_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's answer headers the client gets (duplicates such as Link kept)."""
    return [(name, value) for name, value, _ in _crossing(raw, _RESPONSE_DROPPED, spoofable=False)]
