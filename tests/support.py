"""Helpers for tests: tokens, in-process wiring of the services, and test databases."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import importlib
import itertools
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI

from bench.plans import statements as captured_statements
from gateway.settings import GatewaySettings
from services.chassis.auth import issue_dev_token
from services.chassis.routing import SERVICES
from services.chassis.settings import CommonSettings, ServiceSettings

# Services reach each other (and the gateway reaches them) at these fake hosts; RoutingTransport
# delivers each request to the right in-process app.
TEST_UPSTREAMS = {f"{name}_url": f"http://{name}.test" for name in SERVICES}


_CODES = itertools.count(1)


def unique_code(prefix: str) -> str:
    """A code no other test of this process has used (``P0012``). One counter for every helper:
    what the committed tests create stays in the worker's databases, and two counters would give
    two tests the same code (a 409 that depends on which modules ran before)."""
    return f"{prefix}{next(_CODES):04d}"


def available_services() -> list[str]:
    root = Path(__file__).resolve().parent.parent / "services"
    return [s for s in SERVICES if (root / s / "app.py").exists()]


def service_module(service: str) -> Any:
    return importlib.import_module(f"services.{service}.app")


def settings_for(var_dir: Path, service: str | None = None, database_url: str = "", **extra: Any) -> Any:
    values: dict[str, Any] = {
        "environment": "development",
        "var_dir": var_dir,
        "log_json": False,
        "log_level": "WARNING",
        # Tests change a feed and verify it again at once (tests/chassis/test_audit.py covers reuse).
        "audit_verify_reuse_seconds": 0,
        **TEST_UPSTREAMS,
        **extra,
    }
    if service is None:
        return CommonSettings(**values)
    return ServiceSettings(service=service, database_url=database_url, **values)


def gateway_settings(var_dir: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "development",
        "var_dir": var_dir,
        "log_json": False,
        "log_level": "WARNING",
        # Tests change a feed and verify it again at once (tests/chassis/test_audit.py covers reuse).
        "audit_verify_reuse_seconds": 0,
        **TEST_UPSTREAMS,
        **overrides,
    }
    return GatewaySettings(**values)


def run_directory(tmp_path_factory: Any, worker_id: str) -> Path:
    """The run's temporary directory, which every xdist worker shares (not the worker's own)."""
    base: Path = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` among the run's processes, held briefly."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.asynccontextmanager
async def taken(path: Path) -> AsyncIterator[None]:
    """``locked`` for the length of an await: waited for without blocking the worker's loop."""
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def request_then_disconnect(body: bytes, gone: asyncio.Event | None) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI ``receive``: the request with ``body``, then ``http.disconnect`` once ``gone`` is set
    (never, without one: a server that tells of a client gone only by failing ``send``)."""
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": body, "more_body": False}
        await (gone or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    return receive


class StreamingASGITransport(httpx2.AsyncBaseTransport):
    """Like ``httpx2.ASGITransport``, which collects the whole answer before returning it, except
    that the answer's body arrives as the app sends it, and closing the response tells the app that
    the client went away (``http.disconnect``, and as ASGI 2.4 has it an ``OSError`` from a later
    ``send``): what a live event stream needs in-process. ``bodies``: every answer it gave."""

    def __init__(self, app: Any, bodies: list[LiveBody] | None = None) -> None:
        self.app = app
        self.bodies = bodies if bodies is not None else []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        body = b"".join([chunk async for chunk in request.stream])
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = asyncio.get_running_loop().create_future()
        gone = asyncio.Event()
        receive = request_then_disconnect(body, gone)

        async def send(message: Mapping[str, Any]) -> None:
            if gone.is_set():
                raise OSError("the client went away")
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    chunks.put_nowait(message["body"])
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise
            finally:
                chunks.put_nowait(None)
                if not started.done():
                    started.set_exception(RuntimeError("the app answered nothing"))

        task = asyncio.create_task(run())
        status, headers = await started
        live = LiveBody(chunks, gone, task)
        self.bodies.append(live)
        return httpx2.Response(status, headers=headers, stream=live)


class LiveBody(httpx2.AsyncByteStream):
    """An answer's body as the app sends it; ``closed`` once the client let go of it."""

    def __init__(self, chunks: asyncio.Queue[bytes | None], gone: asyncio.Event, task: asyncio.Task[None]) -> None:
        self.chunks, self.gone, self.task = chunks, gone, task

    @property
    def closed(self) -> bool:
        return self.gone.is_set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.chunks.get()) is not None:
            yield chunk

    async def aclose(self) -> None:
        self.gone.set()
        done, _ = await asyncio.wait({self.task}, timeout=2)
        if not done:
            self.task.cancel()
            raise AssertionError("the app did not end its answer within 2 s of the client going away")
        if not self.task.cancelled():
            self.task.exception()  # taken: the app's own failure shows in its answer or its log


@dataclass
class EventReader:
    """Reads a live event stream event by event: ``{"id", "event", "data"}``, or ``{"comment"}``."""

    response: httpx2.Response
    lines: AsyncIterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.response.aiter_lines()

    async def next(self, within: float = 2.0) -> dict[str, str]:
        """The next event or comment, within ``within`` seconds."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(within):
            async for line in self.lines:
                if not line:
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    return {"comment": line[1:].strip()}
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError(f"the stream ended; read so far: {fields}")

    async def next_event(self, within: float = 2.0) -> dict[str, str]:
        """The next event, heartbeats passed over."""
        async with asyncio.timeout(within):
            while "comment" in (item := await self.next(within)):
                pass
        return item


class RoutingTransport(httpx2.AsyncBaseTransport):
    """Sends each request to the in-process app registered for its host; unknown hosts fail
    like an unreachable server would.

    A caller that gives up on a request (cancelled: a deadline, a gathered sibling failing) does
    not stop the app in the middle of it, as it would not stop a service across a network (uvicorn
    lets the app finish): the answer is finished on its own (``answering``; ``settle`` waits for
    it). Cancelled mid-statement, an app would leave the one connection a rolled-back suite's
    sessions share unusable for the rest of the test."""

    def __init__(self, apps: Mapping[str, FastAPI] | None = None) -> None:
        self.apps: dict[str, FastAPI] = dict(apps or {})
        self.down: set[str] = set()
        self.requests: list[httpx2.Request] = []
        self.answering: set[asyncio.Future[httpx2.Response]] = set()

    def add(self, host: str, app: FastAPI) -> None:
        self.apps[host] = app

    def reset(self) -> None:
        """No routes, no host down, no request recorded: as new (for the next test)."""
        self.apps = {}
        self.down = set()
        self.requests = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx2.ConnectError(f"connection refused: {host}", request=request)
        return await self.answer(self.transport_for(self.apps[host]), request)

    async def answer(self, transport: httpx2.AsyncBaseTransport, request: httpx2.Request) -> httpx2.Response:
        answering = asyncio.ensure_future(transport.handle_async_request(request))
        self.answering.add(answering)
        answering.add_done_callback(self._answered)
        return await asyncio.shield(answering)

    def _answered(self, answering: asyncio.Future[httpx2.Response]) -> None:
        self.answering.discard(answering)
        if not answering.cancelled():
            answering.exception()  # retrieved: its caller may have gone

    async def settle(self, within: float = 2.0) -> None:
        """Until the answers still being made are made (those of callers that gave up); any still
        going after ``within`` seconds are cancelled."""
        if self.answering:
            _, late = await asyncio.wait(set(self.answering), timeout=within)
            for answering in late:
                answering.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def transport_for(self, app: FastAPI) -> httpx2.AsyncBaseTransport:
        return httpx2.ASGITransport(app=app)


class StreamingRoutingTransport(RoutingTransport):
    """A RoutingTransport whose answers stream (``StreamingASGITransport``); ``bodies``: every answer."""

    def __init__(self, apps: Mapping[str, FastAPI] | None = None) -> None:
        super().__init__(apps)
        self.bodies: list[LiveBody] = []

    def transport_for(self, app: FastAPI) -> httpx2.AsyncBaseTransport:
        return StreamingASGITransport(app, self.bodies)

    async def answer(self, transport: httpx2.AsyncBaseTransport, request: httpx2.Request) -> httpx2.Response:
        # An event stream ends with its caller, whose going away the tests of streams look at.
        return await transport.handle_async_request(request)


class Hop(httpx2.AsyncBaseTransport):
    """One app's way into a shared RoutingTransport. Tracing instruments an HTTP client by wrapping
    its transport's method in place; with a hop per app each client's wrapper stays on its own hop
    (one client span per call, of the calling app, as between processes) instead of piling up on
    the shared transport with every app built."""

    def __init__(self, router: RoutingTransport) -> None:
        self.router = router

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.router.handle_async_request(request)

    def unwrap(self) -> None:
        """Drop the wrappers a client's instrumentation put on this hop (its client is closed)."""
        vars(self).pop("handle_async_request", None)


@dataclass
class Tokens:
    settings: CommonSettings

    def __call__(
        self,
        *roles: str,
        sub: str | None = None,
        unit: str | None = None,
        clearance: str | None = None,
        ttl: dt.timedelta = dt.timedelta(hours=1),
        partner_org: str | None = None,
    ) -> dict[str, str]:
        """Authorization header for a token with ``roles``."""
        token = issue_dev_token(
            self.settings,
            sub=sub or f"test-{'-'.join(roles) or 'nobody'}",
            roles=list(roles),
            unit=unit,
            clearance=clearance,
            ttl=ttl,
            partner_org=partner_org,
        )
        return {"Authorization": f"Bearer {token}"}


def database_base_url() -> str | None:
    """A PostgreSQL server URL when the suite runs on PostgreSQL (``IV_TEST_POSTGRES_URL``)."""
    return os.environ.get("IV_TEST_POSTGRES_URL") or None


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: FastAPI, headers: Mapping[str, str] | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://testserver", headers=dict(headers or {})
    )


AppFactory = Callable[..., FastAPI]


class LazyLifespanTransport(RoutingTransport):
    """A RoutingTransport that starts each app's lifespan on its first request, in whatever event
    loop that request runs (schemathesis drives apps from a loop of its own)."""

    def __init__(self, apps: Mapping[str, FastAPI] | None = None) -> None:
        super().__init__(apps)
        self._started: set[str] = set()
        self._stack = contextlib.AsyncExitStack()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        if host in self.apps and host not in self._started:
            self._started.add(host)
            await self._stack.enter_async_context(running(self.apps[host]))
        return await super().handle_async_request(request)

    async def aclose(self) -> None:
        """Stop the apps it started (every app's client closes the shared transport: once is enough)."""
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        await stack.aclose()


async def openapi_of(suite_client: httpx2.AsyncClient) -> dict[str, Any]:
    """A service's OpenAPI document, as the explorer reads it."""
    response = await suite_client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def own_operations(schema: Mapping[str, Any], prefixes: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every operation under ``prefixes``."""
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        if path.startswith(prefixes)
        for method, op in item.items()
    ]


def statements(suite: Any, service: str) -> contextlib.AbstractContextManager[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) the service sends meanwhile."""
    return captured_statements(suite.apps[service].state.db.engine.sync_engine)


def app_with(var_dir: Path, router: Any) -> FastAPI:
    """A bare service app serving only ``router`` (to see what the chassis refuses to start)."""
    from services.chassis.app import create_service_app

    return create_service_app(
        settings_for(var_dir, "portfolio", "sqlite+aiosqlite://"),
        title="t",
        description="d",
        collections=[],
        routers=[router],
        migrations_dir=Path(__file__).parent,
    )


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on a real loopback port, in a thread of its own: its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
