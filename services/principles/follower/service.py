"""Keeping assessments current: follow the portfolio and valuechains change feeds and re-evaluate
every subject that changed, within seconds, without anyone asking.

- One cursor per feed in this service's database (``feed_cursors``), moved in the same transaction
  that records the re-evaluations: after a crash the events are simply processed again.
- Safe with several instances: a lease on the cursor row is claimed with a compare-and-swap UPDATE
  (owner, expiry), and the cursor only moves with a compare-and-swap on (owner, old position). Two
  instances never both record the same events; if a lease expires, another instance takes over.
- The follower reads as ``service:principles``, with the service's own short-lived token renewed
  before it expires (``services.chassis.credentials``: client credentials in production);
  assessments it records carry that actor and the subject's classification, so people see
  them only as far as their own clearance allows.
- An upstream that is down is retried with exponential backoff; the cursor stays where it was.
- A subject is also re-evaluated when something it points at changes, if an active rule reads that
  reference beyond its href (``subject.value_chain.name``): the owner's ``/v1/references`` says who points.
- Every changed subject is read, whether a rule applies to its kind or not, and what this service
  holds about it (assessments, evaluations, explanations, reviews) is brought to its current
  classification and unit in the same transaction (see ``reclassification``): a subject classified
  higher takes its records along. One the service's own identity cannot read keeps its records.
- A resource that is no subject itself (an application) can still change what its owner derives for
  the resources it points at (a chain's open critical findings). So its events, archives included,
  count as changes of those resources: the ones it points at now, and the ones it pointed at before
  (a move changes both).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from services.chassis.auth import Principal
from services.chassis.changes import FEED_HEAD_HEADER
from services.chassis.credentials import ServiceCredentials
from services.chassis.db import Database, utcnow
from services.chassis.errors import Problem, ServiceUnavailable
from services.chassis.pagination import MAX_LIMIT
from services.chassis.references import Upstreams
from services.chassis.routing import parse_href
from services.chassis.settings import settings_as
from services.chassis.uow import RequestContext
from services.principles.evaluations.service import active_principles, judge, record_evaluation, split
from services.principles.explanations.service import record_activation
from services.principles.follower.models import FeedCursor
from services.principles.kinds import COLLECTION_OF_KIND, subject_kind
from services.principles.principles.models import Principle
from services.principles.reclassification import follow_subjects
from services.principles.settings import PrinciplesSettings
from services.principles.subjects import fetch, fields_to_expand

logger = logging.getLogger("iv.principles.follower")

ACTOR = "service:principles"
RE_EVALUATED_ACTIONS = ("created", "updated")
MILESTONES = ":milestones"
"""Suffix of the cursor with which each feed is scanned for subjects whose work started."""
WORK_STARTS = frozenset({"initiative", "programme"})
"""Kinds whose work starts when their status becomes ``active``."""


REFERENCES_BATCH = 50
"""Changed resources asked about in one ``/v1/references`` request: their hrefs keep its request
line near 4 KB, well inside what proxies and ingresses take (commonly 8 KB)."""


class LeaseLost(Exception):
    """Another instance took the feed over while this one worked: its work is rolled back."""


@dataclass
class FeedState:
    failures: int = 0
    retry_at: float = 0.0
    behind: int | None = None
    """Events of the feed not processed yet (its head minus our cursor) at the last poll; None while
    another instance follows it, or before the first poll."""


@dataclass(frozen=True)
class Plan:
    rules: dict[str, list[Principle]]
    manual: dict[str, list[Principle]]

    def expanded_fields(self, kind: str) -> set[str]:
        return fields_to_expand(p.rule for p in self.rules.get(kind, []))


class Follower:
    def __init__(self, app: FastAPI, *, owner: str | None = None, settings: PrinciplesSettings | None = None) -> None:
        self.app = app
        self.settings = settings or settings_as(app.state.settings, PrinciplesSettings)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.state: dict[str, FeedState] = {feed: FeedState() for feed in self.settings.follow_feeds}

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    @property
    def upstreams(self) -> Upstreams:
        upstreams: Upstreams = self.app.state.upstreams
        return upstreams

    async def principal(self) -> Principal:
        """The service's own identity, its token renewed before it expires (``credentials``)."""
        credentials: ServiceCredentials = self.app.state.credentials
        return await credentials.principal()

    async def run_once(self, *, respect_backoff: bool = True) -> dict[str, int]:
        """One polling pass over every feed; returns the events processed per feed."""
        processed: dict[str, int] = {}
        for feed in self.settings.follow_feeds:
            state = self.state.setdefault(feed, FeedState())
            if respect_backoff and time.monotonic() < state.retry_at:
                continue
            try:
                processed[feed] = await self.follow(feed)
                await self.scan_milestones(feed)
                state.failures, state.retry_at = 0, 0.0
            except (Problem, httpx2.HTTPError, LeaseLost) as exc:
                state.failures += 1
                delay = min(
                    self.settings.follow_max_backoff_seconds,
                    self.settings.follow_interval_seconds * 2**state.failures,
                )
                state.retry_at = time.monotonic() + delay
                logger.warning("following the %s feed failed (%s); retrying in %.1f s", feed, exc, delay)
        return processed

    async def follow(self, feed: str) -> int:
        """Process pages of one feed while this instance holds its lease."""
        total = 0
        state = self.state.setdefault(feed, FeedState())
        while True:
            cursor = await self.claim(feed)
            if cursor is None:
                state.behind = None
                return total  # another instance follows this feed now
            response = await self.upstreams.get_json(
                f"/{feed}/v1/changes",
                await self.principal(),
                [("after", str(cursor)), ("limit", str(self.settings.follow_page_size))],
            )
            if response.status_code != 200:
                raise ServiceUnavailable(f"the {feed} change feed answered {response.status_code}")
            events = [e for e in response.json().get("items", []) if isinstance(e, dict)]
            head = response.headers.get(FEED_HEAD_HEADER, "")
            if head.isdigit():
                state.behind = max(0, int(head) - (int(events[-1]["seq"]) if events else cursor))
            if not events:
                return total
            await self.process(feed, cursor, events)
            total += len(events)
            if len(events) < self.settings.follow_page_size:
                return total

    async def scan_milestones(self, feed: str) -> int:
        """Record when subjects first became active, from the whole feed (a cursor of its own, so a
        database that predates milestones catches up from the start). That moment decides once
        which explanations came late."""
        key = f"{feed}{MILESTONES}"
        total = 0
        while True:
            cursor = await self.claim(key)
            if cursor is None:
                return total
            response = await self.upstreams.get_json(
                f"/{feed}/v1/changes",
                await self.principal(),
                [("after", str(cursor)), ("limit", str(self.settings.follow_page_size))],
            )
            if response.status_code != 200:
                raise ServiceUnavailable(f"the {feed} change feed answered {response.status_code}")
            events = [e for e in response.json().get("items", []) if isinstance(e, dict)]
            if not events:
                return total
            async with self.db.session(write=True) as session:
                await self._advance(session, key, cursor, events)
                ctx = RequestContext(
                    principal=await self.principal(), session=session, settings=self.settings, upstreams=self.upstreams
                )
                for event in events:
                    started = _work_started(event)
                    if started is not None:
                        await record_activation(ctx, *started)
            total += len(events)
            if len(events) < self.settings.follow_page_size:
                return total

    async def _advance(self, session: Any, key: str, cursor: int, events: Sequence[dict[str, Any]]) -> None:
        """Move a cursor past ``events`` in the caller's transaction, only while this instance holds it."""
        now = utcnow()
        moved = await session.execute(
            update(FeedCursor)
            .where(FeedCursor.feed == key, FeedCursor.lease_owner == self.owner, FeedCursor.after_seq == cursor)
            .values(after_seq=int(events[-1]["seq"]), lease_until=now + self._lease(), updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise LeaseLost(f"{key} was taken over by another instance")

    async def claim(self, feed: str) -> int | None:
        """Take (or keep) the feed's lease; its cursor, or None when another instance holds it."""
        now = utcnow()
        try:
            async with self.db.session(write=True) as session:
                if await session.get(FeedCursor, feed) is None:
                    session.add(FeedCursor(feed=feed, after_seq=0, updated_at=now))
        except IntegrityError:
            pass  # another instance created it at the same moment
        async with self.db.session(write=True) as session:
            result = await session.execute(
                update(FeedCursor)
                .where(
                    FeedCursor.feed == feed,
                    or_(
                        FeedCursor.lease_owner == self.owner,
                        FeedCursor.lease_until.is_(None),
                        FeedCursor.lease_until < now,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=now + self._lease())
                .returning(FeedCursor.after_seq)
                .execution_options(synchronize_session=False)
            )
            row = result.first()
        return int(row[0]) if row is not None else None

    async def release(self) -> None:
        """Give up this instance's leases (on shutdown), so another can take over at once."""
        async with self.db.session(write=True) as session:
            await session.execute(
                update(FeedCursor)
                .where(FeedCursor.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.follow_lease_seconds)

    async def _plan(self) -> Plan:
        async with self.db.session(write=False) as session:
            active = await active_principles(session)
        rules: dict[str, list[Principle]] = {}
        manual: dict[str, list[Principle]] = {}
        for kind in COLLECTION_OF_KIND:
            rules[kind], manual[kind] = split(active, kind)
        return Plan(rules, manual)

    async def _referrers(self, changed: Sequence[str], plan: Plan, principal: Principal) -> list[str]:
        """Subjects whose active rules read one of the changed resources through a reference."""
        wanted = {kind: fields for kind in plan.rules if (fields := plan.expanded_fields(kind))}
        if not wanted:
            return []
        services = {COLLECTION_OF_KIND[kind].split("/")[1] for kind in wanted}
        found: list[str] = []
        # One question per service for up to REFERENCES_BATCH changed resources at once.
        batches = [changed[n : n + REFERENCES_BATCH] for n in range(0, len(changed), REFERENCES_BATCH)]
        for batch in batches:
            for service in sorted(services):
                response = await self.upstreams.get_json(
                    f"/{service}/v1/references", principal, [*(("target", h) for h in batch), ("limit", str(MAX_LIMIT))]
                )
                while response.status_code == 200:
                    page = response.json()
                    for item in page.get("items", []):
                        kind = subject_kind(str(item.get("href", "")))
                        if kind is not None and item.get("field") in wanted.get(kind, set()):
                            found.append(str(item["href"]))
                    if not page.get("next"):
                        break
                    response = await self.upstreams.get_json(str(page["next"]), principal)
        return found

    async def _derived_changes(self, events: Sequence[dict[str, Any]], principal: Principal) -> list[str]:
        """What the events about non-subjects point at: their owners derive figures from them."""
        others = [e for e in events if _is_other_resource(e)]
        if not others:
            return []
        targets: list[str] = []
        for event in others:
            for old_new in (event.get("changes") or {}).values():
                if isinstance(old_new, list):
                    targets += [v["href"] for v in old_new if _is_reference(v)]
        current = await fetch(self.upstreams, [str(e["subject"]) for e in others], principal)
        for representation in current.values():
            if representation is not None:
                targets += [v["href"] for v in representation.values() if _is_reference(v)]
        return list(dict.fromkeys(t for t in targets if parse_href(t) is not None))

    async def process(self, feed: str, cursor: int, events: Sequence[dict[str, Any]]) -> None:
        """Re-evaluate what these events changed, and move the cursor past them, in one transaction."""
        principal = await self.principal()
        changed = list(dict.fromkeys(h for e in events if (h := _changed_subject(e)) is not None))
        changed += [h for h in await self._derived_changes(events, principal) if h not in changed]
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        plan = await self._plan() if changed else Plan({}, {})
        # Every changed subject is read, judged or not: what is recorded about it follows its classification.
        hrefs = [h for h in changed if subject_kind(h) is not None]
        if changed:
            hrefs += [h for h in await self._referrers(changed, plan, principal) if h not in hrefs]
        subjects = await fetch(self.upstreams, hrefs, principal) if hrefs else {}
        for href in hrefs:
            subject = subjects.get(href)
            kind = subject_kind(href)
            if (
                subject is not None
                and kind is not None
                and plan.rules.get(kind)
                and subject.get("status") != "archived"
            ):
                by_kind[kind].append(subject)
        judged = {
            kind: await judge(self.upstreams, principal, self.settings, kind, items, plan.rules[kind])
            for kind, items in by_kind.items()
        }

        async with self.db.session(write=True) as session:
            await self._advance(session, feed, cursor, events)
            ctx = RequestContext(principal=principal, session=session, settings=self.settings, upstreams=self.upstreams)
            await follow_subjects(ctx, subjects)  # a subject the service cannot read (None) keeps its records
            for kind, items in by_kind.items():
                for subject in items:
                    href = str(subject["href"])
                    await record_evaluation(
                        ctx,
                        target=href,
                        scope="resource",
                        kind=kind,
                        trigger="change",
                        subjects=[subject],
                        judgements=[j for j in judged[kind] if j.subject == href],
                        manual=plan.manual.get(kind, []),
                    )


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("href"), str)


def _is_other_resource(event: dict[str, Any]) -> bool:
    """An event about a resource of the platform that principles do not judge (an application)."""
    subject = event.get("subject")
    if not isinstance(subject, str):
        return False
    parsed = parse_href(subject)
    return parsed is not None and parsed.id is not None and subject_kind(subject) is None


def _changed_subject(event: dict[str, Any]) -> str | None:
    """The href an event changed, when it is a subject principles judge and the change is not an archive."""
    subject, kind = event.get("subject"), str(event.get("type", ""))
    if not isinstance(subject, str) or kind.rpartition(".")[2] not in RE_EVALUATED_ACTIONS:
        return None
    parsed = parse_href(subject)
    return subject if parsed is not None and parsed.id is not None and subject_kind(subject) else None


def _work_started(event: dict[str, Any]) -> tuple[str, dt.datetime] | None:
    """(subject, when) for an event in which a subject's work started: its status became active."""
    subject = event.get("subject")
    if not isinstance(subject, str) or subject_kind(subject) not in WORK_STARTS:
        return None
    status = (event.get("changes") or {}).get("status")
    if not isinstance(status, list) or len(status) != 2 or status[1] != "active" or status[0] == "active":
        return None
    try:
        return subject, dt.datetime.fromisoformat(str(event.get("at")).replace("Z", "+00:00"))
    except ValueError:
        return None


def follower_figures(app: FastAPI) -> Iterable[Metric]:
    """How far behind each followed feed this instance is, and how many polls of it failed in a row."""
    behind = GaugeMetricFamily(
        "principles_feed_events_behind",
        "Events of each followed feed not processed yet (the feed's head minus the cursor), at the last poll.",
        labels=["feed"],
    )
    failures = GaugeMetricFamily(
        "principles_feed_failures", "Polls of each followed feed that failed in a row.", labels=["feed"]
    )
    follower: Follower | None = getattr(app.state, "follower", None)
    for feed, state in (follower.state if follower is not None else {}).items():
        if state.behind is not None:
            behind.add_metric([feed], state.behind)
        failures.add_metric([feed], state.failures)
    return [behind, failures]


async def follow_changes(app: FastAPI) -> None:
    """The background task: one pass every ``IV_PRINCIPLES_FOLLOW_INTERVAL_SECONDS`` (default 2 s)."""
    settings = settings_as(app.state.settings, PrinciplesSettings)
    if not settings.follow_enabled:
        return
    follower = Follower(app, settings=settings)
    app.state.follower = follower
    try:
        while True:
            await asyncio.sleep(settings.follow_interval_seconds)
            try:
                await follower.run_once()
            except Exception:
                logger.exception("a pass over the change feeds failed")
    finally:
        try:
            await follower.release()
        except Exception:
            logger.exception("releasing the change-feed leases failed")
