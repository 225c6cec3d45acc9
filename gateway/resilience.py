"""Reaching the services without hanging: deadlines, bounded retries and a circuit breaker each,
spread over each service's instances (gateway/balancer.py).

Why our own breaker rather than the ``circuitbreaker`` package: its half-open state lets every
concurrent request through as a probe (so while a hung upstream recovers, all of them wait out
the timeout instead of failing fast), it reads ``time.monotonic`` directly (recovery cannot be
tested without sleeping), and it registers breakers by name in a process-wide monitor, which
couples the several gateway apps a test process builds. The state machine below is small.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

import httpx2
from opentelemetry import trace
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.answers import UpstreamAnswer
from gateway.balancer import Balancer, Instance
from gateway.settings import GatewaySettings
from gateway.streams import is_event_stream
from services.chassis.errors import BadGateway, GatewayTimeout, ServiceUnavailable
from services.chassis.http_transport import Limits, PooledTransport, limits_of
from services.chassis.telemetry import answered, carry_trace, outgoing_span

BreakerState = Literal["closed", "open", "half_open"]

# Safe methods are retried. PUT and DELETE are idempotent in HTTP terms, but here a PUT carries
# If-Match: a retry after a lost response would answer 412 for a change that did succeed.
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Failures where repeating a safe request can help: the connection was refused or dropped. A
# timeout is not retried: the upstream is slow, and asking again only adds to its load.
RETRIED_ERRORS: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)

# No connection was made, so nothing of the request was sent: any method may be tried again (on
# another instance when there is one) without the risk of doing it twice.
NOTHING_SENT: tuple[type[Exception], ...] = (httpx2.ConnectError,)

logger = logging.getLogger("iv.gateway.upstreams")

RETRY_WAIT_FIRST = 0.05
RETRY_WAIT_MAX = 0.4


class HasStatus(Protocol):
    @property
    def status_code(self) -> int: ...


Answered = TypeVar("Answered", bound=HasStatus)


class CircuitOpen(Exception):
    """The breaker refuses the call: the upstream failed recently."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open for {retry_after:.1f}s more")
        self.retry_after = retry_after


class CircuitBreaker:
    """closed -> (``failure_threshold`` failures in a row) -> open -> (after ``recovery_seconds``)
    half-open: exactly one probe goes through; its success closes, its failure reopens."""

    def __init__(
        self, failure_threshold: int, recovery_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.recovery_seconds = recovery_seconds
        self.clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.recovery_seconds:
            return "half_open"
        return "open"

    def acquire(self) -> None:
        """Raise CircuitOpen unless a call may go ahead now (the caller must then report back)."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._probing:
            self._probing = True
            return
        remaining = self.recovery_seconds if self._opened_at is None else self._remaining()
        raise CircuitOpen(max(remaining, 0.0))

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.recovery_seconds - self.clock()

    def succeeded(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._probing = False

    def failed(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self._opened_at = self.clock()
        self._probing = False

    def abandoned(self) -> None:
        """The call ended without a verdict (the client went away): let another probe try."""
        self._probing = False


@dataclass
class Upstream:
    """One service behind the gateway: its instances, deadline and breaker."""

    name: str
    prefix: str
    balancer: Balancer
    timeout: float
    breaker: CircuitBreaker
    connect_timeout: float
    client_timeout: httpx2.Timeout = field(init=False)
    """httpx's per-phase limits, made once for every request (the whole exchange's is ``timeout``)."""
    stream_timeout: httpx2.Timeout = field(init=False)
    """The same for a request whose answer may be an event stream: no per-read limit, which would
    cut a live stream between heartbeats (the deadline still covers any other answer in full)."""

    exchange_timeout: Limits = field(init=False)
    """The same two for ``PooledTransport.exchange``."""
    exchange_stream_timeout: Limits = field(init=False)

    def __post_init__(self) -> None:
        self.client_timeout = httpx2.Timeout(self.timeout, connect=self.connect_timeout)
        self.stream_timeout = httpx2.Timeout(self.timeout, connect=self.connect_timeout, read=None)
        self.exchange_timeout = limits_of(self.connect_timeout, self.timeout, self.timeout)
        self.exchange_stream_timeout = limits_of(self.connect_timeout, self.timeout, None)


@dataclass
class UpstreamMetrics:
    """Requests the gateway sends upstream, by outcome; the benchmark counts expansion fetches here."""

    registry: CollectorRegistry
    requests: Counter = field(init=False)

    _counted: dict[tuple[str, str, str], Counter] = field(init=False, default_factory=dict)

    def count(self, upstream: str, method: str, outcome: str) -> None:
        """One more request to ``upstream`` (its label child looked up once per kind, not per request)."""
        key = (upstream, method, outcome)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = self.requests.labels(upstream, method, outcome)
        child.inc()

    def __post_init__(self) -> None:
        self.requests = Counter(
            "gateway_upstream_requests_total",
            "Requests sent to the services (each retry counts), by upstream, method and outcome.",
            ["upstream", "method", "outcome"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "gateway_upstream_ready",
            "1 when the service answered its last readiness probe ready, else 0.",
            ["upstream"],
            registry=self.registry,
        )
        self.breaker = Gauge(
            "gateway_upstream_breaker_open",
            "1 while the gateway's circuit breaker for the service is open or probing, else 0.",
            ["upstream"],
            registry=self.registry,
        )
        self.instance_ready = Gauge(
            "gateway_upstream_instance_ready",
            "1 when the instance answered its last readiness probe ready, else 0.",
            ["upstream", "instance"],
            registry=self.registry,
        )
        self.instance_ejected = Gauge(
            "gateway_upstream_instance_ejected",
            "1 while the instance is ejected (gets no traffic) after failing, else 0; as of the last probe.",
            ["upstream", "instance"],
            registry=self.registry,
        )
        self.ejections = Counter(
            "gateway_upstream_ejections",
            "Times an instance was ejected after failing requests in a row.",
            ["upstream", "instance"],
            registry=self.registry,
        )


class UpstreamClient:
    """The pooled client with a deadline per upstream, retries for safe methods and breakers."""

    def __init__(
        self,
        settings: GatewaySettings,
        client: httpx2.AsyncClient,
        transport: httpx2.AsyncBaseTransport,
        metrics: UpstreamMetrics | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.transport = transport
        """The transport ``client`` sends through (the same object: the client's instrumentation,
        once something exports, wraps it). Each attempt is handed to it directly (``_attempt``)."""
        self.exchanging = transport if isinstance(transport, PooledTransport) else None
        """The same transport when requests passed on can skip httpx2's objects (``forward``)."""
        self.metrics = metrics
        self.tracer_provider = tracer_provider or trace.get_tracer_provider()
        self.upstreams: dict[str, Upstream] = {
            prefix: Upstream(
                name=prefix.lstrip("/"),
                prefix=prefix,
                balancer=Balancer(
                    urls,
                    failures=settings.outlier_failures,
                    ejection_seconds=settings.outlier_ejection_seconds,
                    max_ejection_seconds=settings.outlier_max_ejection_seconds,
                    on_ejected=self._ejected_from(prefix.lstrip("/")),
                ),
                timeout=settings.timeout_for(prefix.lstrip("/")),
                breaker=CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_recovery_seconds),
                connect_timeout=settings.upstream_connect_timeout,
            )
            for prefix, urls in settings.instances().items()
        }

    def _ejected_from(self, name: str) -> Callable[[Instance], None]:
        def count(instance: Instance) -> None:
            logger.warning("%s instance %s ejected after %d failures", name, instance.url, instance.failures)
            if self.metrics is not None:
                self.metrics.ejections.labels(name, instance.url).inc()

        return count

    def by_name(self, name: str) -> Upstream | None:
        return self.upstreams.get(f"/{name}")

    async def send(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        *,
        headers: Sequence[tuple[bytes, bytes]] | Sequence[tuple[str, str]] | Mapping[str, str] = (),
        content: bytes | None = None,
        stream: bool = False,
    ) -> httpx2.Response:
        """One logical request (``target`` = path and query at the upstream), read in full; with
        ``stream``, an event stream (``text/event-stream``) is returned open once its headers are
        in, for the caller to pass on and close (gateway/streams.py)."""
        return await self._call(
            upstream,
            method,
            lambda instance: self._attempt(upstream, instance, method, target, headers, content, stream),
        )

    async def forward(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        *,
        stream: bool = False,
    ) -> UpstreamAnswer:
        """A request passed on, as ``send`` sends it, its answer as plain bytes: through
        ``PooledTransport.exchange`` when that is the transport (no httpx2 request or response is
        made), else through ``send``. ``headers`` are the ones to pass on, without framing."""
        if self.exchanging is None:
            return UpstreamAnswer.from_httpx(
                await self.send(upstream, method, target, headers=headers, content=content, stream=stream)
            )
        return await self._call(
            upstream,
            method,
            lambda instance: self._exchange(upstream, instance, method, target, headers, content, stream),
            keeps_deadline=True,
        )

    async def _call(
        self,
        upstream: Upstream,
        method: str,
        attempt: Callable[[Instance], Awaitable[Answered]],
        *,
        keeps_deadline: bool = False,
    ) -> Answered:
        """``attempt`` on an instance the balancer picks, a retry at once on another one where
        there is another (after a jittered wait on the same one where not), behind the breaker.
        Transport failures become problems: refused or breaker open 503, too slow 504, dropped 502.
        """
        try:
            upstream.breaker.acquire()
        except CircuitOpen as exc:
            raise ServiceUnavailable(
                f"the {upstream.name} service is unavailable (it failed recently; retrying in {exc.retry_after:.0f}s)",
                headers={"Retry-After": str(max(1, round(exc.retry_after)))},
            ) from exc
        balancer = upstream.balancer
        instance = balancer.pick()
        started = time.monotonic()
        try:
            for number in itertools.count(1):
                try:
                    response = await self._deadline_and_count(upstream, method, attempt(instance), keeps_deadline)
                except (httpx2.RequestError, TimeoutError) as exc:
                    if not isinstance(exc, httpx2.PoolTimeout):  # the gateway's own pool, not the instance
                        balancer.failed(instance)
                    wait = self._retry_wait(method, exc, number, started)
                    if wait is None:
                        raise
                    retry = balancer.pick(avoid=instance)
                    if retry is instance:  # no other instance: give this one a moment
                        await asyncio.sleep(wait)
                    instance = retry
                    continue
                if response.status_code >= 500:
                    balancer.failed(instance)
                else:
                    balancer.succeeded(instance)
                break
        except (httpx2.RequestError, TimeoutError) as exc:
            upstream.breaker.failed()
            raise _problem_for(upstream, method, exc) from exc
        except BaseException:
            # Cancelled (the client went away) or a bug: no verdict on the upstream.
            upstream.breaker.abandoned()
            raise
        upstream.breaker.succeeded()
        return response

    def _retry_wait(self, method: str, error: Exception, attempt: int, started: float) -> float | None:
        """How long to wait before trying again after ``attempt`` failed with ``error``; None: give
        up. Only what is safe to repeat: a safe method whose connection was refused or dropped, or
        any method whose connection was refused (nothing was sent); ``retry_attempts`` tries in
        all, and only while the wait ends within ``retry_budget_seconds`` of the first try. Each
        wait is random (full jitter) up to 50 ms, 100 ms, 200 ms, ... (at most 400 ms). A plain
        loop in ``_call``: nothing is built per request for the common first-try success."""
        if attempt >= self.settings.retry_attempts:
            return None
        if not isinstance(error, NOTHING_SENT) and not (
            method in RETRIED_METHODS and isinstance(error, RETRIED_ERRORS)
        ):
            return None
        wait = random.uniform(0, min(RETRY_WAIT_MAX, RETRY_WAIT_FIRST * 2 ** (attempt - 1)))
        return None if time.monotonic() - started + wait >= self.settings.retry_budget_seconds else wait

    async def _deadline_and_count(
        self, upstream: Upstream, method: str, attempt: Awaitable[Answered], keeps_deadline: bool
    ) -> Answered:
        """One attempt within the upstream's deadline, counted by outcome. The deadline covers the
        whole exchange (a per-read timeout alone would let a trickling answer take far longer); of
        an event stream, the exchange up to its headers. An exchange keeps it itself
        (``keeps_deadline``: ``PooledTransport.exchange(deadline=...)``, one timer per wait);
        anything else runs within a timeout around it."""
        outcome = "error"
        try:
            if keeps_deadline:
                response = await attempt
            else:
                async with asyncio.timeout(upstream.timeout):
                    response = await attempt
            outcome = str(response.status_code)
            return response
        finally:
            if self.metrics is not None:
                self.metrics.count(upstream.name, method, outcome)

    async def _attempt(
        self,
        upstream: Upstream,
        instance: Instance,
        method: str,
        target: str,
        headers: Sequence[tuple[bytes, bytes]] | Sequence[tuple[str, str]] | Mapping[str, str],
        content: bytes | None,
        stream: bool = False,
    ) -> httpx2.Response:
        # Straight to the transport, with the client's request hooks (the trace context): none of
        # the client's machinery (its default headers, auth and redirect flows, cookie jar, the
        # stream's wrapper) has anything to do for a request passed on, and it was about a tenth of
        # the gateway's work per request (243 of 2,995 calls).
        timeout = upstream.stream_timeout if stream else upstream.client_timeout
        request = httpx2.Request(
            method, instance.url + target, headers=headers, content=content, extensions={"timeout": timeout.as_dict()}
        )
        for hook in self.client.event_hooks["request"]:
            await hook(request)
        response = await self.transport.handle_async_request(request)
        response.request = request
        if not (stream and is_event_stream(response)):
            try:
                await response.aread()  # anything but an event stream is read in full
            finally:
                await response.aclose()
        return response

    async def _exchange(
        self,
        upstream: Upstream,
        instance: Instance,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        stream: bool,
    ) -> UpstreamAnswer:
        """``_attempt`` through ``PooledTransport.exchange``: the same timeouts, the upstream's
        deadline kept by the transport, and the trace context (a client span of its own once
        something exports)."""
        assert self.exchanging is not None
        url = instance.url + target
        deadline = asyncio.get_running_loop().time() + upstream.timeout
        with outgoing_span(self.tracer_provider, method, url) as span:
            sent = headers.copy()  # each attempt carries its own span's context
            carry_trace(sent)
            timeout = upstream.exchange_stream_timeout if stream else upstream.exchange_timeout
            response = await self.exchanging.exchange(method, url, sent, content, timeout, deadline=deadline)
            answer = UpstreamAnswer.from_answer(response)
            answered(span, answer.status_code)
        if stream and answer.is_event_stream:
            response.deadline = None  # an event stream runs on past its head (gateway/streams.py)
        else:
            answer.content = await response.read()  # anything else is read in full, by the deadline
        return answer


def _problem_for(upstream: Upstream, method: str, exc: BaseException) -> Exception:
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
        return ServiceUnavailable(f"the {upstream.name} service is unreachable")
    if isinstance(exc, httpx2.PoolTimeout):
        return ServiceUnavailable(f"the gateway has no free connection to the {upstream.name} service; try again")
    # The request may have reached the service: a change may or may not have been made.
    unsure = "" if method in RETRIED_METHODS else "; the change may or may not have been made, so read before retrying"
    if isinstance(exc, TimeoutError | httpx2.TimeoutException):
        return GatewayTimeout(f"the {upstream.name} service did not answer within {upstream.timeout:g}s{unsure}")
    return BadGateway(f"the connection to the {upstream.name} service broke off before a complete answer{unsure}")
