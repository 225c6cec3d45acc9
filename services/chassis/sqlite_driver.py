"""SQLite through aiosqlite, one trip to its worker thread per statement.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
four of them for every statement (open a cursor, execute, fetch the rows, close the cursor), each
a hand-off to that thread and back through the event loop; under load each also waits for the GIL.
This adapter does the four in one call on that thread, and the rows are buffered exactly as before,
so nothing above the driver can tell the difference. It also saves the trips that do nothing:

- ``BEGIN`` (``db._sqlite_setup`` asks for one when SQLAlchemy begins a transaction) is sent with
  the transaction's first statement, in the same trip; a transaction that runs no statement
  never begins.
- ``COMMIT`` and ``ROLLBACK`` are sent only when a transaction is open on the connection, as the
  connection itself reports after each statement (``sqlite3.Connection.in_transaction``); the
  pool's rollback of a connection that was committed costs nothing.

A write of one row thus costs two trips (the statement with its BEGIN, the COMMIT) instead of nine.

**Reads run on the event loop first** (``serve_on_loop``, the read engine's connections, which
``PRAGMA query_only`` keeps from writing). A trip to the thread costs more than most reads it
carries: a hand-off to the thread, a wake-up of the loop through its self-pipe, and under load a
wait for the GIL (up to its 5 ms switch interval). In WAL mode a read never waits for a lock, so a
read statement is run right here, with SQLite's progress handler watching the clock: a statement
still running after ``budget`` seconds is interrupted (a read-only transaction survives that, its
snapshot intact) and run again from the start on the connection's thread, where it no longer holds
up the loop. A cheap read costs no trip at all; an expensive one costs the budget once more.
``COMMIT`` and ``ROLLBACK`` of a read-only transaction do no I/O and run here too.

Server-side cursors (``stream()``) are not served here: asking for one fails. The adapter uses two
of aiosqlite's internals, ``Connection._execute`` and ``Connection._conn``, with the version
pinned in ``uv.lock``; tests/chassis/test_sqlite_driver.py fails if they change.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

Outcome = tuple[Any, list[Any], int, int | None, bool]
"""(description, rows, rowcount, lastrowid, in_transaction) after one statement."""


def _run(connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any) -> Outcome:
    if begin is not None:
        connection.execute(begin).close()
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid, connection.in_transaction
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Sequence[Any]) -> Outcome:
    if begin is not None:
        connection.execute(begin).close()
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, [], cursor.rowcount, cursor.lastrowid, connection.in_transaction
    finally:
        cursor.close()


PROGRESS_STEPS = 1000
"""SQLite virtual machine steps between two looks at the clock while a read runs on the loop (a
few tens of microseconds)."""


class Interrupted(Exception):
    """A read that ran on the loop past its budget: it is run again on the connection's thread."""


def _run_here(
    connection: sqlite3.Connection, budget: float, begin: str | None, operation: str, parameters: Any
) -> Outcome:
    deadline = time.perf_counter() + budget
    connection.set_progress_handler(lambda: time.perf_counter() > deadline, PROGRESS_STEPS)
    try:
        return _run(connection, begin, operation, parameters)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
            raise Interrupted from None
        raise
    finally:
        connection.set_progress_handler(None, 0)


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and close are one call on the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: OneTripConnection) -> None:
        # No aiosqlite cursor is opened here (that would be a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None  # nothing is open: the rows are already here

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        connection: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        if connection.serves_here():
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            begin, connection._begin = connection._begin, None
            try:
                outcome = _run_here(driver._conn, connection._budget, begin, operation, parameters)
            except Interrupted:
                # BEGIN (if it went) stays done; the statement goes again, on the thread.
                connection._begin = None if driver._conn.in_transaction else begin
            except BaseException:
                connection._open = True  # whatever failed, a real ROLLBACK follows
                raise
            else:
                self._take(outcome)
                return
        await self._trip(_run, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(_run_many, operation, seq_of_parameters)

    async def _trip(self, run: Any, operation: Any, parameters: Any) -> None:
        connection: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        async with connection._execute_mutex:
            begin, connection._begin = connection._begin, None
            if begin is not None:
                connection._open = True  # until the connection says otherwise
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            try:
                outcome: Outcome = await driver._execute(run, driver._conn, begin, operation, parameters)
            except BaseException:
                connection._open = True  # whatever failed, a real ROLLBACK follows
                raise
        self._take(outcome)

    def _take(self, outcome: Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid, open_ = outcome
        self._adapt_connection._open = open_  # type: ignore[attr-defined]
        self._rows = deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """The adapted connection: knows whether a transaction is open, and holds a BEGIN asked for
    until the first statement."""

    __slots__ = ("_autobegin", "_begin", "_budget", "_open")
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin: str | None = None
        self._autobegin: str | None = None
        self._open = False
        self._budget = 0.0  # seconds a statement may run on the loop; 0: every statement is a trip

    def serve_on_loop(self, budget: float) -> None:
        """Run reads on the event loop for up to ``budget`` seconds each (the module's docstring);
        only for a connection that cannot write (``PRAGMA query_only``), whose transactions hold
        nothing but a snapshot."""
        if not (0 < budget < math.inf):
            raise ValueError(f"the budget must be a positive number of seconds, not {budget}")
        self._budget = budget

    def serves_here(self) -> bool:
        """Whether what comes next runs on the loop: on a connection serving there, while no trip
        to its thread is under way."""
        return bool(self._budget) and not self._execute_mutex.locked()

    def begin_every_transaction(self, begin: str) -> None:
        """From now on every transaction starts with ``begin`` (``BEGIN`` or ``BEGIN IMMEDIATE``),
        sent with its first statement: the next statement, and the first after each COMMIT or
        ROLLBACK. It is what SQLAlchemy's ``begin`` event would ask for (SQLAlchemy begins a
        transaction before any statement), without the event: an engine with a connection event
        listener dispatches its events on every execution (about 90 Python calls of a GET by id)."""
        self._autobegin = self._begin = begin

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            raise NotImplementedError("server-side cursors are not served on SQLite here")
        return self._cursor_cls(self)

    def commit(self) -> None:
        self._begin = self._autobegin
        if self._open:
            if self.serves_here():
                self._connection._conn.commit()  # a snapshot to let go of: no I/O
            else:
                super().commit()
            self._open = False

    def rollback(self) -> None:
        self._begin = self._autobegin
        if self._open:
            if self.serves_here():
                self._connection._conn.rollback()
            else:
                super().rollback()
            self._open = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given (``create_async_engine(module=...)``)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)
