"""Spreading a service's requests over its instances, and leaving out the ones that fail.

``IV_<SERVICE>_URL`` may name several instances of a service (comma-separated). Each request goes
to the next instance in turn (round robin), skipping the ejected ones: passive outlier ejection,
driven by the answers real traffic gets, with no probing of its own. An instance that fails
``IV_OUTLIER_FAILURES`` requests in a row (no connection, a broken exchange, a timeout or a 5xx
answer) is ejected for ``IV_OUTLIER_EJECTION_SECONDS``; then it is tried again, and one more
failure ejects it for twice as long (up to ``IV_OUTLIER_MAX_EJECTION_SECONDS``), while a success
admits it fully. When every instance is ejected they are all tried in turn again, since refusing
outright would help nobody (the service's circuit breaker, gateway/resilience.py, is what fails
fast when the whole service is down). A service with a single instance is never ejected from.

Round robin rather than least-outstanding: the gateway's requests to one service are alike, the
instances are alike, and several gateway processes each counting only their own requests would
not see the load anyway. Picking is a counter and a look at one instance (more only while some
are ejected), and makes nothing: the proxy path stays lean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(eq=False)
class Instance:
    """One process (or one address) of a service, and what the gateway has seen of it lately."""

    url: str
    failures: int = 0
    """Requests failed in a row since its last success."""
    ejections: int = 0
    """Ejections in a row since its last success: how long the next one lasts."""
    ejected_until: float = 0.0
    """Clock time until which it gets no traffic (while another instance can take it)."""

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until


class Balancer:
    """Round robin over one service's instances with passive outlier ejection."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        failures: int,
        ejection_seconds: float,
        max_ejection_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_ejected: Callable[[Instance], None] | None = None,
    ) -> None:
        if not urls:
            raise ValueError("a service needs at least one instance")
        self.instances = tuple(Instance(url) for url in urls)
        self.failures = failures
        self.ejection_seconds = ejection_seconds
        self.max_ejection_seconds = max_ejection_seconds
        self.clock = clock
        self.on_ejected = on_ejected
        self._next = 0

    def pick(self, avoid: Instance | None = None) -> Instance:
        """The instance for the next request: the next in turn that is not ejected and not
        ``avoid`` (the one a retry comes from); if there is none, the next in turn but ``avoid``."""
        instances = self.instances
        count = len(instances)
        if count == 1:
            return instances[0]
        start = self._next
        now = self.clock()
        step = 0
        while step < count:
            instance = instances[(start + step) % count]
            if instance is not avoid and not instance.ejected(now):
                self._next = (start + step + 1) % count
                return instance
            step += 1
        self._next = (start + 1) % count
        instance = instances[start]
        return instances[(start + 1) % count] if instance is avoid else instance

    def succeeded(self, instance: Instance) -> None:
        instance.failures = 0
        instance.ejections = 0

    def failed(self, instance: Instance) -> None:
        """Count a failure; eject after ``failures`` in a row, or at once after an ejection ended
        (the instance was on trial). A failure while ejected (every instance was) changes nothing."""
        instance.failures += 1
        if len(self.instances) == 1:
            return  # nowhere else to send its requests: the breaker is what fails fast
        now = self.clock()
        if instance.ejected(now) or (instance.failures < self.failures and instance.ejections == 0):
            return
        seconds = min(self.max_ejection_seconds, self.ejection_seconds * 2 ** min(instance.ejections, 16))
        instance.ejections += 1
        instance.ejected_until = now + seconds
        if self.on_ejected is not None:
            self.on_ejected(instance)

    def state(self, instance: Instance) -> dict[str, object]:
        """What readiness reports of an instance: ejected (and for how long yet), failures in a row."""
        remaining = instance.ejected_until - self.clock()
        state: dict[str, object] = {"ejected": remaining > 0, "failures": instance.failures}
        if remaining > 0:
            state["ejected_for_seconds"] = round(remaining, 1)
        return state
