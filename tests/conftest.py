"""Shared fixtures.

Each service's database is created and migrated once per test session, that is once per xdist
worker: SQLite files in the worker's own temporary directory, or one PostgreSQL database per
service and worker (the name carries the worker's pid) when ``IV_TEST_POSTGRES_URL`` is set. Each
test then runs in a transaction that is rolled back at the end (``suite``), except tests that need
real concurrent transactions (``committed_*`` fixtures), whose rows stay for the session.

The apps are built once per worker (``AppCache``) and only when a test first needs them; each
rolled-back test binds them to its own connection and gives them back as they were.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.processes import create_postgres_database, drop_postgres_database
from gateway.app import create_app as create_gateway
from services.chassis import demo
from services.chassis.cli import seed_if_empty
from services.chassis.db import BoundDatabase, Database, is_sqlite, single_use_engine, utcnow
from services.chassis.migrations import upgrade
from services.chassis.signing_keys import ensure_dev_key
from tests.echo import ECHO
from tests.support import (
    Hop,
    RoutingTransport,
    Tokens,
    available_services,
    client_for,
    database_base_url,
    gateway_settings,
    locked,
    run_directory,
    running,
    served,
    service_module,
    settings_for,
    taken,
    unique_name,
)

pytest_plugins = ["tests.platforms"]


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    path = tmp_path_factory.mktemp("var")
    ensure_dev_key(path / "dev-signing-key.pem")
    TEMPLATES.place(run_directory(tmp_path_factory, worker_id) / "templates")
    return path


@pytest.fixture(scope="session", autouse=True)
async def _drop_templates() -> AsyncIterator[None]:
    """The worker's template databases go when its session ends (PostgreSQL keeps them otherwise)."""
    yield
    await TEMPLATES.drop()


@pytest.fixture(scope="session")
def tokens(var_dir: Path) -> Tokens:
    return Tokens(settings_for(var_dir))


@pytest.fixture(scope="session")
def echo_service() -> Iterator[str]:
    """The base URL of tests/echo.py's service on a loopback port."""
    with served(ECHO) as url:
        yield url


@dataclass
class ServiceDatabase:
    service: str
    url: str
    engine: AsyncEngine


class Templates:
    """Databases made once and copied for every test that needs one of its own.

    Migrating three databases to head, and loading the demo data into them, is most of what a
    test on fresh databases costs; a copy costs a file copy on SQLite and ``CREATE DATABASE ...
    TEMPLATE`` on PostgreSQL. ``migrated`` is at head and empty; ``demo`` holds the demo data,
    loaded on ``moment``. SQLite templates are made once for the whole run, by whichever xdist
    worker needs one first, under a lock in the run's shared directory (``moment`` is shared the
    same way); PostgreSQL ones once per worker, as a database being copied cannot be copied again
    at the same time.
    """

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.made: dict[tuple[str, str], str] = {}  # (kind, service) -> SQLite path or PostgreSQL name
        self._moment: dt.datetime | None = None

    def place(self, directory: Path) -> None:
        """Where the run's SQLite templates are (the same directory for every worker)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    @property
    def moment(self) -> dt.datetime:
        """When the demo data was loaded (it loads relative dates from it): one moment for the run."""
        if self._moment is None:
            assert self.directory is not None, "Templates.place() runs in the var_dir fixture"
            with locked(self.directory / "moment.lock"):
                path = self.directory / "moment"
                if not path.exists():
                    path.write_text(utcnow().isoformat())
                self._moment = dt.datetime.fromisoformat(path.read_text())
        return self._moment

    async def source(self, kind: str, service: str, var_dir: Path) -> str:
        key = (kind, service)
        if key in self.made:
            return self.made[key]
        base = database_base_url()
        if base:
            name = unique_name(f"iv_template_{kind}_{service}")
            await self._make(kind, service, var_dir, await create_postgres_database(base, name))
            where = name
        else:
            assert self.directory is not None, "Templates.place() runs in the var_dir fixture"
            where = str(self.directory / f"template-{kind}-{service}.db")
            async with taken(self.directory / f"template-{kind}-{service}.lock"):
                if not _exists(where):  # made by another worker already otherwise
                    making = f"{where}.{os.getpid()}"
                    await self._make(kind, service, var_dir, f"sqlite+aiosqlite:///{making}")
                    os.replace(making, where)
        self.made[key] = where
        return where

    async def _make(self, kind: str, service: str, var_dir: Path, url: str) -> None:
        await upgrade(service_module(service).MIGRATIONS, url)
        if kind == "demo":
            metadata = importlib.import_module(f"services.{service}.models").Base.metadata
            loader = importlib.import_module(f"services.{service}.seed").load
            moment = self.moment
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(demo, "utcnow", lambda: moment)
                assert await seed_if_empty(settings_for(var_dir, service, url), metadata, loader)

    async def copy(self, kind: str, service: str, var_dir: Path, directory: Path, tag: str) -> str:
        """The URL of a new database that starts as the template ``kind`` of ``service``."""
        source = await self.source(kind, service, var_dir)
        base = database_base_url()
        if base:
            name = unique_name(f"iv_{tag}_{service}")
            url = make_url(await create_postgres_database(base, name, template=source))
            return url.render_as_string(hide_password=False)
        target = directory / f"{tag}-{service}.db"
        shutil.copyfile(source, target)
        return f"sqlite+aiosqlite:///{target}"

    async def drop(self) -> None:
        base = database_base_url()
        if base:
            for name in self.made.values():
                await drop_postgres_database(base, name)
        self.made.clear()


def _exists(path: str) -> bool:
    return os.path.exists(path)  # a local file, asked once per template: not worth a thread


TEMPLATES = Templates()


@contextlib.asynccontextmanager
async def migrated_databases(
    directory: Path, tag: str, *, kind: str = "migrated", var_dir: Path | None = None
) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """One database per service, copied from this worker's template ``kind`` (migrated to head,
    or holding the demo data too): SQLite files in ``directory``, or PostgreSQL databases created
    for the run (and dropped after) when ``IV_TEST_POSTGRES_URL`` is set."""
    base = database_base_url()
    made: dict[str, ServiceDatabase] = {}
    try:
        for service in available_services():
            url = await TEMPLATES.copy(kind, service, var_dir or directory, directory, tag)
            made[service] = ServiceDatabase(service, url, single_use_engine(url))
        yield made
    finally:
        for db in made.values():
            await db.engine.dispose()
        if base:
            for db in made.values():
                await drop_postgres_database(base, make_url(db.url).database or "")


@pytest.fixture(scope="session")
async def databases(var_dir: Path) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """The databases every test shares for the session (each test's changes are rolled back)."""
    async with migrated_databases(var_dir, "test") as made:
        yield made


@pytest.fixture
async def fresh_databases(tmp_path: Path) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """Empty, migrated databases of this test's own (for demo data, which loads only into empty ones)."""
    async with migrated_databases(tmp_path, "fresh") as made:
        yield made


@pytest.fixture
async def demo_databases(tmp_path: Path, var_dir: Path) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """Databases of this test's own holding only the demo data, loaded on ``TEMPLATES.moment``."""
    async with migrated_databases(tmp_path, "demo", kind="demo", var_dir=var_dir) as made:
        yield made


@dataclass
class Suite:
    """The services (and the gateway, when built) in-process, wired to each other."""

    transport: RoutingTransport
    apps: dict[str, FastAPI] = field(default_factory=dict)
    var_dir: Path | None = None

    def client(self, service: str, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
        return client_for(self.apps[service], headers)


def settings_key(overrides: Mapping[str, Any]) -> str:
    """What an app's settings are made of: the overrides given, and the environment (``IV_*`` and
    ``OTEL_*`` variables are read when an app is built; a test that changes them gets another app)."""
    environment = sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(("IV_", "OTEL_")))
    return repr((sorted(overrides.items()), environment))


class UnboundDatabase(Database):
    """A cached app's database between tests: the worker's engine for that database (which the
    app's lifespan instruments, once) and no sessions; each test binds the app to a
    ``BoundDatabase`` on a rolled-back connection of that engine instead."""

    def __init__(self, url: str, engine: AsyncEngine) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.engine = self.write_engine = engine

    @contextlib.asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        raise RuntimeError(f"no test has bound this app to its database ({self.url})")
        yield  # never reached; makes this an async generator

    async def dispose(self) -> None:
        return None


@dataclass
class Snapshot:
    """An app's ``app.state`` and its tracer's span processors (tests add exporters of their own),
    taken to be put back when a test ends."""

    app: FastAPI
    state: dict[str, Any]
    processors: Any

    @classmethod
    def of(cls, app: FastAPI) -> Snapshot:
        return cls(app, {name: app.state[name] for name in app.state}, _multi_processor(app)._span_processors)

    def restore(self) -> None:
        for name in [name for name in self.app.state if name not in self.state]:
            del self.app.state[name]
        for name, value in self.state.items():
            self.app.state[name] = value
        _multi_processor(self.app)._span_processors = self.processors


def _multi_processor(app: FastAPI) -> Any:
    # The SDK keeps a provider's span processors as a tuple on this object, and has no API to
    # remove one again.
    return app.state.tracer_provider._active_span_processor


@dataclass
class CachedApp:
    """A service app built and started once per worker; between tests its database is ``idle``."""

    app: FastAPI
    idle: UnboundDatabase
    started: Snapshot

    @contextlib.asynccontextmanager
    async def bound(self) -> AsyncIterator[FastAPI]:
        """The app on a connection of its own in a transaction rolled back at the end; afterwards
        the app's state is as its lifespan left it (no test's database, exporters or settings stay)."""
        if self.app.state.db is not self.idle:
            raise RuntimeError("this worker's apps serve one rolled-back suite at a time")
        async with self.idle.engine.connect() as conn:
            trans = await conn.begin()
            try:
                self.app.state.db = BoundDatabase(self.idle.url, conn)
                yield self.app
            finally:
                self.started.restore()
                await trans.rollback()


class AppCache:
    """The apps of one worker (one xdist process), each built when a test first needs it, keyed by
    its settings, and reused by every later test. Their HTTP clients all use ``transport``, whose
    routes, down hosts and recorded requests each rolled-back suite starts afresh.

    A service app starts once; per test only its ``app.state.db`` changes (``CachedApp.bound``).
    The gateway is built once too, but its lifespan runs per test: its breakers, pooled client and
    cached OpenAPI document are state a test must not inherit."""

    def __init__(self, var_dir: Path, databases: dict[str, ServiceDatabase], stack: contextlib.AsyncExitStack) -> None:
        self.var_dir = var_dir
        self.databases = databases
        self.stack = stack
        self.transport = RoutingTransport()
        self.apps: dict[tuple[str, str], CachedApp] = {}
        self.gateways: dict[str, tuple[Snapshot, set[Any], Hop]] = {}
        self.engines: dict[str, Database] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, var_dir: Path, databases: dict[str, ServiceDatabase]) -> AsyncIterator[AppCache]:
        """The cache; at the end every app started is stopped and every engine disposed."""
        async with contextlib.AsyncExitStack() as stack:
            yield cls(var_dir, databases, stack)

    def engine(self, service: str) -> AsyncEngine:
        """The worker's engine for the rolled-back connections to a service's database: pooled, so
        that each test reuses a connection instead of opening one (it begins like a writer)."""
        if service not in self.engines:
            self.engines[service] = Database(self.databases[service].url, pool_size=1)
            self.stack.push_async_callback(self.engines[service].dispose)
        return self.engines[service].write_engine

    async def start(
        self, key: tuple[str, str], build: Callable[[UnboundDatabase], FastAPI], idle: UnboundDatabase
    ) -> CachedApp:
        """The app cached under ``key``; built by ``build(idle)`` and started the first time."""
        cached = self.apps.get(key)
        if cached is None:
            app = build(idle)
            await self.stack.enter_async_context(running(app))
            cached = CachedApp(app, idle, Snapshot.of(app))
            self.apps[key] = cached
        return cached

    async def service(self, service: str, **settings: Any) -> CachedApp:
        # A rolled-back connection cannot be shared with background tasks.
        values = {"background_tasks": False, **settings}
        url = self.databases[service].url

        def build(idle: UnboundDatabase) -> FastAPI:
            app: FastAPI = service_module(service).create_app(
                settings_for(self.var_dir, service, url, **values), transport=Hop(self.transport), database=idle
            )
            return app

        return await self.start((service, settings_key(values)), build, UnboundDatabase(url, self.engine(service)))

    @contextlib.asynccontextmanager
    async def gateway(self, **overrides: Any) -> AsyncIterator[FastAPI]:
        """The gateway with these settings, its lifespan started for this test. It starts from its
        state as built (what the last test left stays readable after its lifespan ended, as with a
        gateway of its own)."""
        key = settings_key(overrides)
        if key not in self.gateways:
            hop = Hop(self.transport)
            app = create_gateway(gateway_settings(self.var_dir, **overrides), transport=hop)
            self.gateways[key] = (Snapshot.of(app), set(app.state.metrics.registry._collector_to_names), hop)
        built, collectors, hop = self.gateways[key]
        # Its lifespan registers the upstream metrics in the app's registry each time it starts.
        registry = built.app.state.metrics.registry
        for collector in set(registry._collector_to_names) - collectors:
            registry.unregister(collector)
        built.restore()
        try:
            async with running(built.app):
                yield built.app
        finally:
            hop.unwrap()  # the next lifespan's client instruments it anew


@contextlib.asynccontextmanager
async def build_suite(cache: AppCache, *, rollback: bool, **settings: Any) -> AsyncIterator[Suite]:
    """The services wired to each other: with ``rollback`` the worker's cached apps, each bound to
    a transaction rolled back at the end; without, apps of their own on real, separate
    transactions (and background tasks), built for this suite."""
    async with contextlib.AsyncExitStack() as stack:
        if rollback:
            transport = cache.transport
            transport.reset()
            stack.callback(transport.reset)
            suite = Suite(transport=transport, var_dir=cache.var_dir)
            for service in cache.databases:
                cached = await cache.service(service, **settings)
                app = await stack.enter_async_context(cached.bound())
                transport.add(f"{service}.test", app)
                suite.apps[service] = app
            stack.push_async_callback(transport.settle)  # before the transactions are rolled back
            yield suite
            return
        yield await stack.enter_async_context(committed_services(cache.var_dir, cache.databases, **settings))


@contextlib.asynccontextmanager
async def committed_services(
    var_dir: Path, databases: Mapping[str, ServiceDatabase], **settings: Any
) -> AsyncIterator[Suite]:
    """Apps of their own on ``databases``, on real, separate transactions, built for this suite."""
    async with contextlib.AsyncExitStack() as stack:
        transport = RoutingTransport()
        suite = Suite(transport=transport, var_dir=var_dir)
        for service, sdb in databases.items():
            database = Database(sdb.url, pool_size=5)
            stack.push_async_callback(database.dispose)
            app = service_module(service).create_app(
                settings_for(var_dir, service, sdb.url, **settings), transport=transport, database=database
            )
            await stack.enter_async_context(running(app))
            transport.add(f"{service}.test", app)
            suite.apps[service] = app
        stack.push_async_callback(transport.settle)  # before the apps stop
        yield suite


@pytest.fixture(scope="session")
async def app_cache(var_dir: Path, databases: dict[str, ServiceDatabase]) -> AsyncIterator[AppCache]:
    """This worker's apps (see ``AppCache``)."""
    async with AppCache.open(var_dir, databases) as cache:
        yield cache


@pytest.fixture
async def suite(app_cache: AppCache) -> AsyncIterator[Suite]:
    """All services in-process, each test's changes rolled back."""
    async with build_suite(app_cache, rollback=True) as built:
        yield built


STREAMING = {"stream_poll_seconds": 0.02, "stream_heartbeat_seconds": 0.2, "stream_max_per_caller": 2}


@pytest.fixture
async def streaming_suite(app_cache: AppCache) -> AsyncIterator[Suite]:
    """The rolled-back suite with change streams that poll every 20 ms and beat every 200 ms, at
    most 2 per caller (tests/chassis/test_change_stream.py)."""
    async with build_suite(app_cache, rollback=True, **STREAMING) as built:
        yield built


@pytest.fixture
async def committed_suite(app_cache: AppCache) -> AsyncIterator[Suite]:
    """All services in-process on real, separate transactions (for concurrency tests)."""
    async with build_suite(app_cache, rollback=False) as built:
        yield built


@pytest.fixture
async def suite_gateway(suite: Suite, app_cache: AppCache) -> AsyncIterator[FastAPI]:
    """The gateway in front of the ``suite``, through the same in-process transport."""
    async with app_cache.gateway() as app:
        yield app


@pytest.fixture
async def demo_suite(
    demo_databases: dict[str, ServiceDatabase], var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Suite]:
    """Every service on a database of its own holding only its demo data, loaded on a fixed day."""
    monkeypatch.setattr(demo, "utcnow", lambda: TEMPLATES.moment)  # the load day, for the comparisons
    async with committed_services(var_dir, demo_databases, background_tasks=False) as suite:
        yield suite
