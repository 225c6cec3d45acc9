"""ASGI middleware shared by the services and the gateway."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.chassis.errors import PAYLOAD_TOO_LARGE, VALIDATION, problem_response
from services.chassis.text import text_problem


class BodyLimitMiddleware:
    """413 problem for request bodies over the limit, whether declared or streamed; 422 problem for
    a path or query that no database could store (NUL, invalid UTF-8)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        unstorable = _unstorable_target(scope)
        if unstorable:
            part, problem = unstorable
            detail = f"the request {part} {problem}"
            errors = [{"loc": [part], "msg": problem, "type": "string_unstorable"}]
            await problem_response(VALIDATION, detail, errors=errors)(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    response = problem_response(
                        PAYLOAD_TOO_LARGE,
                        f"the body is {declared} bytes; the limit is {self.max_bytes}",
                        instance=scope.get("path"),
                    )
                    await response(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException survives FastAPI's body parsing (anything else becomes a 400).
                    raise HTTPException(413, f"the body exceeds the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


def _unstorable_target(scope: Scope) -> tuple[str, str] | None:
    """(part, why) when the request's path or query cannot be taken, else None."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    for part, raw in (("path", unquote_to_bytes(raw_path)), ("query", _query_bytes(scope))):
        try:
            problem = text_problem(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "is not valid UTF-8"
        if problem:
            return part, problem
    return None


def _query_bytes(scope: Scope) -> bytes:
    query: bytes = scope.get("query_string", b"")
    return unquote_to_bytes(query.replace(b"+", b" "))


def page_policy(*connect_sources: str) -> str:
    """The Content-Security-Policy of a page (the explorer): its own scripts only; it may call
    itself and ``connect_sources`` (the identity provider's token endpoint, for signing in)."""
    connect = " ".join(("'self'", *connect_sources))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self'; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeadersMiddleware:
    """Headers on every answer: nosniff, no referrer, no caching of API answers, CSP on pages."""

    def __init__(self, app: ASGIApp, *, page_paths: Iterable[str] = ("/docs",)) -> None:
        self.app = app
        self.page_paths = tuple(page_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                if path.startswith((*self.page_paths, "/static/")):
                    headers.setdefault("Content-Security-Policy", page_policy())
                else:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_wrapper)
