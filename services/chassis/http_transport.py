"""The pooled client's connections: HTTP/1.1 keep-alive on asyncio, each answer parsed by httptools.

Every request a process sends to another (the gateway passing a request on, a batch fetch for
``expand``, a reference check) goes through one ``httpx2.AsyncClient`` on this transport. It does
only what those exchanges need, and so costs less per request than a general client: measured
through the gateway on this suite's machine, a pass-through on aiohttp added 0.67 ms more to a GET
by id than the same pass-through on a plain asyncio protocol (docs/performance.md), and httpx2's
own transport costs more than aiohttp's. The HTTP itself is httptools' (llhttp, which uvicorn
parses every request with): status, headers, content-length, chunked bodies, keep-alive.

- **The request goes out as it is given**, in one write: method, target byte for byte, headers
  (a ``Host`` only when none is given), the body framed with ``Content-Length``. Nothing is added,
  nothing is decompressed (httpx2 decodes the body as it would have). A field name that is not a
  token, or a value with a line break, NUL or other control character, is refused
  (``LocalProtocolError``) and nothing is sent: no value can add a header or a request of its own.
- **The answer** is there once its head is (``Answer``); its body arrives as the peer sends it (an
  event stream stays live), and ``finish`` gives the connection back to the pool when the answer
  was read to its end and both sides keep the connection, or closes it. A body without a length
  or a final chunked coding ends at the peer's clean close only (a reset, or our own close, is a
  failure, never a shorter answer); trailer fields are not taken for headers; bytes after the
  answer close the connection, which is never given out again.
- **The pool** holds at most ``max_connections`` over all hosts (a request waits for one up to the
  ``pool`` limit); an idle connection is reused newest first, and dropped once it has been idle
  ``keepalive_seconds`` (below uvicorn's 5 s, so the server rarely closes one under a request) or
  its peer has closed it. A request sent on a kept connection that the peer turns out to have
  closed before answering anything is sent once more on a new one when its method is safe (a
  read): the peer most likely closed the connection as it went out (RFC 9112 section 9.3.1).
- **Failures are httpx2's**, so what callers tell apart stays apart: no connection
  (``ConnectError``: nothing was sent), too slow (``ConnectTimeout``, ``PoolTimeout``,
  ``ReadTimeout``: ``read`` is per read, as httpx2's), the connection dropped or the answer
  malformed (``RemoteProtocolError``, ``ReadError``). ``exchange`` also takes a deadline over the
  whole exchange, its waits for a connection and for each read included (``DeadlinePassed``, an
  ``httpx2.TimeoutException``): one timer per wait, not a second one around it.

``exchange`` is the exchange without httpx2's objects, for a caller that has the method, URL and
headers at hand and wants the answer's bytes (the gateway passing a request on).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import httpx2

SKIPPED_REQUEST_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
"""Framing httpx2 set for its own body; the transport frames the body it sends itself."""

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods sent once more when a kept connection turns out to be closed (RFC 9110 section 9.2.1):
they change nothing. A write is not, even an idempotent one: a peer that acted on it and then
went away unanswering looks the same, and its caller is told (the gateway's 502 says the change
may or may not have been made)."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods whose request carries a ``Content-Length`` even when empty."""

BUFFERED_BYTES = 256 * 1024
"""Reading from a connection pauses while this much of its answer waits to be read."""


@dataclass(frozen=True, slots=True)
class Limits:
    """httpx2's limits in seconds (None: none): to connect, to wait for a pooled connection, and
    for each read of the answer."""

    connect: float | None
    pool: float | None
    read: float | None


@lru_cache(maxsize=64)
def limits_of(connect: float | None, pool: float | None, read: float | None) -> Limits:
    """The limits for httpx2's ``connect``, ``pool`` and per-read ``read`` (made once each)."""
    return Limits(connect, pool, read)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a URL's requests go: the pool's key."""

    scheme: str
    host: str
    port: int
    netloc: str


@lru_cache(maxsize=256)
def _origin(origin: str) -> Origin:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx2.UnsupportedProtocol(f"not an http or https URL: {origin!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Origin(parts.scheme, parts.hostname, port, parts.netloc)


def split_url(url: str) -> tuple[Origin, str]:
    """The origin of ``url`` and its target (path and query) as written."""
    start = url.find("//")
    slash = url.find("/", start + 2) if start >= 0 else -1
    origin, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
    if "#" in target:
        target = target.split("#", 1)[0]
    return _origin(origin), target


_NOT_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a field name (RFC 9110 section 5.1)
_NOT_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB (RFC 9110 5.5)


def _request_head(
    method: str, target: str, origin: Origin, headers: Sequence[tuple[str, str]], body: bytes | None
) -> bytes:
    if _NOT_IN_TARGET.search(target):
        raise httpx2.LocalProtocolError(f"a request target cannot hold spaces or control characters: {target!r}")
    lines = [f"{method} ", target, " HTTP/1.1\r\n"]
    has_host = False
    for name, value in headers:
        # No line break, NUL or other control character goes on the wire: nothing a value holds
        # can start a header or a request of its own (a printable value needs no closer look).
        if not _TOKEN.fullmatch(name) or (not value.isprintable() and _NOT_IN_VALUE.search(value)):
            raise httpx2.LocalProtocolError(f"not a valid header field: {name!r}: {value!r}")
        if not has_host and len(name) == 4 and name.lower() == "host":
            has_host = True
        lines += [name, ": ", value, "\r\n"]
    if not has_host:
        lines += ["host: ", origin.netloc, "\r\n"]
    if body or method in BODY_METHODS:
        lines += ["content-length: ", str(len(body or b"")), "\r\n"]
    lines.append("\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise httpx2.LocalProtocolError(f"a request head must be Latin-1: {exc}") from exc


class Answer:
    """One answer: its status and headers, and its body as it arrives (``read``, ``chunks``);
    ``finish`` it when done with it."""

    def __init__(self, connection: _Connection, limits: Limits, head_only: bool, deadline: float | None) -> None:
        self.connection = connection
        self.limits = limits
        self.deadline = deadline
        """The loop's time by which the answer must be in (None: no deadline; an event stream's
        caller lifts it once its head is in)."""
        self.head_only = head_only  # HEAD: no body follows, whatever Content-Length says
        self.status = 0
        self.reason = ""
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.complete = False
        self.received = False  # any byte of the answer arrived
        self.error: httpx2.TransportError | None = None
        self.finished = False
        self._head: asyncio.Future[None] = connection.loop.create_future()
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None

    # --- fed by the connection -------------------------------------------------------------------

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _headed(self) -> None:
        if not self._head.done():
            self._head.set_result(None)

    def _chunk(self, data: bytes) -> None:
        self._body.append(data)
        self._buffered += len(data)
        if self._buffered > BUFFERED_BYTES:
            self.connection.pause()
        self._wake()

    def _completed(self) -> None:
        self.complete = True
        self._headed()
        self._wake()

    def _failed(self, error: httpx2.TransportError) -> None:
        if self.complete or self.error is not None:
            return
        self.error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: the caller may be gone
        self._wake()

    # --- read by the caller ----------------------------------------------------------------------

    async def _wait(self, future: asyncio.Future[Any]) -> None:
        """``future`` within the per-read limit and the deadline."""
        delay, by_deadline = _within(self.limits.read, self.deadline, self.connection.loop)
        if delay is None:
            await future
            return
        timer = self.connection.loop.call_later(delay, self._timed_out, future, by_deadline)
        try:
            await future
        finally:
            timer.cancel()

    def _timed_out(self, future: asyncio.Future[Any], by_deadline: bool) -> None:
        if not future.done():
            if by_deadline:
                self._failed(DeadlinePassed("the exchange's deadline passed before the answer was in"))
            else:
                self._failed(httpx2.ReadTimeout(f"no answer within {self.limits.read:g}s"))
            self.connection.close()

    async def head(self) -> None:
        """Until the status and headers are in."""
        await self._wait(self._head)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        while True:
            while self._body:
                data = self._body.popleft()
                self._buffered -= len(data)
                if self._buffered <= BUFFERED_BYTES // 2:
                    self.connection.resume()
                yield data
            if self.error is not None:
                raise self.error
            if self.complete:
                return
            self._waiter = self.connection.loop.create_future()
            await self._wait(self._waiter)
            self._waiter = None

    async def read(self) -> bytes:
        """The whole body; the connection is then finished with."""
        try:
            if self.complete and self.error is None:  # all of it is here already (a small answer)
                parts = list(self._body)
                self._body.clear()
                self._buffered = 0
                self.connection.resume()
            else:
                parts = [data async for data in self.chunks()]
        finally:
            self.finish()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def finish(self) -> None:
        """Give the connection back when the answer was read to its end, else close it (a body
        left unread would be the next request's first bytes)."""
        if self.finished:
            return
        self.finished = True
        connection = self.connection
        if self.complete and self.keep_alive and not self._body and self.error is None and not self.head_only:
            connection.pool.release(connection)
        else:
            connection.close()


class _Connection(asyncio.Protocol):
    """One connection to an origin, one exchange at a time."""

    def __init__(self, pool: ConnectionPool, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: Answer | None = None
        self.lost = False
        self.reused = False
        self.idle_since = 0.0
        self.paused = False
        self.closed_here = False  # close() was called: whatever comes next is not the peer's doing

    # asyncio's protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        answer = self.answer
        if answer is None or answer.complete:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        answer.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            answer._failed(httpx2.RemoteProtocolError("the peer switched protocols"))
            self.close()
        except httptools.HttpParserError as exc:
            answer._failed(httpx2.RemoteProtocolError(f"the answer is not valid HTTP/1.1: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        answer = self.answer
        if answer is not None and not answer.complete:
            if answer.status and exc is None and not self.closed_here and _until_close(answer.raw_headers):
                answer._completed()  # a body delimited by the connection's close
                answer.keep_alive = False
            elif not answer.received:
                reason = f" ({exc})" if exc is not None else ""
                answer._failed(_NeverRead(f"the peer closed the connection without answering{reason}"))
            elif exc is not None:
                answer._failed(httpx2.ReadError(str(exc) or type(exc).__name__))
            else:
                answer._failed(httpx2.RemoteProtocolError("the peer closed the connection before a complete answer"))
        self.pool.lost(self)

    # httptools' callbacks

    def on_message_begin(self) -> None:
        answer = self.answer
        if answer is not None and answer.status:  # a message after the answer: nobody asked for it
            raise httptools.HttpParserError("bytes after the answer")

    def on_status(self, reason: bytes) -> None:
        assert self.answer is not None
        self.answer.reason += reason.decode("latin-1")  # httptools passes it as it arrives, maybe in parts

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.answer is not None
        if self.answer.status:  # a trailer field, after the body: not a header (RFC 9110 section 6.5.1)
            return
        self.answer.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        answer = self.answer
        assert answer is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (103 Early Hints): the real one follows
            answer.raw_headers = []
            answer.reason = ""
            return
        answer.status = status
        answer.keep_alive = self.parser.should_keep_alive()
        answer._headed()
        if answer.head_only:
            answer._completed()

    def on_body(self, body: bytes) -> None:
        assert self.answer is not None
        self.answer._chunk(body)

    def on_message_complete(self) -> None:
        answer = self.answer
        assert answer is not None
        if answer.status:  # not the end of an interim answer
            answer._completed()

    # the pool's

    def send(self, head: bytes, body: bytes | None, limits: Limits, head_only: bool, deadline: float | None) -> Answer:
        assert self.transport is not None
        self.answer = answer = Answer(self, limits, head_only, deadline)
        self.transport.write(head + body if body else head)
        return answer

    def pause(self) -> None:
        if not self.paused and self.transport is not None and not self.lost:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.lost:
            self.paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed_here = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()  # connection_lost follows, and tells the pool


def _until_close(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a body is delimited by the connection's close (RFC 9112 section 6.3): no
    Content-Length, and no Transfer-Encoding whose last coding is chunked."""
    until_close = True
    for name, value in headers:
        name = name.lower()
        if name == b"content-length":
            return False
        if name == b"transfer-encoding":
            until_close = not value.rstrip().lower().endswith(b"chunked")
    return until_close


class _NeverRead(httpx2.RemoteProtocolError):
    """A connection closed before any byte of its answer arrived."""


class DeadlinePassed(httpx2.TimeoutException):
    """The exchange's deadline passed before its answer was in (``exchange(deadline=...)``)."""


def _within(limit: float | None, deadline: float | None, loop: asyncio.AbstractEventLoop) -> tuple[float | None, bool]:
    """The time to allow a wait limited to ``limit`` (None: none) before ``deadline`` (the loop's
    clock; None: none), and whether the deadline is what limits it."""
    if deadline is None:
        return limit, False
    remaining = max(0.0, deadline - loop.time())
    return (remaining, True) if limit is None or remaining <= limit else (limit, False)


async def _answered(
    connection: _Connection, head: bytes, body: bytes | None, limits: Limits, method: str, deadline: float | None
) -> Answer:
    """The answer on ``connection`` once its head is in; the connection closed if not."""
    answer = connection.send(head, body, limits, method == "HEAD", deadline)
    try:
        await answer.head()
    except BaseException:
        answer.finish()  # failed or cancelled mid-exchange: the connection is in no state to reuse
        raise
    return answer


class ConnectionPool:
    """Keep-alive connections by origin, at most ``max_connections`` open in all."""

    def __init__(self, *, max_connections: int, keepalive_seconds: float) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self.idle: dict[Origin, list[_Connection]] = {}
        self.open: set[_Connection] = set()
        self.connecting = 0
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: ssl.SSLContext | None = None

    def _reusable(self, origin: Origin) -> _Connection | None:
        idle = self.idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.lost or connection.closed_here:
                continue
            if now - connection.idle_since < self.keepalive_seconds:
                connection.reused = True
                return connection
            connection.close()
        return None

    async def acquire(self, origin: Origin, limits: Limits, deadline: float | None = None) -> _Connection:
        """A kept connection to ``origin``, or a new one once fewer than ``max_connections`` are
        open; before ``deadline`` (the loop's clock), if given."""
        while True:
            connection = self._reusable(origin)
            if connection is not None:
                return connection
            if len(self.open) + self.connecting < self.max_connections:
                return await self._connect(origin, limits, deadline)
            if not self._close_an_idle_one():
                await self._wait_for_room(limits, deadline)

    def _close_an_idle_one(self) -> bool:
        """Room for a connection elsewhere: the oldest idle connection to another origin closes."""
        oldest = min(
            (connections[0] for connections in self.idle.values() if connections),
            key=lambda c: c.idle_since,
            default=None,
        )
        if oldest is None:
            return False
        self.idle[oldest.origin].remove(oldest)
        self.open.discard(oldest)
        oldest.close()
        return True

    async def _wait_for_room(self, limits: Limits, deadline: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.waiting.append(waiter)
        delay, by_deadline = _within(limits.pool, deadline, loop)
        try:
            try:
                async with asyncio.timeout(delay):
                    await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._room()  # woken but going away (cancelled, timed out): the next one goes on
                raise
        except TimeoutError as exc:
            if by_deadline:
                raise DeadlinePassed("the exchange's deadline passed while waiting for a connection") from exc
            raise httpx2.PoolTimeout(f"no free connection within {limits.pool:g}s") from exc
        finally:
            with contextlib.suppress(ValueError):
                self.waiting.remove(waiter)

    def _room(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, origin: Origin, limits: Limits, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        delay, by_deadline = _within(limits.connect, deadline, loop)
        tls = None
        if origin.scheme == "https":
            tls = self._tls = self._tls or ssl.create_default_context()
        made: Callable[[], _Connection] = lambda: _Connection(self, origin, loop)  # noqa: E731
        self.connecting += 1  # its place in the limit while it connects
        try:
            async with asyncio.timeout(delay):
                transport, connection = await loop.create_connection(
                    made, origin.host, origin.port, ssl=tls, server_hostname=origin.host if tls else None
                )
            # uvloop may call connection_made after create_connection has returned.
            connection.transport = transport
            self.open.add(connection)
        except TimeoutError as exc:
            if by_deadline:
                raise DeadlinePassed(f"the exchange's deadline passed while connecting to {origin.netloc}") from exc
            raise httpx2.ConnectTimeout(f"no connection to {origin.netloc} within {limits.connect:g}s") from exc
        except OSError as exc:
            raise httpx2.ConnectError(f"cannot connect to {origin.netloc}: {exc.strerror or exc}") from exc
        finally:
            self.connecting -= 1
            if len(self.open) + self.connecting < self.max_connections:
                self._room()  # it failed: another request may connect
        return connection

    def release(self, connection: _Connection) -> None:
        if connection.lost or connection.closed_here:  # closing: connection_lost tells the pool
            return
        connection.answer = None
        connection.idle_since = time.monotonic()
        self.idle.setdefault(connection.origin, []).append(connection)
        self._room()

    def lost(self, connection: _Connection) -> None:
        self.open.discard(connection)
        idle = self.idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        self._room()

    def close(self) -> None:
        for connection in list(self.open):
            connection.close()
        self.idle.clear()


class PooledTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2.AsyncClient`` transport on a ``ConnectionPool`` of this event loop."""

    def __init__(self, *, max_connections: int = 200, keepalive_seconds: float = 4.0) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._pool: ConnectionPool | None = None

    def _open(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(max_connections=self.max_connections, keepalive_seconds=self.keepalive_seconds)
        return self._pool

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        limits: Limits,
        request: httpx2.Request | None = None,
        deadline: float | None = None,
    ) -> Answer:
        """Send the request as given (``headers`` without framing: ``body`` is framed here) and
        return once the answer's head is in; its body is for the caller to read and finish.
        ``deadline`` (the running loop's clock): by when the whole answer must be in, its body
        included, on top of ``limits``; past it, ``DeadlinePassed``."""
        try:
            origin, target = split_url(url)
            head = _request_head(method, target, origin, headers, body)
            pool = self._open()
            connection = await pool.acquire(origin, limits, deadline)
            try:
                return await _answered(connection, head, body, limits, method, deadline)
            except httpx2.TransportError as exc:
                if not (connection.reused and connection.lost and method in SAFE and isinstance(exc, _NeverRead)):
                    raise
            # Closed by the peer while it was idle, most likely: a read is sent once more.
            return await _answered(await pool.acquire(origin, limits, deadline), head, body, limits, method, deadline)
        except httpx2.TransportError as exc:
            exc.request = request  # type: ignore[assignment]
            raise

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in SKIPPED_REQUEST_HEADERS
        ]
        body = await request.aread()
        answer = await self.exchange(
            request.method,
            str(request.url),
            headers,
            body,
            limits_of(timeouts.get("connect"), timeouts.get("pool"), timeouts.get("read")),
            request,
        )
        return httpx2.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            stream=AnswerBody(answer, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("latin-1")},
            request=request,
        )

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class AnswerBody(httpx2.AsyncByteStream):
    """An answer's body for httpx2, as it arrives."""

    def __init__(self, answer: Answer, request: httpx2.Request) -> None:
        self.answer = answer
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self.answer.chunks():
                yield data
        except httpx2.TransportError as exc:
            exc.request = self.request
            raise

    async def aclose(self) -> None:
        self.answer.finish()
