"""uvicorn's protocol writing each answer in one piece (services.chassis.http_protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.chassis.http_protocol import GATHER_BYTES, GatheringTransport, OneWriteProtocol


class Recorder(asyncio.Transport):
    """A transport that records each write that would reach the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_writes_of_one_loop_step_reach_the_socket_as_one() -> None:
    recorder = Recorder()
    gathering = GatheringTransport(recorder, asyncio.get_running_loop())
    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathering.write(b"")
    gathering.write(memoryview(b'{"a":1}'))
    assert recorder.writes == [] and gathering.get_write_buffer_size() == 26
    await asyncio.sleep(0)
    assert recorder.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"a":1}']
    gathering.write(b"event: one\n\n")  # a later step: a write of its own
    await asyncio.sleep(0)
    assert recorder.writes[1:] == [b"event: one\n\n"]


async def test_a_large_answer_is_not_held_back_past_the_bound() -> None:
    """Past GATHER_BYTES the writes go at once: the socket's flow control sees them in time."""
    recorder = Recorder()
    gathering = GatheringTransport(recorder, asyncio.get_running_loop())
    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    chunk = b"x" * (GATHER_BYTES // 2)
    for _ in range(5):
        gathering.write(chunk)
    assert len(recorder.writes) == 2  # written as the bound was passed, not at the step's end
    assert gathering.get_write_buffer_size() == 0
    gathering.write(b"tail")  # below the bound: gathered until the step ends
    assert gathering.get_write_buffer_size() == 4 and len(recorder.writes) == 2
    await asyncio.sleep(0)
    assert b"".join(recorder.writes) == b"HTTP/1.1 200 OK\r\n\r\n" + chunk * 5 + b"tail"


async def test_closing_writes_what_was_gathered_first_and_nothing_after() -> None:
    recorder = Recorder()
    gathering = GatheringTransport(recorder, asyncio.get_running_loop())
    gathering.write(b"last words")
    gathering.close()
    assert recorder.writes == [b"last words"] and recorder.closed
    gathering.write(b"too late")
    await asyncio.sleep(0)
    assert recorder.writes == [b"last words"]  # a closed socket is not written to


async def _chain(_: Request) -> JSONResponse:
    return JSONResponse({"name": "Opsporing"})


async def _events(_: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"data: {n}\n\n".encode()
            await asyncio.sleep(0.05)

    return StreamingResponse(chunks(), media_type="text/event-stream")


SOCKET_WRITES: list[bytes] = []
WRITTEN_ON_RETURN: list[int] = []


class _Bookkeeping:
    """An answer, then the work an app does after it in the same loop step (no await between)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        WRITTEN_ON_RETURN.append(len(SOCKET_WRITES))


def counting(protocol: type[HttpToolsProtocol]) -> type[HttpToolsProtocol]:
    """``protocol`` with every write that reaches the connection's socket recorded."""

    class Counting(protocol):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            write = transport.write

            def recorded(data: Any) -> None:
                SOCKET_WRITES.append(bytes(data))
                write(data)

            transport.write = recorded  # type: ignore[method-assign]
            super().connection_made(transport)

    return Counting


@contextlib.asynccontextmanager
async def serving(protocol: type[HttpToolsProtocol]) -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/chain", _chain), Route("/events", _events), Route("/after", _Bookkeeping())])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=counting(protocol), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(sockets=[sock]))  # serve() without taking the signals
    while not server.started:  # noqa: ASYNC110 (uvicorn's Server has no event to wait for)
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _ask(port: int, path: str, until: bytes) -> list[bytes]:
    """The socket writes the server made for one request."""
    SOCKET_WRITES.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    received = b""
    while not received.endswith(until):
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        assert chunk, f"the connection closed after {received!r}"
        received += chunk
    writer.close()
    assert b"".join(SOCKET_WRITES) == received
    return list(SOCKET_WRITES)


async def test_an_answer_leaves_in_one_write_and_a_stream_as_it_is_sent() -> None:
    async with serving(OneWriteProtocol) as port:
        answer = await _ask(port, "/chain", b'{"name":"Opsporing"}')
        assert len(answer) == 1 and answer[0].startswith(b"HTTP/1.1 200 OK\r\n")
        stream = await _ask(port, "/events", b"0\r\n\r\n")
        assert len(stream) >= 3  # the chunks 50 ms apart leave apart: nothing is held back
        assert b"data: 0" in stream[0] and b"data: 1" not in stream[0]
    async with serving(HttpToolsProtocol) as port:  # what uvicorn's own does: the head, then the body
        assert len(await _ask(port, "/chain", b'{"name":"Opsporing"}')) == 2


async def test_a_complete_answer_leaves_before_the_app_goes_on() -> None:
    """The last send of an answer writes it: what the app does after it (logs, metrics, spans) in
    the same loop step does not hold it back."""
    WRITTEN_ON_RETURN.clear()
    async with serving(OneWriteProtocol) as port:
        answer = await _ask(port, "/after", b"ok")
    assert len(answer) == 1 and answer[0].endswith(b"\r\n\r\nok")
    assert WRITTEN_ON_RETURN == [1]  # already on the socket while the app was still running
