"""The pooled client's connections through aiohttp: httpx2's interface, aiohttp's HTTP/1.1.

Every request a process sends to another (the gateway passing a request on, a batch fetch for
``expand``, a reference check) goes through one ``httpx2.AsyncClient``. Its own transport costs
about 390 µs of CPU per request on this suite's machine against aiohttp's 100 µs (one keep-alive
connection, the floor app answering; docs/performance.md), and under 32 concurrent requests its
pool looks at every idle connection's socket on each request. This transport keeps the client,
its hooks, timeouts and exceptions, and hands the exchange to an ``aiohttp.ClientSession``:

- the request goes out as httpx2 built it: method, URL, headers, body; no redirect is followed,
  nothing is decompressed (httpx2 decodes the body as it would have), aiohttp adds no header of
  its own;
- the answer's body is a stream that arrives as the peer sends it (an event stream stays live),
  and closing it gives the connection back to the pool, or drops it when the body was not read;
- aiohttp's failures become httpx2's, so what callers tell apart stays apart: no connection
  (``ConnectError``: nothing was sent), too slow (``ConnectTimeout``, ``ReadTimeout``), the
  connection dropped (``RemoteProtocolError``, ``ReadError``).

Timeouts are httpx2's per request (``connect`` and ``read``, per read); a deadline over the whole
exchange stays with the caller (gateway/resilience.py).

``exchange`` is the same exchange without httpx2's objects, for a caller that has the method, URL
and headers already at hand and wants the answer as bytes (the gateway passing a request on:
building and reading httpx2's request and response was about a third of its work per request).
It fails with the same httpx2 exceptions; ``read_all``, ``chunks_of`` and ``finish`` read and close
its answer as ``AiohttpBody`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Any

import aiohttp
import httpx2

SKIPPED_REQUEST_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
"""aiohttp frames the body itself (from the bytes it is given)."""

NO_AUTOMATIC_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
"""Headers aiohttp would add; httpx2 has already set what it sends."""


def _failure(exc: BaseException, request: httpx2.Request | None, *, connecting: bool) -> httpx2.TransportError:
    """The httpx2 exception for an aiohttp failure (``connecting``: before the answer's headers)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx2.ConnectTimeout(message, request=request)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return httpx2.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx2.ConnectError(message, request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx2.RemoteProtocolError(message, request=request)
    if connecting and isinstance(exc, aiohttp.ClientOSError):
        return httpx2.WriteError(message, request=request)
    return httpx2.ReadError(message, request=request)


@lru_cache(maxsize=64)
def timeout_of(connect: float | None, pool: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's limits for httpx2's ``connect``, ``pool`` and per-read ``read`` (made once each)."""
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, connect=pool, sock_read=read)


async def read_all(response: aiohttp.ClientResponse, request: httpx2.Request | None = None) -> bytes:
    """The whole body; the connection goes back to the pool (or is dropped, on a failure)."""
    try:
        return await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _failure(exc, request, connecting=False) from exc
    finally:
        finish(response)


async def chunks_of(response: aiohttp.ClientResponse, request: httpx2.Request | None = None) -> AsyncIterator[bytes]:
    """The body as it arrives (an event stream stays live); ``finish`` it when done."""
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _failure(exc, request, connecting=False) from exc


def finish(response: aiohttp.ClientResponse) -> None:
    """Give the connection back when the body was read to the end, else drop it."""
    if response.content.at_eof():
        response.release()  # read to the end: the connection serves the next request
    else:
        response.close()  # a body left unread would be the next request's first bytes


class AiohttpBody(httpx2.AsyncByteStream):
    """An answer's body as aiohttp receives it."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx2.Request) -> None:
        self.response = response
        self.request = request

    def __aiter__(self) -> AsyncIterator[bytes]:
        return chunks_of(self.response, self.request)

    async def aclose(self) -> None:
        finish(self.response)


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2.AsyncClient`` transport on one ``aiohttp.ClientSession`` (opened on the first
    request, in the running event loop). ``max_connections`` over all hosts, as httpx2's limit;
    idle connections are closed after ``keepalive_seconds``."""

    def __init__(self, *, max_connections: int = 200, keepalive_seconds: float = 5.0) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections, keepalive_timeout=self.keepalive_seconds, use_dns_cache=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=NO_AUTOMATIC_HEADERS,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        limits: aiohttp.ClientTimeout,
        request: httpx2.Request | None = None,
    ) -> aiohttp.ClientResponse:
        """Send the request as given (``headers`` without framing: aiohttp frames ``body``) and
        return once the answer's headers are in; its body is for the caller to read and close."""
        try:
            return await self._open().request(
                method, url, headers=headers, data=body or None, allow_redirects=False, timeout=limits
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc, request, connecting=True) from exc

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in SKIPPED_REQUEST_HEADERS
        ]
        body = await request.aread()
        response = await self.exchange(
            request.method,
            str(request.url),
            headers,
            body,
            timeout_of(timeouts.get("connect"), timeouts.get("pool"), timeouts.get("read")),
            request,
        )
        return httpx2.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=AiohttpBody(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
