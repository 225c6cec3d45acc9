"""A small TCP fault proxy for the tests: between a client and a real server it passes bytes through,
or delays them, resets the connection, or swallows everything (a black hole)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["pass", "delay", "reset", "blackhole"]


@dataclass
class FaultProxy:
    target_host: str
    target_port: int
    mode: Mode = "pass"
    delay: float = 0.0
    faulty_connections: int | None = None
    """With a mode other than pass: how many requests get it before the rest pass (None: all)."""
    connections: int = 0
    requests: int = 0
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def set(self, mode: Mode, *, delay: float = 0.0, connections: int | None = None) -> None:
        self.mode, self.delay, self.faulty_connections = mode, delay, connections

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _fault(self) -> Mode:
        if self.mode == "pass":
            return "pass"
        if self.faulty_connections is None:
            return self.mode
        if self.faulty_connections > 0:
            self.faulty_connections -= 1
            return self.mode
        return "pass"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Each chunk the client sends (a request, on a kept-alive connection too) meets the fault
        in force at that moment."""
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        answers: asyncio.Task[None] | None = None
        try:
            while data := await reader.read(65536):
                self.requests += 1
                fault = self._fault()
                if fault == "reset":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if fault == "blackhole":
                    continue  # never a byte back
                if fault == "delay":
                    await asyncio.sleep(self.delay)
                if upstream is None:
                    upstream_reader, upstream = await asyncio.open_connection(self.target_host, self.target_port)
                    answers = asyncio.create_task(_pipe(upstream_reader, writer))
                upstream.write(data)
                await upstream.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if answers is not None:
                answers.cancel()
            for stream in (upstream, writer):
                with contextlib.suppress(Exception):
                    if stream is not None:
                        stream.close()
            if task is not None:
                self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.asynccontextmanager
async def fault_proxy(host: str, port: int) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(host, port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
