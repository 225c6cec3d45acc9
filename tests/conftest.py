"""Shared fixtures.

Each service's database is created and migrated once per test session (SQLite files, or one
PostgreSQL database per service when ``IV_TEST_POSTGRES_URL`` is set). Each test then runs in a
transaction that is rolled back at the end (``app`` fixtures), except tests that need real
concurrent transactions (``committed_*`` fixtures), whose rows stay for the session.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app as create_gateway
from services.chassis import demo
from services.chassis.auth import ensure_dev_key
from services.chassis.cli import seed_if_empty
from services.chassis.db import BoundDatabase, Database, single_use_engine, utcnow
from services.chassis.migrations import upgrade
from tests.support import (
    RoutingTransport,
    Tokens,
    available_services,
    client_for,
    create_postgres_database,
    database_base_url,
    drop_postgres_database,
    gateway_settings,
    running,
    service_module,
    settings_for,
    unique_name,
)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("var")
    ensure_dev_key(path / "dev-signing-key.pem")
    return path


@pytest.fixture(scope="session")
def tokens(var_dir: Path) -> Tokens:
    return Tokens(settings_for(var_dir))


@dataclass
class ServiceDatabase:
    service: str
    url: str
    engine: AsyncEngine


@contextlib.asynccontextmanager
async def migrated_databases(directory: Path, tag: str) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """One database per service, migrated to head: SQLite files in ``directory``, or PostgreSQL
    databases created for the run (and dropped after) when ``IV_TEST_POSTGRES_URL`` is set."""
    base = database_base_url()
    made: dict[str, ServiceDatabase] = {}
    names: list[str] = []
    try:
        for service in available_services():
            if base:
                name = unique_name(f"iv_{tag}_{service}")
                names.append(name)
                url = await create_postgres_database(base, name)
            else:
                url = f"sqlite+aiosqlite:///{directory / f'{tag}-{service}.db'}"
            await upgrade(service_module(service).MIGRATIONS, url)
            made[service] = ServiceDatabase(service, url, single_use_engine(url))
        yield made
    finally:
        for db in made.values():
            await db.engine.dispose()
        for name in names:
            await drop_postgres_database(base or "", name)


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


@dataclass
class Suite:
    """The services (and the gateway, when built) in-process, wired to each other."""

    transport: RoutingTransport
    apps: dict[str, FastAPI] = field(default_factory=dict)
    var_dir: Path | None = None

    def client(self, service: str, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
        return client_for(self.apps[service], headers)


@contextlib.asynccontextmanager
async def build_suite(
    var_dir: Path, databases: dict[str, ServiceDatabase], *, rollback: bool, **settings: Any
) -> AsyncIterator[Suite]:
    transport = RoutingTransport()
    suite = Suite(transport=transport, var_dir=var_dir)
    async with contextlib.AsyncExitStack() as stack:
        for service, sdb in databases.items():
            if rollback:
                conn = await stack.enter_async_context(sdb.engine.connect())
                trans = await conn.begin()
                stack.push_async_callback(trans.rollback)
                database: Database = BoundDatabase(sdb.url, conn)
            else:
                database = Database(sdb.url, pool_size=5)
                stack.push_async_callback(database.dispose)
            # One rolled-back connection per service cannot be shared with background tasks.
            values = {"background_tasks": False, **settings} if rollback else settings
            app = service_module(service).create_app(
                settings_for(var_dir, service, sdb.url, **values), transport=transport, database=database
            )
            await stack.enter_async_context(running(app))
            transport.add(f"{service}.test", app)
            suite.apps[service] = app
        yield suite


@pytest.fixture
async def suite(var_dir: Path, databases: dict[str, ServiceDatabase]) -> AsyncIterator[Suite]:
    """All services in-process, each test's changes rolled back."""
    async with build_suite(var_dir, databases, rollback=True) as built:
        yield built


@pytest.fixture
async def committed_suite(var_dir: Path, databases: dict[str, ServiceDatabase]) -> AsyncIterator[Suite]:
    """All services in-process on real, separate transactions (for concurrency tests)."""
    async with build_suite(var_dir, databases, rollback=False) as built:
        yield built


@pytest.fixture
async def suite_gateway(suite: Suite, var_dir: Path) -> AsyncIterator[FastAPI]:
    """The gateway in front of the ``suite``, through the same in-process transport."""
    app = create_gateway(gateway_settings(var_dir), transport=suite.transport)
    async with running(app):
        yield app


@pytest.fixture
async def demo_suite(
    fresh_databases: dict[str, ServiceDatabase], var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Suite]:
    """Every service on a fresh database holding only its demo data, loaded on a fixed day."""
    moment = utcnow()
    monkeypatch.setattr(demo, "utcnow", lambda: moment)  # the load day, fixed for the comparisons
    for service, sdb in fresh_databases.items():
        metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        loader = importlib.import_module(f"services.{service}.seed").load
        assert await seed_if_empty(settings_for(var_dir, service, sdb.url), metadata, loader)
    async with build_suite(var_dir, fresh_databases, rollback=False, background_tasks=False) as suite:
        yield suite
