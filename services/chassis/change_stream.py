"""The change feed as a live stream of server-sent events (``GET /v1/changes/stream``).

The stream follows the feed by polling the database: every ``IV_STREAM_POLL_SECONDS`` it reads
the head, then the events after its cursor up to that head in batches, each in a short read
transaction of its own; nothing is held while it waits. The cursor moves to the head it read even
where no event was visible to the caller, so a client resuming with ``Last-Event-ID`` is never
sent those again (and nothing committed before the head can still appear below it: appends are
serialised through the head row, so events commit in seq order).

A caller may hold ``IV_STREAM_MAX_PER_CALLER`` streams at once in one process; the next is 429.
A stream ends when the caller's token expires, so it never outlives what the token allows.
Heartbeats (an SSE comment) every ``IV_STREAM_HEARTBEAT_SECONDS`` keep proxies and the gateway
from taking a quiet stream for a dead one. sse-starlette writes the events, sends the heartbeats
and ends the stream when the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from services.chassis.errors import TooManyRequests

STREAM_BATCH = 100


@dataclass(frozen=True)
class StreamItem:
    """One event to send: its seq (the SSE ``id``), type (the SSE ``event``) and JSON (``data``)."""

    seq: int
    type: str
    data: str


ReadBatch = Callable[[int], Awaitable[tuple[Sequence[StreamItem], int]]]
"""Given the cursor: up to ``STREAM_BATCH`` visible events after it, and the seq the cursor may
move to once they are sent (the last of them, or the head when the batch was not full)."""


@dataclass
class StreamSlots:
    """How many streams each caller holds open in this process."""

    held: Counter[str] = field(default_factory=Counter)

    def take(self, caller: str, limit: int) -> Callable[[], None]:
        """A slot for ``caller`` (429 when they hold ``limit``); call what it returns to give it back."""
        if self.held[caller] >= limit:
            raise TooManyRequests(
                f"you hold {limit} change streams open already; close one first",
                headers={"Retry-After": "5"},
            )
        self.held[caller] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.held[caller] -= 1
                if self.held[caller] <= 0:
                    del self.held[caller]

        return release


async def follow(
    read_batch: ReadBatch, after: int, poll_seconds: float, *, until: float | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The events after ``after``: a full batch is followed at once, otherwise after a poll; until
    the caller's token expires (``until``, epoch seconds), when the stream ends: the client comes
    back with a new token and ``Last-Event-ID``, and need to know is decided for that token."""
    cursor = after
    while until is None or time.time() < until:
        items, cursor_to = await read_batch(cursor)
        for item in items:
            yield ServerSentEvent(data=item.data, event=item.type, id=str(item.seq), sep="\n")
        cursor = max(cursor, cursor_to)
        if len(items) < STREAM_BATCH:
            await asyncio.sleep(poll_seconds)


class ChangeStreamResponse(EventSourceResponse):
    """An event stream that gives its caller's slot back however it ends."""

    def __init__(
        self, events: AsyncIterator[ServerSentEvent], *, heartbeat: float, release: Callable[[], None]
    ) -> None:
        super().__init__(
            events,
            ping=heartbeat,
            sep="\n",
            ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep="\n"),
        )
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except* OSError:
            # The client went away mid-write (ASGI 2.4 servers say so with an OSError from
            # ``send``, from each task that was writing): the stream's end, not a failure.
            pass
        finally:
            self.release()


STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "A stream of server-sent events, one per change: `id` is the event's `seq`, `event` its "
            "`type` and `data` the event as `/v1/changes` lists it (JSON). Comments (`: keep-alive`) "
            "are heartbeats."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
