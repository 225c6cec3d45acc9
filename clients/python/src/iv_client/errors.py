"""Every problem the platform answers with, as an exception of its own.

The platform answers errors as RFC 9457 ``application/problem+json``: ``type`` (``/problems/<slug>``),
``title``, ``status``, ``detail``, ``instance``, and on some problems more (``errors`` on 422, ``allowed``
and ``current`` on an illegal status move, ``parameter`` on a query parameter not taken). A problem
becomes the ``ProblemError`` subclass for its type (or, for a type this client does not know, for its
status), so callers catch what they can act on::

    try:
        client.update(ebo, users=180)
    except VersionConflictError as conflict:  # 412: someone changed it since it was read
        ebo = conflict.current                # the record as it is now; reapply the change to it
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

PROBLEM_JSON = "application/problem+json"


class IVError(Exception):
    """Anything this client raises."""


class IVConnectionError(IVError):
    """The platform could not be reached, or the connection broke before an answer came."""


class ProblemError(IVError):
    """A problem document the platform answered with."""

    slug = ""
    """The type's slug (``/problems/<slug>``) this class stands for; empty for a status's class."""

    def __init__(self, problem: dict[str, Any], response: httpx2.Response | None = None) -> None:
        self.problem = problem
        self.response = response
        self.type: str = str(problem.get("type") or "about:blank")
        self.status: int = int(problem.get("status") or (response.status_code if response is not None else 0))
        self.title: str = str(problem.get("title") or "")
        self.detail: str = str(problem.get("detail") or "")
        self.instance: str | None = problem.get("instance")
        self.errors: list[dict[str, Any]] = list(problem.get("errors") or [])
        super().__init__(f"{self.status} {self.title}: {self.detail}" if self.detail else f"{self.status} {self.title}")

    @property
    def allowed(self) -> list[str] | None:
        """The moves allowed from the current status (on a 409 for an illegal status move)."""
        value = self.problem.get("allowed")
        return [str(v) for v in value] if isinstance(value, list) else None

    @property
    def extra(self) -> dict[str, Any]:
        """The problem's members beyond RFC 9457's and ``errors``: ``allowed``, ``current``, ``parameter``, ..."""
        standard = {"type", "title", "status", "detail", "instance", "errors"}
        return {k: v for k, v in self.problem.items() if k not in standard}

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds, where the answer gave one."""
        if self.response is None:
            return None
        value = self.response.headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def field_errors(self) -> list[str]:
        """Each entry of ``errors`` as one line: ``body.users: Input should be ...``."""
        return [
            f"{'.'.join(str(part) for part in error.get('loc', [])) or '(request)'}: {error.get('msg', '')}"
            for error in self.errors
        ]


class BadRequestError(ProblemError):
    """400: the request is malformed."""

    slug = "bad-request"


class QueryParameterError(BadRequestError):
    """400: a query parameter the operation does not take (``parameter`` names it)."""

    slug = "query-parameter"


class UnauthenticatedError(ProblemError):
    """401: no token, or one that is expired, forged or for another audience."""

    slug = "unauthenticated"


class ForbiddenError(ProblemError):
    """403: the token is good but its holder may not do this."""

    slug = "forbidden"


class NotFoundError(ProblemError):
    """404: no such resource, or one the caller may not see (need to know)."""

    slug = "not-found"


class MethodNotAllowedError(ProblemError):
    slug = "method-not-allowed"


class NotAcceptableError(ProblemError):
    slug = "not-acceptable"


class ConflictError(ProblemError):
    """409 or 412: the write conflicts with what is stored now."""

    current_version: int | None = None
    """The resource's version now, where the answer says (a 412's ``ETag``)."""


class StateConflictError(ConflictError):
    """409: the resource's state forbids this (an illegal status move: see ``allowed``; a frozen
    round; a duplicate code; archiving what is still in use)."""

    slug = "conflict"


class InFlightError(StateConflictError):
    """409: a request with the same Idempotency-Key is still being worked on. The client retries
    these itself; this is raised only when it gave up."""


class VersionConflictError(ConflictError):
    """412: the version sent in If-Match is no longer current: someone changed the resource since it
    was read. ``current_version`` is the version now; ``current`` the representation now, where the
    client read it again for you (``Client.update`` does)."""

    slug = "precondition-failed"

    def __init__(self, problem: dict[str, Any], response: httpx2.Response | None = None) -> None:
        super().__init__(problem, response)
        self.current: Any = None
        etag = response.headers.get("ETag") if response is not None else None
        self.current_version = parse_etag(etag)


class PayloadTooLargeError(ProblemError):
    slug = "payload-too-large"


class UnsupportedMediaTypeError(ProblemError):
    slug = "unsupported-media-type"


class UnprocessableError(ProblemError):
    """422: the body or query does not validate; ``errors`` lists each field and what is wrong."""

    slug = "validation"


class PreconditionRequiredError(ProblemError):
    """428: this change needs If-Match (the client sends it from the representation you pass)."""

    slug = "precondition-required"


class TooManyRequestsError(ProblemError):
    """429: the caller holds as many change streams open as one may; ``retry_after`` says when to retry."""

    slug = "too-many-requests"


class ServerError(ProblemError):
    """5xx: the platform failed to answer this request."""


class InternalError(ServerError):
    slug = "internal"


class BadGatewayError(ServerError):
    """502: a service behind the gateway dropped the request or answered nonsense."""

    slug = "bad-gateway"


class UnavailableError(ServerError):
    """503: a service this request depends on cannot be reached now; nothing was changed."""

    slug = "unavailable"


class GatewayTimeoutError(ServerError):
    """504: a service behind the gateway did not answer in time."""

    slug = "gateway-timeout"


_BY_SLUG: dict[str, type[ProblemError]] = {}
_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequestError,
    401: UnauthenticatedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    406: NotAcceptableError,
    409: StateConflictError,
    412: VersionConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableError,
    428: PreconditionRequiredError,
    429: TooManyRequestsError,
    500: InternalError,
    502: BadGatewayError,
    503: UnavailableError,
    504: GatewayTimeoutError,
}


def _register(cls: type[ProblemError]) -> None:
    if cls.slug:
        _BY_SLUG.setdefault(cls.slug, cls)
    for sub in cls.__subclasses__():
        _register(sub)


_register(ProblemError)


def parse_etag(value: str | None) -> int | None:
    """The version an ETag (``"3"``) names, or None."""
    if not value:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


def is_in_flight(status: int, problem: dict[str, Any], headers: httpx2.Headers) -> bool:
    """A 409 that says a request with the same Idempotency-Key is in flight (or was just released):
    the platform sends these with ``Retry-After``, or names the key in ``detail``. Retrying with the
    same key is safe: the key makes sure the work is done once."""
    if status != 409:
        return False
    return "retry-after" in headers or "idempotency-key" in str(problem.get("detail", "")).lower()


def problem_of(response: httpx2.Response) -> dict[str, Any]:
    """The answer's problem document; one made from the status when the body is not one."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "status" in body and "title" in body:
        return body
    return {
        "type": "about:blank",
        "title": response.reason_phrase or "Error",
        "status": response.status_code,
        "detail": response.text[:500],
    }


def error_for(response: httpx2.Response) -> ProblemError:
    """The exception for an answer of 400 or above."""
    problem = problem_of(response)
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
    cls = _BY_SLUG.get(slug) or _BY_STATUS.get(response.status_code)
    if cls is StateConflictError and is_in_flight(response.status_code, problem, response.headers):
        cls = InFlightError
    if cls is None:
        cls = ServerError if response.status_code >= 500 else ProblemError
    return cls(problem, response)
