"""uvicorn's httptools protocol, writing each answer in one piece (``uvicorn --http
services.chassis.http_protocol:OneWriteProtocol``, in every Procfile command).

uvicorn writes an answer's status line and headers to the socket when the app sends
``http.response.start``, and its body when the app sends ``http.response.body``: two ``send``
calls, two TCP segments (asyncio sets ``TCP_NODELAY``), and a caller that wakes up for the head
and again for the body. On this suite's machine every such wake-up is a large part of a cheap GET,
and a request through the gateway pays it on both of its hops.

Here the connection's writes within one step of the event loop are gathered and written together
at the end of that step (``loop.call_soon``): an answer the app sends in one go (a head and a
body, as every JSON answer is) leaves in one write, and an event stream's chunks still leave as
they are sent, each in the step it was sent in. Nothing waits longer than the step it was
written in, and no more than ``GATHER_BYTES`` are held: past that the writes go at once, so a
large answer meets the socket's flow control (uvicorn waits while the transport's buffer is full)
as it would without gathering. Closing the connection writes what is gathered first.

An answer that is complete (the app's last ``http.response.body``) is written at once, not at the
end of the step: what the app does after its last ``send`` in the same step (the front door's
access log, metrics and span, uvicorn's bookkeeping) would otherwise hold it back; for a GET by id
that was worth about a tenth of the service's p50 against the floor (docs/performance.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

GATHER_BYTES = 64 * 1024
"""At most this much is held back for the end of a loop step; more is written at once."""


class GatheringTransport(asyncio.Transport):
    """A transport whose ``write`` calls of one loop step reach the socket as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(extra=None)
        self._transport = transport
        self._loop = loop
        self._gathered: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._gathered:
            self._loop.call_soon(self.flush)
        self._gathered.append(bytes(data))
        self._size += len(data)
        if self._size > GATHER_BYTES:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what was gathered (at the end of the loop step it was written in)."""
        if not self._gathered:
            return
        data = b"".join(self._gathered) if len(self._gathered) > 1 else self._gathered[0]
        self._gathered = []
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._gathered = []
        self._size = 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class OneWriteProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` on a ``GatheringTransport``: one write per answer sent in one go, made
    the moment the answer is complete."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.gathering = GatheringTransport(transport, self.loop)
        super().connection_made(self.gathering)

    def on_response_complete(self) -> None:
        # The app's last ``send`` of an answer: write it now, not at the end of the loop step. What
        # the app does after that step's send (the access log, the metrics, the span's end, uvicorn's
        # own bookkeeping) then runs while the answer is on its way, not before it leaves.
        self.gathering.flush()
        super().on_response_complete()
