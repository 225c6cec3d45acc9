"""The gateway's hop at its floor: two pass-throughs that the benchmark asks beside the gateway.

Row 3 compares the gateway with a direct GET. What any hop costs on the same machine in the same
minute is measured beside it, by two processes that pass every request on to valuechains and
check nothing (no token, no headers filtered, no span, metrics, access log or resilience):

- ``passthrough_app``: an ASGI app started with the gateway's own Procfile command (the same
  uvicorn, the same flags, only the app and the port differ), passing each request on through the
  chassis' pooled transport: what uvicorn and the transport cost before the gateway does anything.
- ``python -m bench.hop``: the same on asyncio streams and httptools, without uvicorn or ASGI, one
  upstream connection per client connection: what two more loopback exchanges cost in Python.

Both are for the benchmark only: they trust whoever calls them and pass on whatever they get.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

import httptools
from starlette.types import ASGIApp, Receive, Scope, Send

from services.chassis.http_transport import PooledTransport, limits_of

PREFIX = "/valuechains"
UPSTREAM = "IV_HOP_UPSTREAM"
"""The environment variable that names the upstream's base URL (``http://127.0.0.1:8003``)."""

_LIMITS = limits_of(5, 5, 30)
_NOT_PASSED = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})
_NOT_RETURNED = frozenset({b"content-length", b"transfer-encoding", b"connection", b"date", b"server"})


def _target(raw_path: bytes, query: bytes) -> str:
    path = raw_path.decode("latin-1")
    path = path[len(PREFIX) :] if path.startswith(PREFIX + "/") else path
    return path + ("?" + query.decode("latin-1") if query else "")


def passthrough_app() -> ASGIApp:
    """The ASGI pass-through (``uvicorn --factory bench.hop:passthrough_app``), to ``$IV_HOP_UPSTREAM``."""
    upstream = os.environ[UPSTREAM].rstrip("/")
    transport = PooledTransport()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await transport.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"] if n not in _NOT_PASSED]
        target = _target(scope["raw_path"], scope["query_string"])
        answer = await transport.exchange(scope["method"], upstream + target, headers, None, _LIMITS)
        body = await answer.read()
        out = [(n, v) for n, v in answer.raw_headers if n.lower() not in _NOT_RETURNED]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    return app


class _Message:
    """One HTTP message as httptools parses it (the request's target, or the answer's end)."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        self.complete = True


def _streams_handler(host: str, port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        try:
            while True:
                request = _Message()
                parser = httptools.HttpRequestParser(request)
                while not request.complete:
                    data = await reader.read(65536)
                    if not data:
                        return
                    parser.feed_data(data)
                path, _, query = request.url.partition(b"?")
                head = [parser.get_method(), b" ", _target(path, query).encode("latin-1"), b" HTTP/1.1\r\n"]
                for name, value in request.headers:
                    if name.lower() not in _NOT_PASSED:
                        head += [name, b": ", value, b"\r\n"]
                head.append(b"host: %s:%d\r\n\r\n" % (host.encode(), port))
                up_writer.write(b"".join(head))
                answer = _Message()
                answer_parser = httptools.HttpResponseParser(answer)
                received = []
                while not answer.complete:
                    data = await up_reader.read(65536)
                    if not data:
                        return
                    received.append(data)
                    answer_parser.feed_data(data)
                writer.write(b"".join(received))
        finally:
            writer.close()
            up_writer.close()

    return serve


async def _serve_streams(upstream: str, port: int) -> None:
    host, _, upstream_port = upstream.removeprefix("http://").rstrip("/").partition(":")
    server = await asyncio.start_server(_streams_handler(host, int(upstream_port or 80)), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.hop --port N``: the streams pass-through to ``$IV_HOP_UPSTREAM``."""
    parser = argparse.ArgumentParser(description="the streams pass-through of bench/hop.py")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop  # what uvicorn runs on, when it is there

        run: Callable[..., None] = uvloop.run
    except ImportError:
        run = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run(_serve_streams(os.environ[UPSTREAM], args.port))


if __name__ == "__main__":
    main()
