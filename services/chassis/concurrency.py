"""ETag / If-Match: optimistic concurrency, so that no update is ever lost."""

from __future__ import annotations

import re

from services.chassis.errors import BadRequest, PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^\s*(W/)?"(?P<version>\d{1,18})"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def required_version(if_match: str | None) -> int:
    """The version an If-Match header names; 428 when absent."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "this change needs an If-Match header with the ETag you last read (for example "
            'If-Match: "3"), so that no one else\'s update is overwritten'
        )
    if if_match.strip() == "*":
        raise PreconditionRequired(
            'If-Match: * would overwrite whatever is current; send the ETag you last read, e.g. "3"'
        )
    versions = [_parse(part) for part in if_match.split(",")]
    if len(versions) != 1:
        raise BadRequest("If-Match must name exactly one ETag")
    return versions[0]


def optional_version(if_match: str | None) -> int | None:
    """Like ``required_version`` but absent (or ``*``: any current version) is allowed; used by DELETE."""
    if if_match is None or not if_match.strip() or if_match.strip() == "*":
        return None
    return required_version(if_match)


def _parse(value: str) -> int:
    match = _ETAG.match(value)
    if not match:
        raise BadRequest(f'malformed ETag {value.strip()!r}; expected a quoted version like "3"')
    if match.group(1):
        raise PreconditionFailed("weak ETags cannot be used with If-Match")
    return int(match["version"])


def check_version(current: int, expected: int) -> None:
    if current != expected:
        raise PreconditionFailed(
            f"the resource is at version {current}, not {expected}: someone changed it since you "
            "read it; read it again and reapply your change",
            headers={"ETag": etag(current)},
        )


def wants_create_only(if_none_match: str | None) -> bool:
    """True for ``If-None-Match: *``; other values are not supported on writes."""
    if if_none_match is None:
        return False
    if if_none_match.strip() != "*":
        raise BadRequest("on writes only If-None-Match: * is supported")
    return True
