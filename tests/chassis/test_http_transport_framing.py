"""The edges of HTTP/1.1 framing for the pooled client's transport (services.chassis.http_transport)
and the gathering server protocol (services.chassis.http_protocol), against peers that answer
byte by byte as written here: header fields that could split a request, bodies delimited by the
connection's close, bytes after an answer, trailers, a status line in parts, the pool's waiters,
and what keeps a connection for reuse."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import uvicorn

from services.chassis.http_protocol import OneWriteProtocol
from services.chassis.http_transport import PooledTransport, limits_of
from tests.chassis.test_http_transport import OK, raw_server

LIMITS = limits_of(2, 2, 2)


async def _head(reader: asyncio.StreamReader) -> bytes:
    """One request's head and body, as the server reads it."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


async def _answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: bytes = OK) -> None:
    """Answer every further request on the connection with ``answer`` until the client leaves."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            await _head(reader)
            writer.write(answer)
            await writer.drain()


# --- what the transport refuses, and where an answer ends ----------------------------------------


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nx-injected: 1", "a\x00b"])
async def test_a_header_value_with_a_line_break_is_refused_not_sent(value: str) -> None:
    """httpx2's own transport refuses such a value (``LocalProtocolError: Illegal header value``);
    written as it is, it adds a header of the caller's choosing, or a whole second request."""
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            heads.append(await _head(reader))
            writer.write(OK)

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        with pytest.raises(httpx2.LocalProtocolError):
            await http.get(url + "/", headers={"x-name": value})
        transport = PooledTransport()
        try:
            with pytest.raises(httpx2.LocalProtocolError):
                await transport.exchange("GET", url + "/", [("x-name", value)], None, LIMITS)
            with pytest.raises(httpx2.LocalProtocolError):
                await transport.exchange("GET", url + "/", [("x na:me", "v")], None, LIMITS)
        finally:
            await transport.aclose()
    assert heads == []


async def test_a_body_until_close_cut_by_a_reset_is_an_error_not_a_short_answer() -> None:
    """A body delimited by the connection's close is complete only at a clean close (FIN): a reset
    (RST) in the middle of it is a broken answer, not a shorter one."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
        await writer.drain()
        await asyncio.sleep(0.1)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # closed with SO_LINGER 0: a reset

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, LIMITS)
        with pytest.raises(httpx2.ReadError):
            await answer.read()
    await transport.aclose()


async def test_a_body_until_close_cut_by_closing_the_transport_is_an_error() -> None:
    """Our own close (``aclose`` at shutdown) in the middle of such a body is not its end either."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            await asyncio.sleep(1)
            writer.write(b"part two")

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, LIMITS)
        asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(transport.aclose()))
        with pytest.raises(httpx2.TransportError):
            await answer.read()


async def test_bytes_after_a_complete_answer_do_not_become_part_of_it() -> None:
    """A peer that sends more than the one answer asked for (a second answer in the same segment):
    the answer is the first one, as it was, and the connection is not used again."""
    second = b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\nx-second: 1\r\n\r\nextra"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(OK + second)
        await writer.drain()
        await _answer_each(reader, writer)

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, LIMITS)
        await asyncio.sleep(0.05)
        assert (answer.status, answer.reason) == (200, "OK")
        assert answer.raw_headers == [(b"content-length", b"2")]
        assert await answer.read() == b"ok"
        again = await transport.exchange("GET", url + "/", [], None, LIMITS)
        assert again.connection is not answer.connection
        assert await again.read() == b"ok"
    await transport.aclose()


async def test_a_connection_closed_for_stray_bytes_is_not_given_to_the_next_request() -> None:
    """Bytes after a complete answer make the transport close the connection; the answer is read
    and finished in the same loop step. The connection must not go back to the pool: a write sent
    on it goes nowhere and fails as 'closed without answering', a 502 for a change never sent."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(OK + b"JUNK\r\n\r\n")
        await writer.drain()
        await _answer_each(reader, writer)

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, LIMITS)
        assert await answer.read() == b"ok"
        write = await transport.exchange("POST", url + "/", [], b"{}", LIMITS)
        assert write.status == 200 and await write.read() == b"ok"
    await transport.aclose()


async def test_a_waiter_that_gives_up_once_woken_passes_the_connection_on() -> None:
    """With every connection busy, B and C wait; the connection comes free and wakes B, which is
    cancelled (its caller went away, or its own timeout fired) before it runs. C must get the
    connection, not wait for its pool timeout beside an idle connection."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _answer_each(reader, writer)

    transport = PooledTransport(max_connections=1)
    loop = asyncio.get_running_loop()
    async with raw_server(handler) as url:
        held = await transport.exchange("GET", url + "/", [], None, LIMITS)
        b = asyncio.create_task(transport.exchange("GET", url + "/b", [], None, limits_of(2, 1, 2)))
        c = asyncio.create_task(transport.exchange("GET", url + "/c", [], None, limits_of(2, 1, 2)))
        await asyncio.sleep(0.05)
        assert not b.done() and not c.done()
        assert await held.read() == b"ok"  # the connection is free: B is woken
        b.cancel()  # and gives up before it runs
        started = loop.time()
        answer = await c
        assert await answer.read() == b"ok"
        assert loop.time() - started < 0.5
        with contextlib.suppress(asyncio.CancelledError):
            await b
    await transport.aclose()


async def test_trailer_fields_are_not_taken_for_header_fields() -> None:
    """A chunked answer's trailer section is not its header section (RFC 9110 section 6.5.1: kept
    apart, never merged): a trailer must not turn up among the headers passed on."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n"
            b"2\r\nok\r\n0\r\nx-checksum: abc\r\nset-cookie: s=1\r\n\r\n"
        )
        await writer.drain()
        await _answer_each(reader, writer)

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        answer = await http.get(url + "/")
        assert answer.content == b"ok"
        assert "x-checksum" not in answer.headers and "set-cookie" not in answer.headers
        assert (await http.get(url + "/")).content == b"ok"  # the connection is sound after it


async def test_a_reason_phrase_split_across_reads_is_kept_whole() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 404 Not Fo")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"und\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        answer = await http.get(url + "/")
    assert answer.status_code == 404 and answer.reason_phrase == "Not Found"


async def test_a_transfer_coding_other_than_chunked_is_read_until_the_close() -> None:
    """RFC 9112 section 6.3 (4): an answer whose Transfer-Encoding does not end in chunked is
    delimited by the connection's close, as one with no framing at all is."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\n\r\nuntil the end")

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, LIMITS)
        assert await answer.read() == b"until the end"
    await transport.aclose()


# --- what keeps a connection, and what passes as it is ------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n", True),  # no body, whatever its length
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", True),
    ],
)
async def test_a_connection_is_kept_only_when_both_sides_keep_it(answer: bytes, kept: bool) -> None:
    """Connection: close and HTTP/1.0 (without keep-alive) end the connection after the answer;
    204 and 304 have no body even with a Content-Length; an interim 100 leaves the connection kept.
    The server answers every request on one connection the same way, then ``OK``: an answer sent
    on a connection the server meant to close would never come."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(answer)
        await writer.drain()
        await _answer_each(reader, writer)

    transport = PooledTransport()
    async with raw_server(handler) as url:
        first = await transport.exchange("POST", url + "/", [], b"{}", LIMITS)
        body = await first.read()
        assert body == (b"ok" if first.status == 200 else b"")
        again = await transport.exchange("GET", url + "/", [], None, LIMITS)
        assert (again.connection is first.connection) is kept
        assert await again.read() == (b"ok" if kept else body)
    await transport.aclose()


async def test_obs_fold_in_an_answer_is_refused_not_passed_on() -> None:
    """A folded header line (obs-fold) is a malformed answer: never a value with a line break in
    it for the gateway to pass on (RFC 9112 section 5.2 lets a proxy reject it)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: one\r\n two\r\n\r\nok")

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(url + "/")


async def test_header_bytes_beyond_ascii_pass_as_they_are() -> None:
    value = "IJsselmeer \u0132 \u00e9".encode()  # UTF-8: bytes 0x80-0xFF (obs-text)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-plaats: " + value + b"\r\n\r\nok")

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        answer = await http.get(url + "/")
    assert (b"x-plaats", value) in answer.headers.raw


async def test_a_read_cancelled_mid_body_closes_its_connection(echo_service: str) -> None:
    transport = PooledTransport()
    try:
        first = await transport.exchange("GET", echo_service + "/echo", [], None, LIMITS)
        await first.read()
        dripping = await transport.exchange("GET", echo_service + "/drip?chunks=5&every=0.1", [], None, LIMITS)
        assert dripping.connection is first.connection
        reading = asyncio.create_task(dripping.read())
        await asyncio.sleep(0.15)
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        assert dripping.finished
        after = await transport.exchange("GET", echo_service + "/echo?after=cancel", [], None, LIMITS)
        assert after.connection is not dripping.connection
        assert b'"query":"after=cancel"' in await after.read()
    finally:
        await transport.aclose()


async def test_a_waiter_gets_a_connection_when_the_busy_one_is_lost() -> None:
    """The pool's only connection dies under its answer: the request waiting for room connects at
    once, without waiting for its pool timeout."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _head(reader)
        if n == 0:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\npart")
            await writer.drain()
            await asyncio.sleep(0.2)
            return  # closed mid-answer
        writer.write(OK)
        await writer.drain()

    transport = PooledTransport(max_connections=1)
    loop = asyncio.get_running_loop()
    async with raw_server(handler) as url:
        doomed = await transport.exchange("GET", url + "/", [], None, LIMITS)
        started = loop.time()
        waiting = asyncio.create_task(transport.exchange("GET", url + "/", [], None, limits_of(2, 1.5, 2)))
        with pytest.raises(httpx2.RemoteProtocolError):
            await doomed.read()
        answer = await waiting
        assert await answer.read() == b"ok"
        assert loop.time() - started < 1
    await transport.aclose()


# --- the gathering server protocol on a real uvicorn ---------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=OneWriteProtocol, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


BIG = bytes(range(256)) * 16 * 1024  # 4 MiB


async def _app(scope: Any, receive: Any, send: Any) -> None:
    path = scope["path"]
    if path == "/big":  # streamed: uvicorn meets the socket's flow control
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for start in range(0, len(BIG), 16 * 1024):
            await send({"type": "http.response.body", "body": BIG[start : start + 16 * 1024], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/broken":  # fails once its head and part of its body are out
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("the app fails mid-answer")
    else:
        body = path.encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})


async def _read_until_eof(reader: asyncio.StreamReader, slowly: bool = False) -> bytes:
    parts = []
    while chunk := await asyncio.wait_for(reader.read(64 * 1024), 5):
        parts.append(chunk)
        if slowly and len(parts) < 20:
            await asyncio.sleep(0.02)  # the server's socket buffer fills: its writing pauses
    return b"".join(parts)


async def test_a_large_stream_to_a_slow_reader_arrives_whole_and_in_order() -> None:
    async with serving(_app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        writer.write(b"GET /big HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        received = await _read_until_eof(reader, slowly=True)
        writer.close()
    head, _, chunked = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"transfer-encoding: chunked" in head.lower()
    body, rest = b"", chunked
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    assert body == BIG


async def test_an_answer_before_connection_close_and_pipelined_answers_are_written_whole() -> None:
    """Closing writes what was gathered first (an answer to ``Connection: close``); two requests
    sent in one write are answered in order, each whole."""
    async with serving(_app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /one HTTP/1.1\r\nhost: t\r\n\r\nGET /two HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        received = await _read_until_eof(reader)
        writer.close()
    answers = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(answers) == 2
    assert answers[0].endswith(b"\r\n\r\n/one") and answers[1].endswith(b"\r\n\r\n/two")


async def test_an_app_failing_mid_answer_leaves_a_cut_answer_not_a_complete_one() -> None:
    """The head and the part of the body gathered leave before the close: the client sees a body
    shorter than its Content-Length (an error), never a hang or a silently complete answer."""
    async with serving(_app) as port, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{port}/broken")
        assert (await http.get(f"http://127.0.0.1:{port}/after")).content == b"/after"
