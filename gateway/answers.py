"""What a service answered to a request the gateway passes on: status, headers and body as bytes.

The proxy path needs no more than this, and reading it straight off the pooled transport's answer
(``services.chassis.http_transport.Answer``) spares the two httpx2 objects a request and its
answer would otherwise be (URL parsing, header normalising, content decoding: about a third of the
gateway's work per request). An answer from
any other transport (the tests' in-process ones) is read from httpx2's response into the same
shape, so the proxy has one path either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx2

from services.chassis.http_transport import Answer

EVENT_STREAM = "text/event-stream"


def media_type_in(raw: Sequence[tuple[bytes, bytes]]) -> str:
    """The media type of ``Content-Type`` among raw headers, lower case, without parameters."""
    for name, value in raw:
        if len(name) == 12 and name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower().decode("latin-1")
    return ""


@dataclass(slots=True)
class UpstreamAnswer:
    """A service's answer: read in full (``content``), or of an event stream open (``chunks``, to
    be passed on and then closed with ``aclose``)."""

    status_code: int
    raw_headers: Sequence[tuple[bytes, bytes]]
    media_type: str
    content: bytes = b""
    chunks: AsyncIterator[bytes] | None = None
    source: Answer | httpx2.Response | None = None
    """The transport's answer, closed by ``aclose`` (which gives its connection back)."""

    @property
    def is_event_stream(self) -> bool:
        return self.media_type == EVENT_STREAM

    async def aclose(self) -> None:
        if isinstance(self.source, httpx2.Response):
            await self.source.aclose()
        elif self.source is not None:
            self.source.finish()

    @classmethod
    def from_answer(cls, response: Answer) -> UpstreamAnswer:
        """The answer's head; its body is still to be read (``read``) or streamed."""
        raw = response.raw_headers
        answer = cls(response.status, raw, media_type_in(raw), source=response)
        if answer.is_event_stream:
            answer.chunks = response.chunks()
        return answer

    @classmethod
    def from_httpx(cls, response: httpx2.Response) -> UpstreamAnswer:
        """From httpx2's response: read in full already, or an open event stream."""
        raw = response.headers.raw
        answer = cls(response.status_code, raw, media_type_in(raw), source=response)
        if answer.is_event_stream:
            answer.chunks = response.aiter_bytes()
        else:
            answer.content = response.content
        return answer
