"""Follow a service's change feed and hand each event to a callback, once, across restarts.

The follower keeps its cursor (the ``seq`` of the last event it handed over) in a small SQLite file.
For each event it opens a transaction on that file, calls the callback, and moves the cursor in the
same transaction once the callback has returned: an event whose callback raised (or whose process
died meanwhile) is handed over again on the next run, and one whose callback returned never is. A
callback that keeps what it does in the same file (``follower.db``) does so in that transaction too,
so its work and the cursor are committed together, exactly once. A callback that writes elsewhere
should make its effect idempotent by ``event.seq``: a crash between its return and the commit hands
that one event over again.

Events come from the live stream (``GET /v1/changes/stream``, resumed with ``Last-Event-ID``); when
the stream cannot be had (a platform without it, a connection that breaks, too many streams open),
the follower pages ``GET /v1/changes`` after its cursor to the end, waits, and tries the stream again.
A stream ends when the token it was opened with expires; the follower opens the next with the
client's token then (client credentials renew theirs; an expired static token stops the follower
with ``UnauthenticatedError``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2

from iv_client.client import Client
from iv_client.errors import IVConnectionError, NotFoundError, ServerError, TooManyRequestsError
from iv_client.models import Change

logger = logging.getLogger("iv_client.follower")

Callback = Callable[[Change], object]

SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_cursors (
    feed TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


class Follower:
    """Follows ``service``'s feed for ``client``, its cursor under ``name`` in the SQLite file ``state``
    (``":memory:"``: not kept). With no cursor stored yet it starts after ``start``: a seq (``0``, the
    default: from the beginning) or ``"now"`` (the feed's head as it is when the follower first runs)."""

    def __init__(
        self,
        client: Client,
        service: str,
        state: str | Path,
        *,
        name: str = "default",
        start: int | str = 0,
        type: str | None = None,
        subject: str | None = None,
        poll_seconds: float = 2.0,
        read_timeout: float = 60.0,
        use_stream: bool = True,
    ) -> None:
        self.client = client
        self.service = service
        self.feed = f"{name}:{service}"
        self.start = start
        self.type = type
        self.subject = subject
        self.poll_seconds = poll_seconds
        self.read_timeout = read_timeout
        self.use_stream = use_stream
        self.db = sqlite3.connect(str(state), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL" if str(state) != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self.db.execute(SCHEMA)
        self.delivered = 0
        """How many events this follower handed over since it was made."""
        self._stop = threading.Event()
        self._response: httpx2.Response | None = None

    # the cursor

    @property
    def cursor(self) -> int | None:
        """The seq of the last event handed over, or None before the first run."""
        row = self.db.execute("SELECT seq FROM feed_cursors WHERE feed = ?", (self.feed,)).fetchone()
        return int(row[0]) if row else None

    def _initial_cursor(self) -> int:
        cursor = self.cursor
        if cursor is None:
            cursor = self.client.feed_head(self.service) if self.start == "now" else int(self.start)
            self.db.execute("INSERT OR IGNORE INTO feed_cursors (feed, seq) VALUES (?, ?)", (self.feed, cursor))
        return cursor

    def _deliver(self, event: Change, callback: Callback) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            stored = self.db.execute("SELECT seq FROM feed_cursors WHERE feed = ?", (self.feed,)).fetchone()
            if stored is not None and event.seq <= stored[0]:
                self.db.execute("ROLLBACK")  # handed over before (a stream that repeated itself)
                return
            callback(event)
            self.db.execute(
                "UPDATE feed_cursors SET seq = ?, updated_at = CURRENT_TIMESTAMP WHERE feed = ?", (event.seq, self.feed)
            )
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.delivered += 1

    # running

    def stop(self) -> None:
        """Ask a running ``run`` to return (from another thread, or from the callback)."""
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def catch_up(self, callback: Callback) -> int:
        """Hand over every event up to the feed's end now, by paging; how many were handed over."""
        before = self.delivered
        self._initial_cursor()
        self._page(lambda event: self._deliver(event, callback))
        return self.delivered - before

    def run(self, callback: Callback, *, max_events: int | None = None) -> int:
        """Hand over events as they happen until ``stop()`` (or until ``max_events`` were handed
        over); how many were. A callback that raises stops it, and the exception propagates."""
        self._stop.clear()
        target = None if max_events is None else self.delivered + max_events

        def deliver(event: Change) -> None:
            self._deliver(event, callback)
            if target is not None and self.delivered >= target:
                self._stop.set()

        before = self.delivered
        self._initial_cursor()
        stream_ok = self.use_stream
        while not self._stop.is_set():
            if stream_ok:
                try:
                    handed = self.delivered
                    self._follow_stream(deliver)
                    # The stream ended (the token expired, the platform restarted): resume at once,
                    # unless it ended with nothing sent (then not in a tight loop).
                    if self.delivered == handed:
                        self._stop.wait(self.poll_seconds)
                    continue
                except NotFoundError:
                    logger.info("no change stream at %s; paging the feed instead", self.service)
                    stream_ok = False
                except (IVConnectionError, ServerError, TooManyRequestsError, httpx2.TransportError) as exc:
                    if self._stop.is_set():
                        break
                    logger.info("change stream of %s unavailable (%s); paging the feed", self.service, exc)
            try:
                self._page(deliver)
            except (IVConnectionError, ServerError) as exc:
                logger.info("change feed of %s unavailable (%s); trying again", self.service, exc)
            self._stop.wait(self.poll_seconds)
        return self.delivered - before

    def _page(self, deliver: Callable[[Change], None]) -> None:
        cursor = self.cursor or 0
        for event in self.client.changes(self.service, after=cursor, type=self.type, subject=self.subject):
            if self._stop.is_set():
                return
            deliver(event)

    def _follow_stream(self, deliver: Callable[[Change], None]) -> None:
        response = self.client.stream(
            self.service,
            last_event_id=self.cursor or 0,
            type=self.type,
            subject=self.subject,
            read_timeout=self.read_timeout,
        )
        self._response = response
        try:
            for sse in self._events(response):
                deliver(Change.model_validate_json(sse.data))
                if self._stop.is_set():
                    return
        except httpx2.StreamClosed:
            if not self._stop.is_set():
                raise
        finally:
            self._response = None
            response.close()

    def _events(self, response: httpx2.Response) -> Iterator[httpx2.ServerSentEvent]:
        try:
            yield from httpx2.EventSource(response)
        except (httpx2.TransportError, httpx2.StreamError) as exc:
            if self._stop.is_set():
                return
            raise IVConnectionError(f"the change stream of {self.service} broke off: {exc}") from exc

    def close(self) -> None:
        self.stop()
        self.db.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
