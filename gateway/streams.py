"""Event streams (``text/event-stream``, the services' ``/v1/changes/stream``) passed through live.

Every other answer is read in full within the upstream's deadline. An event stream is not: the
gateway sends each chunk on as it arrives, and no whole-request deadline or per-read timeout of
the upstream's applies to it once its headers are in. What keeps a dead stream from hanging is the
services' heartbeat: a stream silent for ``IV_STREAM_IDLE_SECONDS`` (well above the heartbeat)
is ended, and so is one the upstream breaks off; the client then resumes with ``Last-Event-ID``.
When the client goes away the upstream stream is closed at once, so the service ends it too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import httpx2
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.answers import EVENT_STREAM, UpstreamAnswer, media_type_in
from gateway.headers import response_headers


def is_event_stream(response: httpx2.Response) -> bool:
    return media_type_in(response.headers.raw) == EVENT_STREAM


class EventStreamPassThrough(StreamingResponse):
    """The upstream's open event stream, chunk by chunk, with its status and headers."""

    def __init__(self, upstream: UpstreamAnswer, *, idle_seconds: float) -> None:
        super().__init__(self._chunks(), status_code=upstream.status_code)
        self.raw_headers = response_headers(upstream.raw_headers)
        self.upstream = upstream
        self.idle_seconds = idle_seconds

    async def _chunks(self) -> AsyncIterator[bytes]:
        chunks = self.upstream.chunks
        if chunks is None:
            return
        while True:
            try:
                async with asyncio.timeout(self.idle_seconds):
                    chunk = await anext(chunks)
            except (StopAsyncIteration, TimeoutError, httpx2.TransportError):
                return  # ended, silent too long or broken off: the client resumes where it was
            yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Watch for the client going away whatever the server's ASGI version (Starlette would
        # otherwise notice only at the next write, a heartbeat later), and close the upstream then.
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with contextlib.suppress(OSError):  # the client went away mid-write
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()
