"""One trace per request: the gateway's span is the parent of every service span it causes."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.gateway.conftest import Rig, World
from tests.support import Tokens


async def test_expansion_is_one_trace_under_the_gateway_span(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    exporters: dict[str, InMemorySpanExporter] = {}
    for name, app in widget_rig.suite.apps.items():
        exporter = InMemorySpanExporter()
        app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        exporters[name] = exporter

    async with widget_rig.client(tokens("reader", clearance="secret")) as client:
        mark = widget_rig.mark()
        answer = await client.get("/portfolio/v1/widgets", params={"expand": "chain,gadget.chain"})
    assert answer.status_code == 200

    owner: dict[int, str] = {}
    spans: dict[int, ReadableSpan] = {}
    for name, exporter in exporters.items():
        for span in exporter.get_finished_spans():
            assert span.context is not None
            spans[span.context.span_id] = span
            owner[span.context.span_id] = name

    [root] = [s for s in spans.values() if owner[s.context.span_id] == "gateway" and s.kind == SpanKind.SERVER]
    assert root.parent is None
    assert {s.context.trace_id for s in spans.values()} == {root.context.trace_id}

    def is_entry(span: ReadableSpan) -> bool:
        """A service's span for an incoming request: its parent is a client span (the caller's: each
        app's client reaches the others through a transport hop of its own). In a real
        process it is a SERVER span; in-process the ASGI instrumentation sees the caller's span
        as current and makes it INTERNAL, so the kind is not what tells them apart here."""
        if owner[span.context.span_id] == "gateway" or span.kind == SpanKind.CLIENT or span.parent is None:
            return False
        parent = spans.get(span.parent.span_id)
        return parent is not None and parent.kind == SpanKind.CLIENT

    def caused_by(span: ReadableSpan) -> tuple[ReadableSpan | None, list[str]]:
        """The nearest request span above ``span`` (the gateway's, or a service's entry span),
        and the apps of the client spans passed on the way."""
        passed: list[str] = []
        parent = span.parent
        while parent is not None:
            above = spans[parent.span_id]
            if above is root or is_entry(above):
                return above, passed
            passed.append(owner[parent.span_id])
            parent = above.parent
        return None, passed

    entries = [s for s in spans.values() if is_entry(s)]
    by_app: dict[str, list[str]] = {}
    for span in entries:
        by_app.setdefault(owner[span.context.span_id], []).append(span.name)
        ancestor, passed = caused_by(span)
        assert ancestor is root, span.name
        assert "gateway" in passed  # through one of the gateway's client spans
    # The page and the gadgets batch at portfolio, the chain batches of both levels at valuechains.
    assert sorted(by_app["widgets"]) == ["GET /v1/gadgets", "GET /v1/widgets"]
    assert by_app["valuechains"] == ["GET /v1/chains", "GET /v1/chains"]
    assert set(by_app) == {"widgets", "valuechains"}
    # Across a process boundary the context travels in the W3C traceparent header of each request.
    for request in widget_rig.transport.requests[mark:]:
        version, trace_id, _span_id, _flags = request.headers["traceparent"].split("-")
        assert (version, int(trace_id, 16)) == ("00", root.context.trace_id)
