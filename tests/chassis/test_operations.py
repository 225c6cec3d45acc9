"""Operability: migrations match the models, settings refuse development defaults, health,
readiness, metrics, traces, JSON logs with trace ids, and problem+json for every failure."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from services.chassis.db import ChassisBase, Database
from services.chassis.migrations import alembic_config, upgrade
from services.chassis.settings import CommonSettings, ServiceSettings
from services.chassis.signing_keys import ensure_dev_key
from services.chassis.telemetry import TraceContextFilter, build_tracer_provider, instrument_engine, server_span
from tests.conftest import ServiceDatabase, Suite
from tests.support import Tokens, available_services, client_for, running, service_module, settings_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", available_services())
async def test_migrations_match_the_models(databases: dict[str, ServiceDatabase], service: str) -> None:
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, [ChassisBase.metadata, metadata]))  # type: ignore[arg-type]

    async with databases[service].engine.connect() as conn:
        assert await conn.run_sync(differences) == []


def test_production_refuses_the_development_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="IV_JWKS_URL"):
        CommonSettings(environment="production", var_dir=tmp_path)
    CommonSettings(environment="production", jwks_url="https://idp.example/jwks", var_dir=tmp_path)


def test_production_refuses_a_default_database_password(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="default password"):
        ServiceSettings(
            service="portfolio",
            environment="production",
            jwks_url="https://idp.example/jwks",
            database_url="postgresql+asyncpg://iv:postgres@db/portfolio",
        )
    settings = ServiceSettings(
        service="portfolio",
        environment="production",
        jwks_url="https://idp.example/jwks",
        database_url="postgresql+asyncpg://iv:a-long-generated-secret@db/portfolio",
        oauth_token_url="https://idp.example/token",
        oauth_client_id="portfolio",
        oauth_client_secret="generated",
    )
    assert settings.database_url.endswith("/portfolio")


def test_production_refuses_a_service_without_credentials_of_its_own(tmp_path: Path) -> None:
    """No static, long-lived service token: outside development a service gets its own short-lived
    tokens by client credentials, and refuses to start without them."""
    base: dict[str, Any] = {
        "service": "principles",
        "environment": "production",
        "jwks_url": "https://idp.example/jwks",
        "database_url": "postgresql+asyncpg://iv:a-long-generated-secret@db/principles",
    }
    with pytest.raises(ValidationError, match="IV_OAUTH_TOKEN_URL"):
        ServiceSettings(**base)
    with pytest.raises(ValidationError, match="IV_OAUTH_TOKEN_URL"):
        ServiceSettings(**base, oauth_token_url="https://idp.example/token", oauth_client_id="principles")
    secret = tmp_path / "client-secret"
    secret.write_text("from-a-mounted-secret\n")
    settings = ServiceSettings(
        **base,
        oauth_token_url="https://idp.example/token",
        oauth_client_id="principles",
        oauth_client_secret_file=secret,
    )
    assert settings.oauth_secret() == "from-a-mounted-secret"
    assert "from-a-mounted-secret" not in repr(settings)


def test_database_url_comes_from_the_service_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IV_PORTFOLIO_DATABASE_URL", "sqlite+aiosqlite:////tmp/elsewhere.db")
    assert ServiceSettings.for_service("portfolio").database_url == "sqlite+aiosqlite:////tmp/elsewhere.db"
    with pytest.raises(ValueError, match="unknown service"):
        ServiceSettings.for_service("payroll")


def test_database_password_comes_from_a_file_not_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL names user, host and database; the password is a mounted file, set into the URL as a
    password (quoted, never pasted into the text), so a password with URL characters still works."""
    password = tmp_path / "password"
    password.write_text("p@ss:w/rd%\n")
    monkeypatch.setenv("IV_PORTFOLIO_DATABASE_URL", "postgresql+asyncpg://portfolio@db:5432/portfolio")
    monkeypatch.setenv("IV_PORTFOLIO_DATABASE_PASSWORD_FILE", str(password))
    url = make_url(ServiceSettings.for_service("portfolio").database_url)
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "portfolio",
        "p@ss:w/rd%",
        "db",
        5432,
        "portfolio",
    )
    # One service's variables are not another's: principles keeps its own (default) database.
    assert make_url(ServiceSettings.for_service("principles").database_url).password is None
    password.write_text("postgres")
    with pytest.raises(ValidationError, match="default password"):
        ServiceSettings.for_service("portfolio", environment="production", jwks_url="https://idp.example/jwks")


@pytest.mark.parametrize("service", available_services())
async def test_health_and_readiness(suite: Suite, service: str) -> None:
    async with suite.client(service) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "schema": "at head"}


async def test_not_ready_on_an_unmigrated_database(var_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    app = service_module("valuechains").create_app(settings_for(var_dir, "valuechains", url))
    async with running(app), client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    checks = response.json()["checks"]
    assert checks.get("database") == "ok", checks
    assert checks["schema"].startswith("at nothing"), checks


async def test_ready_on_a_schema_a_newer_release_migrated(var_dir: Path, tmp_path: Path) -> None:
    """During an upgrade the new release's migration Job runs while the old pods still serve: a
    schema at a revision this code does not know is ahead of it, not behind, and the old pods stay
    ready. One behind head is not."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'newer.db'}"
    migrations = service_module("valuechains").MIGRATIONS
    await upgrade(migrations, url)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'from-a-newer-release'"))
    await engine.dispose()
    app = service_module("valuechains").create_app(settings_for(var_dir, "valuechains", url))
    async with running(app), client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert "newer than this version's head" in response.json()["checks"]["schema"]

    older = f"sqlite+aiosqlite:///{tmp_path / 'older.db'}"
    revisions = list(ScriptDirectory.from_config(alembic_config(migrations, older)).walk_revisions())
    if len(revisions) < 2:
        pytest.skip("one revision only: no schema behind head to test")
    await upgrade(migrations, older, revisions[1].revision)
    app = service_module("valuechains").create_app(settings_for(var_dir, "valuechains", older))
    async with running(app), client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503


async def test_metrics_count_requests_by_route(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("reader")) as client:
        await client.get("/v1/chains")
        await client.get("/v1/chains/does-not-exist")
        text = (await client.get("/metrics", headers=tokens("auditor"))).text
    assert 'http_requests_total{method="GET",route="/v1/chains",service="valuechains",status="200"}' in text
    assert 'route="/v1/chains/{id}",service="valuechains",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text


async def test_traces_cover_http_and_database(suite: Suite, tokens: Tokens) -> None:
    exporter = InMemorySpanExporter()
    suite.apps["valuechains"].state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with suite.client("valuechains", {**tokens("reader"), "traceparent": _TRACEPARENT}) as client:
        await client.get("/v1/chains")
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    database = [s for s in spans if s.kind == trace.SpanKind.CLIENT and "SELECT" in s.name.upper()]
    assert [s.name for s in server] == ["GET /v1/chains"]  # named by its route, once routed
    assert server[0].attributes is not None
    assert server[0].attributes["http.route"] == "/v1/chains"
    assert server[0].attributes["http.response.status_code"] == 200
    assert server[0].parent is not None and server[0].parent.span_id == 0x00F067AA0BA902B7  # the caller's
    assert database
    assert {format(s.context.trace_id, "032x") for s in spans} == {_TRACE_ID}
    assert all(s.resource.attributes["service.name"] == "valuechains" for s in spans)
    async with suite.client("valuechains", tokens("reader")) as client:
        await client.get("/v1/chains/no-such-chain")
    [failed] = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER and s not in spans]
    assert failed.name == "GET /v1/chains/{id}" and failed.parent is None  # no traceparent: a new trace
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 404
    assert failed.status.status_code == trace.StatusCode.UNSET  # a 4xx is the caller's error, not ours


_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_TRACEPARENT = f"00-{_TRACE_ID}-00f067aa0ba902b7-01"


def test_otlp_export_is_configured_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert _exporters(build_tracer_provider("x")) == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert _exporters(build_tracer_provider("x")) == ["OTLPSpanExporter"]


def _exporters(provider: object) -> list[str]:
    processors = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    return [type(p.span_exporter).__name__ for p in processors]


def test_json_logs_carry_the_trace_id() -> None:
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{"))
    logger = logging.getLogger("iv.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    provider = build_tracer_provider("logs")
    with provider.get_tracer("t").start_as_current_span("work") as span:
        logger.warning("inside a span")
        expected = format(span.get_span_context().trace_id, "032x")
    logger.warning("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["trace_id"] == expected
    assert first["message"] == "inside a span"
    assert second["trace_id"] is None


async def test_each_access_log_line_names_the_trace_its_answer_named(suite: Suite, tokens: Tokens) -> None:
    """An operator given the X-Trace-Id a user quotes finds the request's access log line by it."""
    lines: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    keep = Keep()
    keep.addFilter(TraceContextFilter())
    access = logging.getLogger("iv.access")
    level = access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)
    try:
        async with suite.client("valuechains", tokens("reader")) as client:
            listed = await client.get("/v1/chains")
            missing = await client.get("/v1/chains/no-such-chain")
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    for answer in (listed, missing):
        line = next(line for line in lines if getattr(line, "path", None) == answer.url.path)
        assert getattr(line, "status", None) == answer.status_code
        assert getattr(line, "trace_id", None) == answer.headers["x-trace-id"]
        assert getattr(line, "span_id", None)


async def test_errors_are_problem_json(suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    async with suite.client("valuechains", tokens("admin")) as client:
        not_found = await client.get("/no/such/path")
        assert not_found.status_code == 404
        assert not_found.headers["content-type"] == "application/problem+json"
        method = await client.put("/v1/chains")
        assert method.status_code == 405
        assert method.json()["type"] == "/problems/method-not-allowed"
        big = await client.post("/v1/chains", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
        assert big.status_code == 413
        assert big.json()["type"] == "/problems/payload-too-large"

        chains = suite.apps["valuechains"].state.collections["/valuechains/v1/chains"]

        async def explode(*_: object, **__: object) -> None:
            raise RuntimeError("secret internals: password=hunter2")

        monkeypatch.setattr(chains, "list_page", explode)
        # The server still sees the exception (to log it); the client sees only the problem.
        transport = httpx2.ASGITransport(app=suite.apps["valuechains"], raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t", headers=tokens("admin")) as raw:
            failed = await raw.get("/v1/chains")
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert "hunter2" not in failed.text
        assert "Traceback" not in failed.text
        assert failed.json()["type"] == "/problems/internal"


async def test_streamed_body_over_the_limit_is_413(suite: Suite, tokens: Tokens) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    async with suite.client("valuechains", tokens("admin")) as client:
        response = await client.post("/v1/chains", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("target", "part", "why"),
    [
        ("/v1/chains/a%00b", "path", "NUL"),
        ("/v1/chains/a%FFb", "path", "UTF-8"),
        ("/v1/chains?name=a%00", "query", "NUL"),
        ("/v1/chains?name=a+%FF", "query", "UTF-8"),
        ("/v1/chains?name=%E9", "query", "UTF-8"),
    ],
)
async def test_a_path_or_query_no_database_could_store_is_refused_first(
    suite: Suite, tokens: Tokens, target: str, part: str, why: str
) -> None:
    async with suite.client("valuechains", tokens("admin")) as client:
        answer = await client.get(target)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["errors"][0]["loc"] == [part] and why in problem["detail"]


async def test_a_path_or_query_that_can_be_stored_is_not_refused(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as client:
        for target in ("/v1/chains?q=caf%C3%A9+bar", "/v1/chains?q=a+b", "/v1/chains/%C3%A9t%C3%A9"):
            answer = await client.get(target)
            assert answer.status_code != 422 or answer.json()["errors"][0]["type"] != "string_unstorable", target


async def test_security_headers(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("reader")) as client:
        api = await client.get("/v1/chains")
        docs = await client.get("/docs")
        asset = await client.get("/static/explorer/swagger-ui-bundle.js")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert asset.status_code == 200
    assert "SwaggerUIBundle" in asset.text[:5_000_000]


async def test_dev_key_is_created_once_under_a_race(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    keys = await asyncio.gather(*(asyncio.to_thread(ensure_dev_key, path) for _ in range(8)))
    numbers = {k.private_numbers().private_value for k in keys}
    assert len(numbers) == 1


def test_token_command_prints_a_verifiable_token(tmp_path: Path) -> None:
    env = {"IV_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "services.chassis.auth", "--role", "architect", "--sub", "u1", "--clearance", "secret"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    ).stdout.strip()
    key = ensure_dev_key(tmp_path / "dev-signing-key.pem").public_key()
    claims = jwt.decode(out, key, algorithms=["ES256"], audience="iv-platform", issuer="iv-platform-dev")
    assert claims["roles"] == ["architect"]
    assert claims["sub"] == "u1"
    assert claims["clearance"] == "secret"


async def test_seed_loads_only_into_an_empty_database(tmp_path: Path) -> None:
    from services.chassis.cli import seed_if_empty
    from services.chassis.migrations import upgrade

    for service in available_services():
        module = service_module(service)
        url = f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}"
        await upgrade(module.MIGRATIONS, url)
        settings = settings_for(tmp_path, service, url)
        metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        loader = importlib.import_module(f"services.{service}.seed").load
        assert await seed_if_empty(settings, metadata, loader) is True
        # Everything its files hold was read (a misspelt table would be left unread, and missing).
        assert importlib.import_module(f"services.{service}.seed").DATA.unread() == []
        db = Database(url)
        async with db.engine.connect() as conn:
            from sqlalchemy import text

            events = (await conn.execute(text("SELECT count(*) FROM change_events"))).scalar_one()
        await db.dispose()
        assert events > 0
        assert await seed_if_empty(settings, metadata, loader) is False


def test_logs_are_written_off_the_callers_thread() -> None:
    from pythonjsonlogger.json import JsonFormatter

    from services.chassis.telemetry import hand_off

    written: list[tuple[int, str]] = []

    class Recording(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append((threading.get_ident(), self.format(record)))

    recording = Recording()
    recording.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{"))
    front, listener = hand_off(recording)
    logger = logging.getLogger("iv.test.hand-off")
    logger.addHandler(front)
    logger.propagate = False
    listener.start()
    try:
        provider = build_tracer_provider("logs")
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        with provider.get_tracer("t").start_as_current_span("work") as span:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("failed with %s", "detail")
            expected = format(span.get_span_context().trace_id, "032x")
    finally:
        listener.stop()
        logger.removeHandler(front)
    [(thread, line)] = written
    assert thread != threading.get_ident()
    record = json.loads(line)
    assert record["message"] == "failed with detail"
    assert record["trace_id"] == expected
    assert "ValueError: boom" in record["exc_info"]


async def test_every_answer_names_its_trace(suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    """Successes and errors alike carry X-Trace-Id: the caller's trace when it sent one, else a new
    one (also while nothing exports traces: ``test_nothing_is_recorded_while_nothing_exports``)."""
    async with suite.client("valuechains", {**tokens("admin"), "traceparent": _TRACEPARENT}) as client:
        answers = [
            await client.get("/v1/chains"),
            await client.get("/v1/chains/no-such-chain"),
            await client.get("/no/such/path"),
            await client.get("/v1/chains", params={"limit": "many"}),
            await client.post("/v1/chains", content=b"x" * 2_000_000, headers={"content-type": "application/json"}),
            await client.get("/v1/chains", headers={"Authorization": "Bearer not-a-token"}),
        ]
    assert [a.status_code for a in answers] == [200, 404, 404, 422, 413, 401]
    assert {a.headers["X-Trace-Id"] for a in answers} == {_TRACE_ID}
    async with suite.client("valuechains", tokens("admin")) as client:
        first, second = await client.get("/v1/chains"), await client.get("/v1/chains")
    assert len(first.headers["X-Trace-Id"]) == 32
    assert first.headers["X-Trace-Id"] != second.headers["X-Trace-Id"]

    chains = suite.apps["valuechains"].state.collections["/valuechains/v1/chains"]

    async def explode(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(chains, "list_page", explode)
    registry = suite.apps["valuechains"].state.metrics.registry
    labels = {"service": "valuechains", "method": "GET", "route": "/v1/chains", "status": "500"}
    failures_before = registry.get_sample_value("http_requests_total", labels) or 0
    transport = httpx2.ASGITransport(app=suite.apps["valuechains"], raise_app_exceptions=False)
    headers = {**tokens("admin"), "traceparent": _TRACEPARENT}
    async with httpx2.AsyncClient(transport=transport, base_url="http://t", headers=headers) as raw:
        failed = await raw.get("/v1/chains")
    assert failed.status_code == 500
    # The front door is outside the error handler: the 500 is named, given the headers and counted.
    assert failed.headers.get_list("X-Trace-Id") == [_TRACE_ID]
    assert failed.headers["x-content-type-options"] == "nosniff"
    assert failed.headers["cache-control"] == "no-store"
    assert registry.get_sample_value("http_requests_total", labels) == failures_before + 1


def test_nothing_is_recorded_while_nothing_exports() -> None:
    provider = build_tracer_provider("quiet")
    with provider.get_tracer("t").start_as_current_span("work") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid  # the context still travels, and names the trace
    engine = create_async_engine("sqlite+aiosqlite://")
    instrument_engine(engine, provider)
    assert len(engine.sync_engine.dispatch.before_cursor_execute) == 0  # no statement spans
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert len(engine.sync_engine.dispatch.before_cursor_execute) == 1
    with provider.get_tracer("t").start_as_current_span("work") as span:
        assert span.is_recording()


@pytest.mark.parametrize(
    "traceparent",
    [
        None,
        f"00-{_TRACE_ID}-00f067aa0ba902b7-01",
        f"00-{_TRACE_ID}-00f067aa0ba902b7-02",
        f"00-{_TRACE_ID}-00f067aa0ba902b7-00",
    ],
)
def test_a_server_span_is_the_one_the_tracer_makes(traceparent: str | None) -> None:
    """While nothing exports, the front door's span is made without the tracer; it must be the span
    the tracer would have made: the caller's trace and state, a span of its own, the same flags."""
    from opentelemetry import propagate
    from opentelemetry.context import Context
    from opentelemetry.trace import SpanKind

    carrier = {"tracestate": "vendor=1"} | ({"traceparent": traceparent} if traceparent else {})
    parent = propagate.extract(carrier) if traceparent else Context()
    provider = build_tracer_provider("quiet")
    tracer = provider.get_tracer("iv.http")
    made, expected = server_span(provider, tracer, "GET", parent), tracer.start_span("GET", parent, SpanKind.SERVER)
    assert not made.is_recording() and not expected.is_recording()
    ours, theirs = made.get_span_context(), expected.get_span_context()
    assert ours.is_valid and not ours.is_remote
    assert ours.trace_flags == theirs.trace_flags
    assert ours.trace_state == theirs.trace_state
    assert ours.span_id != theirs.span_id
    if traceparent:
        assert format(ours.trace_id, "032x") == _TRACE_ID == format(theirs.trace_id, "032x")
        assert ours.trace_state.get("vendor") == "1"
    else:
        assert ours.trace_id != theirs.trace_id  # a new trace each
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    exporting = server_span(provider, tracer, "GET", parent)  # the tracer's own: the caller's decision followed
    assert exporting.is_recording() == (traceparent is None or traceparent.endswith("-01"))


@pytest.mark.parametrize("state", [None, "vendor=1,other=2"])
def test_the_trace_goes_on_as_the_global_propagator_writes_it(state: str | None) -> None:
    """``carry_trace`` writes the default propagators' headers itself; they must be the ones the
    propagator writes, and with baggage or other propagators the propagator writes them."""
    from opentelemetry import baggage, propagate
    from opentelemetry import context as otel_context
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    from opentelemetry.trace.span import TraceState

    from services.chassis.telemetry import carry_trace

    def both() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        ours: list[tuple[str, str]] = [("accept", "*/*")]
        carry_trace(ours)
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return ours, [("accept", "*/*"), *carrier.items()]

    ours, theirs = both()
    assert ours == theirs == [("accept", "*/*")]  # no trace: nothing to carry
    span = NonRecordingSpan(
        SpanContext(
            int(_TRACE_ID, 16),
            0x00F067AA0BA902B7,
            is_remote=False,
            trace_flags=TraceFlags(3),
            trace_state=TraceState.from_header([state]) if state else TraceState(),
        )
    )
    token = otel_context.attach(set_span_in_context(span))
    try:
        ours, theirs = both()
        assert ours == theirs and ours[1] == ("traceparent", f"00-{_TRACE_ID}-00f067aa0ba902b7-03")
        assert len(ours) == (3 if state else 2)
        with_baggage = otel_context.attach(baggage.set_baggage("unit", "noord"))
        try:
            ours, theirs = both()
            assert ours == theirs and ("baggage", "unit=noord") in ours
        finally:
            otel_context.detach(with_baggage)
        default = propagate.get_global_textmap()
        propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator()]))
        try:
            ours, theirs = both()
            assert ours == theirs
        finally:
            propagate.set_global_textmap(default)
    finally:
        otel_context.detach(token)


def test_traces_are_sampled_by_ratio_and_follow_the_callers_decision() -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    exporter = InMemorySpanExporter()
    never = build_tracer_provider(
        "never", ServiceSettings(service="valuechains", trace_sample_ratio=0).trace_sample_ratio
    )
    never.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = never.get_tracer("t")
    with tracer.start_as_current_span("started here") as span:
        assert not span.is_recording()
    sampled_parent = SpanContext(int(_TRACE_ID, 16), 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(1))
    with tracer.start_as_current_span(
        "asked by a caller", context=set_span_in_context(NonRecordingSpan(sampled_parent))
    ):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["asked by a caller"]
    always = build_tracer_provider("always")
    always.add_span_processor(SimpleSpanProcessor(exporter))
    with always.get_tracer("t").start_as_current_span("kept") as span:
        assert span.is_recording()
    with pytest.raises(ValidationError):
        ServiceSettings(service="valuechains", trace_sample_ratio=1.5)


@pytest.mark.parametrize("service", available_services())
async def test_metrics_need_an_admin_or_auditor_token(suite: Suite, tokens: Tokens, service: str) -> None:
    async with suite.client(service) as client:
        anonymous = await client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        for role in ("reader", "architect", "portfolio_manager"):
            refused = await client.get("/metrics", headers=tokens(role, clearance="secret"))
            assert refused.status_code == 403, role
            assert "http_requests_total" not in refused.text
        for role in ("admin", "auditor"):
            allowed = await client.get("/metrics", headers=tokens(role))
            assert allowed.status_code == 200, role
            assert "http_requests_total" in allowed.text


@pytest.mark.parametrize("service", available_services())
async def test_metrics_show_the_database_pool(suite: Suite, tokens: Tokens, service: str) -> None:
    async with suite.client(service, tokens("auditor")) as client:
        text = (await client.get("/metrics")).text
    pools = suite.apps[service].state.db.pools()
    assert pools  # the suite's engines pool their connections too
    for engine, (kept, in_use) in pools.items():
        labels = f'engine="{engine}",service="{service}"'
        assert f"db_pool_size{{{labels}}} {float(kept)}" in text
        assert f"db_pool_checked_out{{{labels}}} " in text
        assert in_use >= 0
