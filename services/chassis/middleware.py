"""The front door: the one ASGI layer every request of a service or the gateway passes first.

It does in one layer what would otherwise be four, each wrapping ``send`` and ``receive`` again
(issue 13's profile: FastAPI's own tracing and three middlewares of ours were about a sixth of a
cheap GET): the request's server span (the caller's W3C trace context followed; non-recording
while nothing exports, yet naming the trace), the answer's headers (``X-Trace-Id``, nosniff, no
referrer, no framing, no caching of API answers, a Content-Security-Policy on pages), the request
metrics and the JSON access log, the limits on what a request may bring (a body over the limit,
declared or streamed: 413; a path or query no database could store: 422), and HEAD: answered as
its GET where nothing takes HEAD itself, the head alone sent (RFC 9110 section 9.3.2).

``install_front_door`` puts it outside Starlette's ``ServerErrorMiddleware``, where FastAPI's own
tracing sat, so that an unexpected error's 500 is traced, metered, logged and given the headers
like any other answer.

A **lane** (``install_front_door(lane=...)``) serves the requests it takes straight from the front
door, past the middleware stack and the router: the gateway's passing on, where the stack's five
layers and the search through the gateway's own routes were about a fifth of a proxied request's
work. What it takes is exactly what the router would have given the same route (it asks the
route); it answers its errors with the app's own exception handlers (``errors.answer_for``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, HTTPException
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import StatusCode
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.chassis.errors import PAYLOAD_TOO_LARGE, VALIDATION, problem_response
from services.chassis.telemetry import (
    TRACE_ID_HEADER,
    UNTRACED_PATHS,
    Metrics,
    access_logger,
    route_template,
    server_span,
)
from services.chassis.text import text_problem

PROPAGATED = frozenset({"traceparent", "tracestate", "baggage"})
"""The request headers a caller's trace context comes in (W3C trace context and baggage)."""

CLIENT_GONE = 499
"""The status a request is counted and logged with when its client went away before it was read."""

_TRACE_ID = TRACE_ID_HEADER.lower().encode()
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


Lane = Callable[[Scope], ASGIApp | None]
"""Given a request's scope: the ASGI app that serves it without the middleware stack, or None."""


class FrontDoor:
    """Span, headers, metrics, access log and request limits of every HTTP request (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        tracer_provider: trace.TracerProvider,
        max_bytes: int,
        page_paths: Iterable[str] = ("/docs",),
        lane: Lane | None = None,
    ) -> None:
        self.app = app
        self.lane = lane
        self.metrics = metrics
        self.provider = tracer_provider
        self.tracer = tracer_provider.get_tracer("iv.http")
        self.max_bytes = max_bytes
        self.page_prefixes = (*page_paths, "/static/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        span = None
        token = None
        if path not in UNTRACED_PATHS:
            span = server_span(self.provider, self.tracer, method, _caller_context(scope))
            if span.is_recording():
                span.set_attributes(
                    {"http.request.method": method, "url.path": path, "url.scheme": scope.get("scheme", "http")}
                )
            token = otel_context.attach(trace.set_span_in_context(span))
        status = 500  # until the answer starts: what an app that answers nothing gets from uvicorn
        page = path.startswith(self.page_prefixes)
        trace_id = format(span.get_span_context().trace_id, "032x") if span is not None else None

        head = False  # a HEAD answered as its GET: the answer's head goes, its content does not
        head_sent = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, head_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": _answer_headers(message.get("headers", ()), trace_id, page)}
            elif head:
                if head_sent:
                    return  # the answer is complete: what an event stream sends on goes nowhere
                head_sent = True
                # Complete without content; the server then tells the app the client has gone
                # (``http.disconnect``), so an event stream or an export asked for by HEAD ends.
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        failure: BaseException | None = None
        served_scope = scope  # what the app is given (and where its route is recorded)
        try:
            refused = self._refusal(scope)
            if refused is not None:
                await refused(scope, receive, send_with_headers)
            else:
                served = self.lane(scope) if self.lane is not None else None
                if served is None and method == "HEAD":
                    # HEAD is GET without the content (RFC 9110 section 9.3.2) wherever nothing
                    # takes HEAD itself (the gateway's proxy passes it on): the GET's answer, its
                    # head alone. Counted, logged and traced as the HEAD it is. The app gets a
                    # scope of its own: the server's still says HEAD (uvicorn then sends no body).
                    head = True
                    served_scope = {**scope, "method": "GET"}
                    served = self.lane(served_scope) if self.lane is not None else None
                await (served or self.app)(served_scope, self._limited(receive), send_with_headers)
        except ClientDisconnect:
            # The client went away before its request was in: no one to answer and no bug. Counted
            # and logged as 499 (nginx's "client closed request"), never as a 500.
            status = CLIENT_GONE
        except BaseException as exc:
            failure = exc
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(served_scope)
            if span is not None:
                if span.is_recording():
                    span.update_name(f"{method} {route}" if route != "unmatched" else method)
                    span.set_attributes({"http.route": route, "http.response.status_code": status})
                    if failure is not None:
                        span.record_exception(failure)
                    if failure is not None or status >= 500:
                        span.set_status(StatusCode.ERROR)
                span.end()
            self.metrics.observe(method, route, status, elapsed)
            if route not in UNTRACED_PATHS:
                _log_access(served_scope, method, path, route, status, elapsed)  # in the span: it names the trace
            if token is not None:
                otel_context.detach(token)

    def _refusal(self, scope: Scope) -> Response | None:
        """The problem answer for a request refused before it is read, else None."""
        unstorable = _unstorable_target(scope)
        if unstorable:
            part, problem = unstorable
            errors = [{"loc": [part], "msg": problem, "type": "string_unstorable"}]
            return problem_response(VALIDATION, f"the request {part} {problem}", errors=errors)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    return problem_response(
                        PAYLOAD_TOO_LARGE,
                        f"the body is {declared} bytes; the limit is {self.max_bytes}",
                        instance=scope.get("path"),
                    )
        return None

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses a body streamed past the limit."""
        seen = 0
        limit = self.max_bytes

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException survives FastAPI's body parsing (anything else becomes a 400).
                    raise HTTPException(413, f"the body exceeds the limit of {limit} bytes")
            return message

        return limited_receive


def _caller_context(scope: Scope) -> Context:
    """The caller's trace context from the request's headers; an empty one (a new trace) without."""
    carrier = {}
    for name, value in scope["headers"]:
        if len(name) <= 11:  # the longest of PROPAGATED: looked at only when it can be one
            key = name.decode("latin-1")
            if key in PROPAGATED:
                carrier[key] = value.decode("latin-1")
    return propagate.extract(carrier) if carrier else Context()


def _answer_headers(
    headers: Iterable[tuple[bytes, bytes]], trace_id: str | None, page: bool
) -> list[tuple[bytes, bytes]]:
    """The answer's headers with ours added where the route set none (the trace id always ours)."""
    out = [(name, value) for name, value in headers if name != _TRACE_ID]
    present = {name for name, _ in out}
    for name, value in _ALWAYS:
        if name not in present:
            out.append((name, value))
    if page:
        if b"content-security-policy" not in present:
            out.append((b"content-security-policy", page_policy().encode()))
    elif b"cache-control" not in present:
        out.append((b"cache-control", b"no-store"))
    if trace_id is not None:
        out.append((_TRACE_ID, trace_id.encode()))
    return out


def _log_access(scope: Scope, method: str, path: str, route: str, status: int, elapsed: float) -> None:
    principal = (scope.get("state") or {}).get("principal")
    own_work = str(getattr(principal, "sub", "")).startswith("service:")
    # The services' own polling (the follower every few seconds) is not news: debug level.
    level = logging.DEBUG if own_work and status < 400 else logging.INFO
    if access_logger.isEnabledFor(level):
        access_logger.log(
            level,
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )


def _unstorable_target(scope: Scope) -> tuple[str, str] | None:
    """(part, why) when the request's path or query cannot be taken, else None."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    query: bytes = scope.get("query_string", b"")
    for part, raw, escapes in (("path", raw_path, b"%"), ("query", query, b"%+")):
        if not raw:
            continue
        if any(escape in raw for escape in escapes):  # else decoding leaves it as it is
            raw = unquote_to_bytes(raw.replace(b"+", b" ") if part == "query" else raw)
        try:
            problem = text_problem(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "is not valid UTF-8"
        if problem:
            return part, problem
    return None


def page_policy(*connect_sources: str) -> str:
    """The Content-Security-Policy of a page (the explorer): its own scripts only; it may call
    itself and ``connect_sources`` (the identity provider's token endpoint, for signing in)."""
    connect = " ".join(("'self'", *connect_sources))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self'; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'"
    )


def install_front_door(
    app: FastAPI,
    *,
    metrics: Metrics,
    tracer_provider: trace.TracerProvider,
    max_bytes: int,
    page_paths: Iterable[str] = ("/docs",),
    lane: Callable[[ASGIApp], Lane] | None = None,
) -> None:
    """Put the front door outside the app's whole middleware stack (``ServerErrorMiddleware``
    included); the app must be built with FastAPI's own telemetry off (``NO_NATIVE_TELEMETRY``).
    ``lane``: given the middleware stack (for what the lane hands back to it), the lane."""
    build = app.build_middleware_stack

    def build_with_front_door() -> ASGIApp:
        stack = build()
        return FrontDoor(
            stack,
            metrics=metrics,
            tracer_provider=tracer_provider,
            max_bytes=max_bytes,
            page_paths=page_paths,
            lane=lane(stack) if lane is not None else None,
        )

    app.build_middleware_stack = build_with_front_door  # type: ignore[method-assign]
