"""SQLite's one-trip adapter (services.chassis.sqlite_driver): the same transactions and answers as
aiosqlite's own path, in fewer trips to the connection's thread, and reads on the event loop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.util.concurrency import greenlet_spawn

from services.chassis import db as db_module
from services.chassis.db import Database
from services.chassis.sqlite_driver import OneTripConnection


@contextlib.asynccontextmanager
async def things(path: Path, *names: str, pool_size: int) -> AsyncIterator[Database]:
    """A database of ``things`` named ``names``, its readers' pool ``pool_size`` connections."""
    database = Database(f"sqlite+aiosqlite:///{path}", pool_size=pool_size)
    async with database.session(write=True) as session:
        await session.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
        for name in names:
            await session.execute(text("INSERT INTO things (name) VALUES (:name)"), {"name": name})
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with things(tmp_path / "trips.db", "one", "two", pool_size=2) as database:
        yield database


@contextlib.contextmanager
def trips() -> Iterator[collections.Counter[str]]:
    """Every call made on a connection's thread while the block runs, by what it ran."""
    seen: collections.Counter[str] = collections.Counter()
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen[getattr(fn, "__name__", repr(fn))] += 1
        return await original(self, fn, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aiosqlite.Connection, "_execute", counted)
        yield seen


async def test_a_write_costs_two_trips_its_statement_with_begin_and_the_commit(db: Database) -> None:
    async with db.session(write=True) as session:
        await session.execute(text("SELECT 1"))  # the pool's connection is open and warm
    with trips() as seen:
        async with db.session(write=True) as session:
            await session.execute(text("UPDATE things SET name = 'een' WHERE id = 1"))
    assert seen == {"_run": 1, "commit": 1}


async def test_a_cheap_read_runs_on_the_loop_and_costs_no_trip(db: Database) -> None:
    async with db.session(write=False) as session:
        await session.execute(text("SELECT 1"))
    with trips() as seen:
        async with db.session(write=False) as session:
            assert (await session.execute(text("SELECT name FROM things WHERE id = 1"))).scalar() == "one"
            assert (await session.execute(text("SELECT count(*) FROM things"))).scalar() == 2
    assert sum(seen.values()) == 0


SLOW_READ = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT sum(i) FROM n"


async def test_a_read_over_its_budget_is_run_again_on_the_thread_in_the_same_snapshot(db: Database) -> None:
    """Interrupted on the loop after the budget, the statement runs from the start on the thread
    and answers in full; the transaction it ran in is still the one it began (its snapshot)."""
    async with db.session(write=False) as reader:
        before = (await reader.execute(text("SELECT count(*) FROM things"))).scalar_one()
        async with db.session(write=True) as writer:
            await writer.execute(text("INSERT INTO things (name) VALUES ('three')"))
        with trips() as seen:
            assert (await reader.execute(text(SLOW_READ))).scalar() == 3000000 * 3000001 // 2
            assert (await reader.execute(text("SELECT count(*) FROM things"))).scalar() == before
        assert seen == {"_run": 1}  # the slow one only; the cheap one stayed on the loop
    with trips() as seen:
        async with db.session(write=False) as first:
            assert (await first.execute(text(SLOW_READ))).scalar() == 3000000 * 3000001 // 2
    assert seen == {"_run": 1}  # BEGIN and COMMIT on the loop, the statement's second run on the thread


async def test_a_read_session_cannot_write(db: Database) -> None:
    """The read engine's connections refuse to write (so what they run on the loop holds no lock),
    and nothing of a refused write is left."""
    with pytest.raises(Exception, match="readonly"):
        async with db.session(write=False) as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('sneaked')"))
    async with db.session(write=False) as session:
        assert (await session.execute(text("SELECT count(*) FROM things"))).scalar() == 2


async def test_a_failing_read_on_the_loop_is_reported_and_the_connection_serves_on(db: Database) -> None:
    with pytest.raises(Exception, match="no such table"):
        async with db.session(write=False) as session:
            await session.execute(text("SELECT * FROM missing"))
    async with db.session(write=False) as session:
        assert (await session.execute(text("SELECT name FROM things WHERE id = 2"))).scalar() == "two"


def test_the_budget_is_a_positive_number_of_seconds() -> None:
    connection = OneTripConnection.__new__(OneTripConnection)
    for budget in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive number of seconds"):
            connection.serve_on_loop(budget)


async def test_a_read_ends_with_its_close_and_a_write_with_its_commit(db: Database) -> None:
    """A read has nothing to commit: the session's close rolls its transaction back, and only a
    write goes through the session's commit (Database.session)."""
    ended: list[str] = []
    for engine in db.engines:
        event.listen(engine.sync_engine, "commit", lambda _conn: ended.append("commit"))
        event.listen(engine.sync_engine, "rollback", lambda _conn: ended.append("rollback"))
    async with db.session(write=False) as session:
        assert (await session.execute(text("SELECT name FROM things WHERE id = 2"))).scalar() == "two"
    assert ended == ["rollback"]
    ended.clear()
    async with db.session(write=True) as session:
        await session.execute(text("UPDATE things SET name = 'twee' WHERE id = 2"))
    assert ended[0] == "commit"
    async with db.session(write=False) as session:
        assert (await session.execute(text("SELECT name FROM things WHERE id = 2"))).scalar() == "twee"


async def test_each_transaction_begins_without_a_connection_event(db: Database) -> None:
    """The connections send BEGIN themselves, so the engines have no connection event listener
    (SQLAlchemy's ``_has_events``): with one, every statement dispatches half a dozen events."""
    assert not any(engine.sync_engine._has_events for engine in db.engines)
    for _ in range(2):  # each transaction, not only the connection's first
        async with db.session(write=True) as session:
            await session.execute(text("UPDATE things SET name = name WHERE id = 1"))
            raw = await session.connection()
            driver = (await raw.get_raw_connection()).driver_connection
            assert driver is not None and driver._conn.in_transaction


async def test_a_session_that_runs_nothing_costs_no_trip(db: Database) -> None:
    with trips() as seen:
        async with db.session(write=True):
            pass
    assert sum(seen.values()) == 0


async def test_a_read_transaction_sees_one_snapshot(db: Database) -> None:
    """BEGIN still reaches SQLite with the first statement: a write committed meanwhile stays unseen."""
    async with db.session(write=False) as reader:
        before = (await reader.execute(text("SELECT count(*) FROM things"))).scalar_one()
        async with db.session(write=True) as writer:
            await writer.execute(text("INSERT INTO things (name) VALUES ('three')"))
        assert (await reader.execute(text("SELECT count(*) FROM things"))).scalar() == before
    async with db.session(write=False) as later:
        assert (await later.execute(text("SELECT count(*) FROM things"))).scalar() == before + 1


async def test_a_write_takes_the_lock_at_its_first_statement(db: Database) -> None:
    async with db.write_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        raw = (await conn.get_raw_connection()).dbapi_connection
        assert isinstance(raw, OneTripConnection)
        assert raw._open  # BEGIN IMMEDIATE went with the SELECT
        await conn.rollback()
        assert not raw._open


async def test_a_failed_write_leaves_nothing_and_no_open_transaction(db: Database) -> None:
    async def failing_handler() -> None:
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('lost')"))
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing_handler()
    with pytest.raises(Exception, match="NOT NULL"):
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO things (name) VALUES (NULL)"))
    async with db.session(write=False) as session:
        names = (await session.execute(text("SELECT name FROM things ORDER BY id"))).scalars().all()
    assert names == ["one", "two"]


async def test_row_counts_ids_and_batches_are_reported(db: Database) -> None:
    async with db.session(write=True) as session:
        updated = await session.execute(text("UPDATE things SET name = 'uno' WHERE id = 1"))
        missed = await session.execute(text("UPDATE things SET name = 'x' WHERE id = 99"))
        assert (updated.rowcount, missed.rowcount) == (1, 0)  # type: ignore[attr-defined]
        inserted = await session.execute(text("INSERT INTO things (name) VALUES ('drie')"))
        assert inserted.lastrowid == 3  # type: ignore[attr-defined]
        await session.execute(text("INSERT INTO things (name) VALUES (:name)"), [{"name": "vier"}, {"name": "vijf"}])
    async with db.session(write=False) as session:
        names = (await session.execute(text("SELECT name FROM things ORDER BY id"))).scalars().all()
    assert names == ["uno", "two", "drie", "vier", "vijf"]


async def test_server_side_cursors_are_refused_not_silently_buffered(db: Database) -> None:
    async with db.session(write=False) as session:
        with pytest.raises(Exception, match="server-side cursors are not served"):
            await session.stream(text("SELECT name FROM things"))


class Racing:
    """A cursor on a new file that another connection holds for the first ``busy`` switches: the
    answers SQLite gives ('database is locked' at once, then 'wal' once it is free)."""

    def __init__(self, busy: int, error: str = "database is locked") -> None:
        self.busy = busy
        self.error = error
        self.mode = "delete"
        self.ran: list[str] = []

    def execute(self, statement: str) -> None:
        self.ran.append(statement)
        if statement == "PRAGMA journal_mode=WAL":
            if self.busy:
                self.busy -= 1
                raise sqlite3.OperationalError(self.error)
            self.mode = "wal"

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


async def test_a_new_file_switches_to_wal_however_many_connections_open_it_at_once() -> None:
    """SQLite refuses the switch at once (no busy wait) while another connection holds the file:
    it is tried again until the mode is WAL; a file already in WAL is not switched again."""
    racing = Racing(busy=2)
    await greenlet_spawn(db_module._switch_to_wal, racing)
    assert racing.mode == "wal" and racing.ran.count("PRAGMA journal_mode=WAL") == 3
    already = Racing(busy=0)
    already.mode = "wal"
    await greenlet_spawn(db_module._switch_to_wal, already)
    assert already.ran == ["PRAGMA journal_mode"]
    failing = Racing(busy=1, error="disk I/O error")  # anything but the lock is raised at once
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        await greenlet_spawn(db_module._switch_to_wal, failing)
    assert failing.ran.count("PRAGMA journal_mode=WAL") == 1


# --- cancelled on the connection's thread --------------------------------------------------------

SLOW_READ = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT sum(i) FROM n"


@pytest.fixture
async def trips_db(tmp_path: Path) -> AsyncIterator[Database]:
    async with things(tmp_path / "cancel.db", "one", pool_size=1) as database:
        database.engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one reader: the same connection again
        yield database


async def cancelled_once_on_the_thread(work: Any) -> None:
    """Run ``work(entered)`` and cancel it once its slow statement is under way (on the
    connection's thread: it runs there for a good part of a second)."""
    entered = asyncio.Event()
    task = asyncio.create_task(work(entered))
    await entered.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_read_cancelled_on_the_connections_thread_leaves_no_transaction_behind(trips_db: Database) -> None:
    """A read run again on the thread (over its budget) and cancelled there (a client gone, a
    timeout): SQLAlchemy invalidates the connection, so no read transaction (and no old snapshot)
    is handed to the next read, which sees a write committed meanwhile and runs its own BEGIN."""
    db = trips_db

    async def slow_read(entered: asyncio.Event) -> None:
        async with db.session(write=False) as session:
            await session.execute(text("SELECT 1"))
            entered.set()
            await session.execute(text(SLOW_READ))

    await cancelled_once_on_the_thread(slow_read)
    async with db.session(write=True) as session:
        await session.execute(text("INSERT INTO things (name) VALUES ('two')"))
    for _ in range(2):
        async with db.session(write=False) as session:
            assert (await session.execute(text("SELECT count(*) FROM things"))).scalar() == 2


async def test_a_write_cancelled_mid_statement_leaves_nothing_and_frees_the_write_lock(
    trips_db: Database, tmp_path: Path
) -> None:
    """A write cancelled while its statement runs on the thread: nothing of it is committed, the
    write lock is free (another process takes it at once), and the one writer connection's pool
    serves the next write."""
    db = trips_db

    async def slow_write(entered: asyncio.Event) -> None:
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('lost')"))
            entered.set()
            await session.execute(text(SLOW_READ))

    await cancelled_once_on_the_thread(slow_write)
    other = sqlite3.connect(tmp_path / "cancel.db", isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
    async with db.session(write=True) as session:
        await session.execute(text("INSERT INTO things (name) VALUES ('kept')"))
    async with db.session(write=False) as session:
        names = (await session.execute(text("SELECT name FROM things ORDER BY id"))).scalars().all()
    assert names == ["one", "kept"]
