"""Traces, JSON logs carrying the trace id, and Prometheus metrics.

Each app gets its own tracer provider (so one process can host several apps in tests, each with
its own ``service.name``); spans are exported over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
One layer traces requests: the chassis' front door (``services.chassis.middleware.FrontDoor``),
neither FastAPI's own telemetry nor the ASGI instrumentation. Nothing is recorded while nothing
exports (no span processor): spans are then non-recording, carrying the trace context on (every
answer still names its trace id) but costing next to nothing, and the database gets no statement
spans. When something exports, sampling is ``ParentBased(TraceIdRatioBased(IV_TRACE_SAMPLE_RATIO))``:
a caller's decision is followed, and a trace that starts here is kept with that probability.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import logging.handlers
import os
import queue
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from urllib.parse import urlsplit

import httpx2
from fastapi.telemetry import TelemetryConfig
from opentelemetry import baggage, metrics, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

access_logger = logging.getLogger("iv.access")

TRACE_ID_HEADER = "X-Trace-Id"
"""Every answer names the trace it belongs to, so a caller has something to quote."""

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ServiceTracerProvider(TracerProvider):
    """A tracer provider that records only while a span processor (an exporter) is attached."""

    def __init__(self, service_name: str, sample_ratio: float = 1.0) -> None:
        self.exporting = False
        self._when_exporting: list[Callable[[], None]] = []
        super().__init__(
            resource=Resource.create({SERVICE_NAME: service_name}), sampler=ExportingSampler(self, sample_ratio)
        )

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.exporting = True
        waiting, self._when_exporting = self._when_exporting, []
        for callback in waiting:
            callback()

    def when_exporting(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once something exports: now, or when the first processor is attached."""
        if self.exporting:
            callback()
        else:
            self._when_exporting.append(callback)


class ExportingSampler(Sampler):
    """Drops every span while its provider exports nothing; otherwise ParentBased(TraceIdRatioBased)."""

    def __init__(self, provider: ServiceTracerProvider, ratio: float) -> None:
        self.provider = provider
        self.sampled = ParentBased(TraceIdRatioBased(ratio))

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = self.sampled if self.provider.exporting else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"ExportingSampler{{{self.sampled.get_description()}}}"


def build_tracer_provider(service_name: str, sample_ratio: float = 1.0) -> ServiceTracerProvider:
    provider = ServiceTracerProvider(service_name, sample_ratio)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def server_span(provider: trace.TracerProvider, tracer: trace.Tracer, name: str, parent: Context) -> Span:
    """A request's server span under the caller's context ``parent``. While nothing exports it is
    the non-recording span the SDK's tracer would make (its sampler drops every span then), made
    here without the tracer's sampling, span limits and span metrics: the caller's trace id (a new
    one without a caller's), a new span id, the caller's trace state, flags not sampled."""
    if not isinstance(provider, ServiceTracerProvider) or provider.exporting:
        return tracer.start_span(name, context=parent, kind=SpanKind.SERVER)
    caller = trace.get_current_span(parent).get_span_context() if parent else trace.INVALID_SPAN_CONTEXT
    ids = provider.id_generator
    if caller.is_valid:
        trace_id, random_id, state = caller.trace_id, caller.trace_flags.random_trace_id, caller.trace_state
    else:
        trace_id, random_id, state = ids.generate_trace_id(), ids.is_trace_id_random(), TraceState()
    flags = trace.TraceFlags(trace.TraceFlags.RANDOM_TRACE_ID if random_id else trace.TraceFlags.DEFAULT)
    return trace.NonRecordingSpan(
        trace.SpanContext(trace_id, ids.generate_span_id(), is_remote=False, trace_flags=flags, trace_state=state)
    )


NO_NATIVE_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""``FastAPI(telemetry=...)``: FastAPI's own request tracing off; the chassis' front door
(``services.chassis.middleware.FrontDoor``) makes each request's server span, in the same layer as
its headers, metrics and access log."""


def instrument_engine(engine: AsyncEngine, provider: ServiceTracerProvider) -> None:
    """A span per SQL statement, from when something exports."""

    def instrument() -> None:
        meter = metrics.get_meter("iv.sqlalchemy")
        usage = meter.create_up_down_counter("db.client.connections.usage", unit="connections")
        EngineTracer(provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, usage)

    provider.when_exporting(instrument)


def instrument_client(client: httpx2.AsyncClient, provider: TracerProvider) -> None:
    """A client span per outgoing request from when something exports. Until then each request only
    carries the current trace context on (W3C ``traceparent``), set by a request hook: the
    instrumentation's non-recording span per request cost about 7% of the gateway's time under load."""
    if not isinstance(provider, ServiceTracerProvider):
        HTTPX2ClientInstrumentor.instrument_client(client, tracer_provider=provider)
        return

    async def pass_trace_context(request: httpx2.Request) -> None:
        if not provider.exporting:  # once it exports, the instrumentation's span sets it
            propagate.inject(request.headers)

    client.event_hooks["request"].append(pass_trace_context)
    provider.when_exporting(lambda: HTTPX2ClientInstrumentor.instrument_client(client, tracer_provider=provider))


def outgoing_span(provider: trace.TracerProvider, method: str, url: str) -> AbstractContextManager[Span | None]:
    """The client span of a request sent without httpx2's client (the gateway passing a request
    on through ``PooledTransport.exchange``), as the httpx2 instrumentation makes it; while
    nothing exports, none. Either way ``carry_trace`` inside it puts the context on the request."""
    if isinstance(provider, ServiceTracerProvider) and not provider.exporting:
        return contextlib.nullcontext()
    parts = urlsplit(url)
    return provider.get_tracer("iv.outgoing").start_as_current_span(
        method,
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": method,
            "url.full": url,
            "server.address": parts.hostname or "",
            "server.port": parts.port or 80,
        },
    )


def answered(span: Span | None, status: int) -> None:
    """Record the answer's status on an outgoing request's span (4xx and 5xx are errors to a client)."""
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_status(StatusCode.ERROR)


def carry_trace(headers: list[tuple[str, str]]) -> None:
    """The current trace context onto an outgoing request's headers (W3C ``traceparent``), as
    the global propagator writes it. With OpenTelemetry's default propagators (trace context and
    baggage) and no baggage, the trace context's two headers are written here, as its propagator
    writes them, without the propagators' dispatch."""
    context = otel_context.get_current()
    if _default_propagators(propagate.get_global_textmap()) and not baggage.get_all(context):
        span_context = trace.get_current_span(context).get_span_context()
        if span_context != trace.INVALID_SPAN_CONTEXT:
            flags = span_context.trace_flags
            headers.append(("traceparent", f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}"))
            if span_context.trace_state:
                headers.append(("tracestate", span_context.trace_state.to_header()))
        return
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context)
    headers.extend(carrier.items())


@functools.lru_cache(maxsize=4)
def _default_propagators(textmap: TextMapPropagator) -> bool:
    """Whether ``textmap`` is OpenTelemetry's default: trace context, then baggage."""
    parts = getattr(textmap, "_propagators", None) if type(textmap) is CompositePropagator else None
    return parts is not None and [type(part) for part in parts] == [TraceContextTextMapPropagator, W3CBaggagePropagator]


def current_trace_id() -> str | None:
    """The current trace's id as 32 hex digits (what logs carry as ``trace_id``), if there is one."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class TraceContextFilter(logging.Filter):
    """Adds the current trace and span ids to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
        record.span_id = format(context.span_id, "016x") if context.is_valid else None
        return True


class HandOff(logging.handlers.QueueHandler):
    """Puts a record on the queue as it is: formatting and writing happen on the listener's thread,
    never on the event loop. The record keeps its ``exc_info`` (the queue stays in this process) and
    takes the trace ids along, read here while the request's span is current."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg = record.getMessage()  # the arguments as they are now, not when written
        record.args = None
        return record


def hand_off(handler: logging.Handler) -> tuple[HandOff, logging.handlers.QueueListener]:
    """A handler for the loggers and the listener that gives its records to ``handler`` on a thread
    of its own (started by the caller)."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    front = HandOff(records)
    front.addFilter(TraceContextFilter())
    return front, logging.handlers.QueueListener(records, handler)


_logging_configured = False
_listener: logging.handlers.QueueListener | None = None


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    """JSON lines on stderr, each with ``trace_id``; configured once per process. Records are handed
    to a thread that formats and writes them (``HandOff``), so a request never waits for stderr."""
    global _logging_configured, _listener
    if _logging_configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        # For people at a terminal: which process said it (make run names each one), then the line.
        who = os.environ.get("IV_PROCESS_NAME")
        prefix = f"{who:<11} " if who else ""
        handler.setFormatter(logging.Formatter(prefix + "%(asctime)s %(levelname)-7s %(name)s %(message)s", "%H:%M:%S"))
    front, _listener = hand_off(handler)
    _listener.start()
    atexit.register(_listener.stop)  # writes what is still queued
    root = logging.getLogger()
    root.handlers[:] = [front]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log carries the trace id
    for chatty in ("httpx2", "httpcore2", "httpx", "httpcore"):
        # One line per outgoing request (feed polling every few seconds) drowns the access log;
        # the calls are in the traces.
        logging.getLogger(chatty).setLevel(logging.WARNING)
    _logging_configured = True


class Metrics:
    """Request metrics of one app, in a registry of its own."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled, by method, route template and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request to the last byte of the response.",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def add_figures(self, read: Callable[[], Iterable[Metric]]) -> None:
        """Figures read when the metrics are asked for (a pool's connections, a follower's lag)."""
        self.registry.register(_Figures(read))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # the label lookups once per method, route and status, not per request
            children = self._children[key] = (
                self.requests.labels(self.service, method, route, str(status)),
                self.latency.labels(self.service, method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _Figures:
    """A collector of figures read on each scrape."""

    def __init__(self, read: Callable[[], Iterable[Metric]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        return list(self.read())

    def describe(self) -> Iterable[Metric]:
        return []  # nothing to check at registration: read only when scraped


def route_template(scope: Scope) -> str:
    """The matched route's path template (the router records it in the scope), so that metrics
    do not explode by id."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


METRICS_ROLES = frozenset({"admin", "auditor"})
"""Who may read a process's metrics (they tell of load, failures and the upstreams' state)."""


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics``: for a token with a role in ``METRICS_ROLES`` (401 without a valid token, 403
    with another role): a scraper is given a token of its own, as any client."""
    from services.chassis.auth import principal_of  # the chassis's auth builds on its errors, which use this module
    from services.chassis.errors import Forbidden

    principal = await principal_of(request)
    if not principal.roles & METRICS_ROLES:
        raise Forbidden(f"the metrics are for the roles: {', '.join(sorted(METRICS_ROLES))}")
    metrics_: Metrics = request.app.state.metrics
    return metrics_.render()
