"""The change-feed follower: live from the stream, its cursor in SQLite, each event handed over once
across a crash and a restart, and paging when the stream cannot be had."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from iv_client import Change, Client, Follower
from tests.clients.conftest import Platform
from tests.clients.test_client import chain_body

SAFETY = 10.0
"""A guard against hanging, not a timing: every follower here is done long before."""


class Recording(httpx2.BaseTransport):
    """Passes requests on, keeping their paths; answers ``refuse_stream`` for the change stream."""

    def __init__(self, inner: httpx2.BaseTransport, refuse_stream: int | None = None) -> None:
        self.inner, self.refuse_stream = inner, refuse_stream
        self.paths: list[str] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        if self.refuse_stream and request.url.path.endswith("/changes/stream"):
            status = self.refuse_stream
            return httpx2.Response(status, json={"type": "/problems/x", "title": "No", "status": status, "detail": "-"})
        return self.inner.handle_request(request)


@contextmanager
def guarded(follower: Follower) -> Iterator[Follower]:
    timer = threading.Timer(SAFETY, follower.stop)
    timer.start()
    try:
        yield follower
    finally:
        timer.cancel()
        follower.close()


def created(admin: Client, count: int) -> list[str]:
    return [admin.create("/valuechains/v1/chains", chain_body()).href for _ in range(count)]


async def test_live_events_once_each_across_a_crash_and_a_restart(platform: Platform, tmp_path: Path) -> None:
    admin = platform.client(platform.token("admin"))
    state = tmp_path / "cursor.db"
    seen: list[Change] = []
    head = await platform.call(admin.feed_head, "valuechains")  # what other tests left in the feed
    before = await platform.call(created, admin, 2)
    recording = Recording(platform.bridge)
    reader = platform.client(platform.token("reader"), transport=recording)

    def first_run() -> None:
        with guarded(Follower(reader, "valuechains", state, start=head, poll_seconds=0.05)) as follower:

            def crash_on_the_fifth(event: Change) -> None:
                if len(seen) == 4:
                    raise RuntimeError("the process died")
                seen.append(event)

            with pytest.raises(RuntimeError, match="died"):
                follower.run(crash_on_the_fifth)
            assert follower.cursor == seen[-1].seq

    running = asyncio.ensure_future(platform.call(first_run))
    await asyncio.sleep(0.3)  # the first two came from the stream; what follows is written meanwhile
    later = await platform.call(created, admin, 4)
    await asyncio.wait_for(running, SAFETY)
    assert [e.subject for e in seen] == [*before, *later[:2]]
    assert all(path.endswith("/changes/stream") for path in recording.paths)

    def second_run() -> None:  # a new process on the same file, another token
        with guarded(Follower(platform.client(platform.token("reader")), "valuechains", state)) as follower:
            assert follower.run(seen.append, max_events=2) == 2

    await platform.call(second_run)
    assert [e.subject for e in seen] == [*before, *later]
    assert [e.seq for e in seen] == sorted({e.seq for e in seen})
    assert all(e.type == "chains.created" for e in seen)


async def test_paging_when_there_is_no_stream_and_starting_from_now(platform: Platform, tmp_path: Path) -> None:
    admin = platform.client(platform.token("admin"))
    await platform.call(created, admin, 2)  # before the follower first ran: "now" leaves them out
    state = tmp_path / "cursor.db"
    seen: list[str] = []

    def scenario(refusal: int, count: int) -> Recording:
        recording = Recording(platform.bridge, refuse_stream=refusal)
        follower = Follower(platform.client(platform.token("reader"), transport=recording), "valuechains", state)
        follower.start, follower.poll_seconds = "now", 0.02
        with guarded(follower):
            assert follower.catch_up(lambda e: seen.append(e.subject)) == 0  # the cursor is at the head now
            threading.Timer(0.1, created, (admin, count)).start()
            assert follower.run(lambda e: seen.append(e.subject), max_events=count) == count
        return recording

    gone = await platform.call(scenario, 404, 2)  # no stream at all: paged from then on
    assert gone.paths.count("/valuechains/v1/changes/stream") == 1
    unavailable = await platform.call(scenario, 503, 1)  # the stream is tried again after each page
    assert "/valuechains/v1/changes" in unavailable.paths
    assert len(seen) == 3 and len(set(seen)) == 3
    assert await platform.call(lambda: Follower(admin, "valuechains", state).cursor) == await platform.call(
        admin.feed_head, "valuechains"
    )


async def test_what_the_callback_keeps_in_the_follower_file_commits_with_the_cursor(
    platform: Platform, tmp_path: Path
) -> None:
    admin = platform.client(platform.token("admin"))
    head = await platform.call(admin.feed_head, "valuechains")
    hrefs = await platform.call(created, admin, 3)
    state = tmp_path / "cursor.db"

    def scenario() -> None:
        with guarded(Follower(admin, "valuechains", state, start=head)) as follower:
            follower.db.execute("CREATE TABLE IF NOT EXISTS chains (href TEXT PRIMARY KEY)")

            def keep(event: Change) -> None:
                follower.db.execute("INSERT INTO chains VALUES (?)", (event.subject,))
                if event.subject == hrefs[2]:
                    raise RuntimeError("after writing, before returning")

            with pytest.raises(RuntimeError):
                follower.catch_up(keep)
            assert follower.delivered == 2
            cursor = follower.cursor
        kept = sqlite3.connect(state)
        assert [r[0] for r in kept.execute("SELECT href FROM chains")] == hrefs[:2]
        assert kept.execute("SELECT seq FROM feed_cursors").fetchall() == [(cursor,)]
        kept.close()

    await platform.call(scenario)
