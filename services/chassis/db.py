"""Engines, sessions and the declarative base every service builds on.

Built in lifespan, never at import time. Writes and reads use separate session factories so that
SQLite can take its write lock at ``BEGIN IMMEDIATE`` (a deferred transaction that later writes
can fail with "database is locked" instead of waiting) while reads stay concurrent under WAL; the
read engine's connections cannot write (``PRAGMA query_only``) and run their reads on the loop.
On PostgreSQL both factories share one engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool, QueuePool
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_

from services.chassis.sqlite_driver import OneTripConnection, OneTripDBAPI

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class ChassisBase(DeclarativeBase):
    """Base of the tables the chassis keeps in every service's database (feed, idempotency)."""

    metadata = new_metadata()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


WAL_ATTEMPTS = 150
"""How often a connection tries to switch a new database file to WAL, 0.1 s apart (15 s, as the busy timeout)."""


def _switch_to_wal(cursor: Any) -> None:
    """WAL, once per database file (the mode is kept in the file). Switching takes the file for
    itself: SQLite answers "database is locked" at once, without waiting out the busy timeout, when
    another connection opening at the same moment (a background task at start-up) holds it, so the
    switch is tried again until the mode is WAL, whoever switched it."""
    for attempt in range(WAL_ATTEMPTS):
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
        await_(asyncio.sleep(0.1))  # the connect event runs in SQLAlchemy's greenlet: the loop goes on


READ_ON_LOOP_SECONDS = 0.002
"""How long a read may run on the event loop before it is moved to its connection's thread
(``sqlite_driver``): a point read or a page takes well under a millisecond here."""


def _sqlite_setup(engine: AsyncEngine, *, begin: str, read_only: bool = False) -> None:
    """WAL, a busy timeout, foreign keys; and ``begin`` (not the driver's own implicit BEGIN)
    starts every transaction: on the chassis' one-trip connections sent with the transaction's
    first statement (``OneTripConnection.begin_every_transaction``), elsewhere from SQLAlchemy's
    ``begin`` event. A ``read_only`` engine's connections refuse to write and serve their reads on
    the loop."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=15000")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()
        if isinstance(dbapi_connection, OneTripConnection):
            if read_only:
                dbapi_connection.serve_on_loop(READ_ON_LOOP_SECONDS)
            dbapi_connection.begin_every_transaction(begin)

    if isinstance(engine.sync_engine.dialect.loaded_dbapi, OneTripDBAPI):
        return  # the connections begin each transaction themselves (above): no ``begin`` listener

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


class Database:
    """The engines and session factories of one service."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        if self.sqlite:
            # One writer connection: writers queue in the pool instead of polling SQLite's lock.
            driver = OneTripDBAPI()
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                module=driver,
                # Its reads run on the loop's thread as well as on the connection's (never at once).
                connect_args={"check_same_thread": False},
            )
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60, module=driver
            )
            _sqlite_setup(self.engine, begin="BEGIN", read_only=True)
            _sqlite_setup(self.write_engine, begin="BEGIN IMMEDIATE")
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )
            self.write_engine = self.engine
        self.read_sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)

    @property
    def engines(self) -> list[AsyncEngine]:
        return [self.engine] if self.write_engine is self.engine else [self.engine, self.write_engine]

    def pools(self) -> dict[str, tuple[int, int]]:
        """(connections the pool keeps, connections in use now) of each engine: ``read`` and
        ``write`` on SQLite, ``shared`` where one engine serves both."""
        named = (
            {"shared": self.engine}
            if self.write_engine is self.engine
            else {
                "read": self.engine,
                "write": self.write_engine,
            }
        )
        figures = {}
        for name, engine in named.items():
            pool = engine.pool
            if isinstance(pool, QueuePool):
                figures[name] = (pool.size(), pool.checkedout())
        return figures

    @asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """A unit of work: a write commits when the block ends normally; anything else (a read, or
        an error) is rolled back. A read has nothing to commit (on SQLite its engine cannot write,
        ``PRAGMA query_only``), so it ends with the close alone: one trip through the session's
        transaction machinery fewer on every GET."""
        factory = self.write_sessions if write else self.read_sessions
        async with factory() as session:
            try:
                yield session
                if write:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


class BoundDatabase(Database):
    """A Database whose sessions all join one outer connection: tests roll it back at the end.

    Each session is a savepoint on that one connection, so sessions must nest: one task may open a
    session inside its own, but concurrent tasks (requests gathered at once) take turns, or their
    savepoints would interleave and release each other's."""

    def __init__(self, url: str, connection: AsyncConnection) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.connection = connection
        self.engine = self.write_engine = connection.engine
        self.read_sessions = self.write_sessions = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        self._turn = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._depth = 0

    @asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        task = asyncio.current_task()
        if self._holder is not task:
            await self._turn.acquire()
            self._holder = task
        self._depth += 1
        try:
            async with super().session(write=write) as session:
                yield session
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
                self._turn.release()

    async def dispose(self) -> None:
        return None


def single_use_engine(url: str) -> AsyncEngine:
    """An engine for one-off work (migrations, seeding, readiness of another database)."""
    engine = create_async_engine(url, poolclass=NullPool)
    if is_sqlite(url):
        _sqlite_setup(engine, begin="BEGIN IMMEDIATE")
    return engine
