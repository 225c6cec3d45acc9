"""``create_service_app``: one service, with every cross-cutting concern wired the same way."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx2
from fastapi import APIRouter, FastAPI
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from services.chassis.access_log import ACCESS_LOG, AccessLog, access_log_router
from services.chassis.audit import CHANGES, AuditKeys, Verifier, audit_router, keep_checkpointing, keep_witnessing
from services.chassis.auth import TokenVerifier
from services.chassis.changes import changes_router
from services.chassis.credentials import ServiceCredentials
from services.chassis.db import Database
from services.chassis.errors import add_exception_handlers
from services.chassis.explorer import mount_explorer
from services.chassis.idempotency import IdempotentReplay, purge_expired
from services.chassis.instances import keep_beating, new_instance_id
from services.chassis.middleware import install_front_door
from services.chassis.openapi import install_openapi
from services.chassis.queries import make_strict, unchecked_routes
from services.chassis.references import Upstreams, build_http_client
from services.chassis.resources import Collection, references_router
from services.chassis.resources.lane import read_lane
from services.chassis.resources.routers import unguarded_writes
from services.chassis.settings import ServiceSettings
from services.chassis.telemetry import (
    NO_NATIVE_TELEMETRY,
    Metrics,
    build_tracer_provider,
    configure_logging,
    instrument_client,
    instrument_engine,
    metrics_endpoint,
)

logger = logging.getLogger("iv.app")

BackgroundTask = Callable[[FastAPI], Coroutine[Any, Any, None]]
AppFigures = Callable[[FastAPI], Iterable[Metric]]
"""A service's own figures for ``/metrics``, read from its app on each scrape."""


def pool_figures(app: FastAPI) -> Iterable[Metric]:
    """The database pool of each engine: connections kept, and in use now."""
    db: Database | None = getattr(app.state, "db", None)
    size = GaugeMetricFamily("db_pool_size", "Connections the engine's pool keeps.", labels=["service", "engine"])
    used = GaugeMetricFamily(
        "db_pool_checked_out", "Connections of the engine's pool in use now.", labels=["service", "engine"]
    )
    service = app.state.settings.service
    for engine, (kept, in_use) in (db.pools() if db is not None else {}).items():
        size.add_metric([service, engine], kept)
        used.add_metric([service, engine], in_use)
    return [size, used]


async def _purge_idempotency_keys(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(600)
        try:
            await purge_expired(app.state.db)
        except Exception:
            logger.exception("purging expired idempotency keys failed")


async def _heartbeat(app: FastAPI) -> None:
    await keep_beating(app.state.db, app.state.instance_id, app.state.settings.instance_heartbeat_seconds)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    collections: Sequence[Collection[Any]],
    routers: Sequence[APIRouter],
    migrations_dir: Path,
    tags: list[dict[str, Any]] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    database: Database | None = None,
    background: Sequence[BackgroundTask] = (),
    figures: Sequence[AppFigures] = (),
) -> FastAPI:
    """Build a service app. Engines, the HTTP client and background tasks start in lifespan.

    ``transport`` and ``database`` let tests wire services in-process and roll back per test.
    """
    configure_logging(settings.log_level, json_logs=settings.log_json)
    # A serving process runs no migrations; only readiness asks alembic where the schema is.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    provider = build_tracer_provider(settings.service, settings.trace_sample_ratio)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(settings.database_url, pool_size=settings.db_pool_size)
        for engine in db.engines:
            instrument_engine(engine, provider)
        client = build_http_client(settings, transport)
        instrument_client(client, provider)
        app.state.db = db
        app.state.http = client
        app.state.upstreams = Upstreams(settings, client)
        app.state.credentials = ServiceCredentials(settings, settings.service, client)
        app.state.verifier = TokenVerifier(settings)
        app.state.audit_verifier = Verifier(app, CHANGES)
        app.state.access_log_verifier = Verifier(app, ACCESS_LOG)
        jobs = (
            (_purge_idempotency_keys, _heartbeat, keep_checkpointing, keep_witnessing, *background)
            if settings.background_tasks
            else ()
        )
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(job(app)) for job in jobs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await client.aclose()
            if database is None:
                await db.dispose()
            provider.force_flush()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    make_strict(app)
    app.state.settings = settings
    app.state.instance_id = new_instance_id()
    app.state.metrics = Metrics(settings.service)
    for read in (pool_figures, *figures):
        app.state.metrics.add_figures(functools.partial(read, app))
    app.state.tracer_provider = provider
    app.state.collections = {c.path: c for c in collections}
    # Outside development a service without its audit signing key refuses to start.
    app.state.audit_keys = AuditKeys.load(settings)
    app.state.access_log = AccessLog(settings.service)  # partners.answer records partner reads here
    app.state.audit_chains = (CHANGES, ACCESS_LOG)  # the hash chains signed, witnessed and verified
    app.state.audit_verified = None  # where this process last found its feed intact (audit.Verified)
    app.state.access_log_verified = None  # and its access log

    add_exception_handlers(app)

    async def on_replay(_request: Any, exc: Exception) -> Any:
        assert isinstance(exc, IdempotentReplay)
        return exc.response()

    app.add_exception_handler(IdempotentReplay, on_replay)

    from services.chassis.health import health_router

    app.include_router(health_router(migrations_dir))
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    for router in routers:
        app.include_router(router)
    app.include_router(references_router(collections))
    app.include_router(changes_router(f"/{settings.service}"))
    app.include_router(access_log_router(f"/{settings.service}"))
    app.include_router(audit_router(f"/{settings.service}", app.state.audit_chains))
    mount_explorer(app, title=title)
    install_openapi(app, tags=tags)
    unguarded = unguarded_writes(app.routes)
    if unguarded:
        raise RuntimeError(f"write routes must be declared with resources.write (the write pipeline): {unguarded}")
    unchecked = unchecked_routes(app.routes)
    if unchecked:
        raise RuntimeError(f"routes must come from a strict_router (their query is checked): {unchecked}")

    install_front_door(
        app,
        metrics=app.state.metrics,
        tracer_provider=provider,
        max_bytes=settings.max_body_bytes,
        lane=read_lane(app),  # reads by id, past the stack (resources/lane.py)
    )
    return app


class AppFactory(Protocol):
    def __call__(
        self,
        settings: ServiceSettings | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        database: Database | None = None,
    ) -> FastAPI: ...


def service_factory(
    service: str,
    *,
    title: str,
    description: str,
    collections: Sequence[Collection[Any]],
    routers: Sequence[APIRouter],
    migrations_dir: Path,
    tags: list[dict[str, Any]] | None = None,
    background: Sequence[BackgroundTask] = (),
    figures: Sequence[AppFigures] = (),
    settings_class: type[ServiceSettings] = ServiceSettings,
) -> AppFactory:
    """The ``create_app`` of a service (``uvicorn --factory services.<service>.app:create_app``).

    ``settings_class`` adds the service's own settings to the chassis's; settings given as the
    base class are completed from the environment.
    """

    def create_app(
        settings: ServiceSettings | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        database: Database | None = None,
    ) -> FastAPI:
        if settings is None:
            settings = settings_class.for_service(service)
        elif not isinstance(settings, settings_class):
            settings = settings_class.for_service(service, **settings.model_dump(exclude={"service"}))
        return create_service_app(
            settings,
            title=title,
            description=description,
            collections=collections,
            routers=routers,
            migrations_dir=migrations_dir,
            tags=tags,
            transport=transport,
            database=database,
            background=background,
            figures=figures,
        )

    return create_app
