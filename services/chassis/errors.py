"""One error hierarchy, rendered as RFC 9457 ``application/problem+json`` everywhere.

Every problem has a ``type`` of the form ``/problems/<slug>``; the gateway serves the catalogue
of types at ``/problems`` so a client can look up what each means.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Send

logger = logging.getLogger("iv.errors")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"


PROBLEM_TYPES: dict[str, ProblemType] = {}


def _register(slug: str, status: int, title: str, description: str) -> ProblemType:
    problem_type = ProblemType(slug, status, title, description)
    PROBLEM_TYPES[slug] = problem_type
    return problem_type


BAD_REQUEST = _register("bad-request", 400, "Bad request", "The request is malformed.")
QUERY_PARAMETER = _register(
    "query-parameter",
    400,
    "Query parameter not taken",
    "A query parameter the operation does not take, or a single-valued one given more than once; `parameter` names it.",
)
UNAUTHENTICATED = _register(
    "unauthenticated",
    401,
    "Authentication required",
    "No bearer token, or a token that is expired, forged, for another audience or issuer.",
)
FORBIDDEN = _register("forbidden", 403, "Forbidden", "The token is valid but its holder may not do this.")
NOT_FOUND = _register(
    "not-found",
    404,
    "Not found",
    "No such resource, or one the caller is not cleared to see (need to know).",
)
METHOD_NOT_ALLOWED = _register(
    "method-not-allowed", 405, "Method not allowed", "The resource does not support this method."
)
NOT_ACCEPTABLE = _register(
    "not-acceptable", 406, "Not acceptable", "None of the media types in Accept can be produced."
)
CONFLICT = _register(
    "conflict",
    409,
    "Conflict",
    "The request conflicts with the resource's state (an illegal status move, a frozen round, "
    "a duplicate code, or an idempotency key still in flight).",
)
PRECONDITION_FAILED = _register(
    "precondition-failed",
    412,
    "Precondition failed",
    "If-Match names a version that is no longer current, or If-None-Match: * found an "
    "existing resource. Read the resource again and reapply the change.",
)
PAYLOAD_TOO_LARGE = _register(
    "payload-too-large", 413, "Payload too large", "The request body exceeds the configured limit."
)
UNSUPPORTED_MEDIA_TYPE = _register(
    "unsupported-media-type", 415, "Unsupported media type", "Request bodies must be JSON."
)
VALIDATION = _register(
    "validation",
    422,
    "Unprocessable content",
    "The body or query does not validate; `errors` lists each field and what is wrong.",
)
PRECONDITION_REQUIRED = _register(
    "precondition-required",
    428,
    "Precondition required",
    "This change needs If-Match with the ETag you last read, so that no update is lost.",
)
TOO_MANY_REQUESTS = _register(
    "too-many-requests",
    429,
    "Too many requests",
    "The caller holds as many of these open as one may (change streams); `Retry-After` says when to try again.",
)
INTERNAL = _register("internal", 500, "Internal server error", "Something failed on our side; it has been logged.")
BAD_GATEWAY = _register("bad-gateway", 502, "Bad gateway", "An upstream service answered with an invalid response.")
UNAVAILABLE = _register(
    "unavailable",
    503,
    "Service unavailable",
    "A service this request depends on is unreachable or not ready; nothing was changed.",
)
GATEWAY_TIMEOUT = _register("gateway-timeout", 504, "Gateway timeout", "An upstream service did not answer in time.")


class Problem(Exception):
    """Raise to answer with a problem document. Subclasses fix the type."""

    problem_type: ProblemType = BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def status(self) -> int:
        return self.problem_type.status

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(self.problem_type, self.detail, errors=self.errors, instance=instance, extra=self.extra)


class BadRequest(Problem):
    problem_type = BAD_REQUEST


class Unauthenticated(Problem):
    problem_type = UNAUTHENTICATED

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(Problem):
    problem_type = FORBIDDEN


class NotFound(Problem):
    problem_type = NOT_FOUND


class Conflict(Problem):
    problem_type = CONFLICT


class PreconditionFailed(Problem):
    problem_type = PRECONDITION_FAILED


class PreconditionRequired(Problem):
    problem_type = PRECONDITION_REQUIRED


class PayloadTooLarge(Problem):
    problem_type = PAYLOAD_TOO_LARGE


class NotAcceptable(Problem):
    problem_type = NOT_ACCEPTABLE


class ValidationProblem(Problem):
    problem_type = VALIDATION

    @classmethod
    def field(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> ValidationProblem:
        """A 422 about one field, ``loc`` as in FastAPI's errors (``["body", "end"]``)."""
        return cls(msg, errors=[{"loc": list(loc), "msg": msg, "type": type_}])


class TooManyRequests(Problem):
    problem_type = TOO_MANY_REQUESTS


class ServiceUnavailable(Problem):
    problem_type = UNAVAILABLE


class BadGateway(Problem):
    problem_type = BAD_GATEWAY


class GatewayTimeout(Problem):
    problem_type = GATEWAY_TIMEOUT


def problem_body(
    problem_type: ProblemType,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type.uri,
        "title": problem_type.title,
        "status": problem_type.status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return body


def problem_response(
    problem_type: ProblemType,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(problem_type, detail, errors=errors, instance=instance, extra=extra),
        status_code=problem_type.status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


_STATUS_TYPES = {pt.status: pt for pt in reversed(list(PROBLEM_TYPES.values()))}


def type_for_status(status: int) -> ProblemType:
    return _STATUS_TYPES.get(status) or (INTERNAL if status >= 500 else BAD_REQUEST)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        item: dict[str, Any] = {
            "loc": [part for part in error.get("loc", ()) if isinstance(part, str | int)],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "value_error")),
        }
        errors.append(item)
    return errors


def _summarise(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error["loc"][1:]) or ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


BUSY = ("database is locked", "database table is locked", "database is busy")
BUSY_SQLSTATES = frozenset({"55P03", "40001", "40P01"})  # lock_not_available, serialization_failure, deadlock


def is_busy(exc: OperationalError) -> bool:
    """A lock or serialization failure: the request may be retried as it is."""
    return any(m in str(exc.orig) for m in BUSY) or getattr(exc.orig, "sqlstate", None) in BUSY_SQLSTATES


def add_exception_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json; never leak internals."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(
            exc.problem_type,
            exc.detail,
            errors=exc.errors,
            instance=request.url.path,
            headers=exc.headers,
            extra=exc.extra,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        return problem_response(
            VALIDATION, _summarise(errors) or "invalid request", errors=errors, instance=request.url.path
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem_type = type_for_status(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else problem_type.title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(problem_type, detail, instance=request.url.path, headers=exc.headers or None)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        # Sent by Starlette's ServerErrorMiddleware, inside the front door: it gets the trace id there.
        return problem_response(INTERNAL, "an internal error occurred", instance=request.url.path)

    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        # A unique or foreign-key constraint caught a race the checks before it could not see.
        logger.info("integrity error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            CONFLICT, "the change conflicts with data stored meanwhile; read again and retry", instance=request.url.path
        )

    async def on_operational(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError) and not is_busy(exc):
            return await on_unexpected(request, exc)
        # The database's write lock (SQLite: another process) or the pool stayed taken past its
        # timeout: nothing was changed, and the caller may simply come back.
        # The driver's message only: the statement and its parameters stay out of the log.
        logger.warning("database busy on %s %s: %s", request.method, request.url.path, getattr(exc, "orig", exc))
        return problem_response(
            UNAVAILABLE,
            "the database is busy; nothing was changed, retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(OperationalError, on_operational)
    app.add_exception_handler(PoolTimeout, on_operational)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


async def answer_for(app: Starlette, request: Request, exc: Exception) -> tuple[Response, bool] | None:
    """The answer ``app``'s exception handlers give ``exc`` (the nearest class in its MRO), as the
    middleware stack would give it, and whether ``exc`` is a bug (only the handler of every
    ``Exception`` took it: the stack answers that one and raises it on, for the server to log);
    None when no handler takes it. For an endpoint served without the stack (the front door's lane,
    ``services.chassis.middleware``)."""
    handlers = app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            answer = handler(request, exc)
            response = cast(Response, await answer if inspect.isawaitable(answer) else answer)
            return response, cls is Exception
    return None


async def answer_failure(app: Starlette, request: Request, exc: Exception, send: Send) -> None:
    """Send the answer ``app``'s exception handlers give ``exc`` (``answer_for``), for an endpoint
    served without the stack; ``exc`` is raised on when no handler takes it, and after its 500 when
    it is a bug (as ``ServerErrorMiddleware`` does: the server logs it, the front door counts it)."""
    handled = await answer_for(app, request, exc)
    if handled is None:
        raise exc
    answer, bug = handled
    await answer(request.scope, request.receive, send)
    if bug:
        raise exc


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the given problem statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        kinds = [pt for pt in PROBLEM_TYPES.values() if pt.status == status]
        description = " ".join(f"{pt.title}: {pt.description}" for pt in kinds) or "Problem"
        out[status] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out
