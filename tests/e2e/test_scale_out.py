"""Scale-out on one machine: two instances of every service, real processes sharing one PostgreSQL
database per service, behind one gateway that has both URLs of each and spreads the writes over
them. What one instance guarantees must hold across two: one winner of an ETag race, one resource
per Idempotency-Key, one gapless feed, each change evaluated once by the followers of both
principles instances, and nothing lost or doubled when an instance is killed.

PostgreSQL only (``IV_TEST_POSTGRES_URL``): SQLite is one file for one machine's processes, not
what several instances of a service share. Tests run in order; each SIGKILL leaves a service with
one instance for the tests after it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import text

from bench.processes import SERVICES, Platform
from services.chassis.signing_keys import ensure_dev_key
from tests.conftest import ServiceDatabase, migrated_databases
from tests.support import Tokens, database_base_url, settings_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(database_base_url() is None, reason="several instances share a PostgreSQL database"),
]

HANG = 30.0  # a guard against hanging, not a measurement
RACERS = 20
WRITERS = 8
RETRIED = (409, 502, 503, 504)  # in flight elsewhere, or the instance went away: ask again, same key
RULE = "subject.status != 'completed'"


class Scaled:
    """The running platform, its databases and a client through its gateway."""

    def __init__(self, platform: Platform, databases: dict[str, ServiceDatabase]) -> None:
        self.platform = platform
        self.databases = databases
        self.tokens = Tokens(settings_for(platform.var_dir))

    def client(self, *roles: str, sub: str | None = None) -> httpx2.AsyncClient:
        headers = self.tokens(*roles, sub=sub, clearance="secret")
        return httpx2.AsyncClient(base_url=self.platform.url("gateway"), headers=headers, timeout=HANG)

    async def handled(self, instance: str, method: str) -> int:
        """Requests with ``method`` that instance answered, from its own metrics."""
        async with httpx2.AsyncClient(headers=self.tokens("admin"), timeout=HANG) as client:
            metrics = (await client.get(self.platform.url(instance) + "/metrics")).text
        lines = re.findall(r"^http_requests_total\{(.*)\} (\S+)$", metrics, re.MULTILINE)
        return int(sum(float(value) for labels, value in lines if f'method="{method}"' in labels))

    async def scalar(self, service: str, sql: str) -> Any:
        async with self.databases[service].engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()


@pytest.fixture(scope="module")
async def scaled(tmp_path_factory: pytest.TempPathFactory, var_dir: Path) -> AsyncIterator[Scaled]:
    workdir = tmp_path_factory.mktemp("scaled")
    async with migrated_databases(workdir, "scale", var_dir=var_dir) as databases:
        env = {
            **{f"IV_{s.upper()}_DATABASE_URL": db.url for s, db in databases.items()},
            # A killed instance's keys in flight are free within a second and a half, and a killed
            # follower's lease within two.
            "IV_INSTANCE_HEARTBEAT_SECONDS": "0.5",
            "IV_INSTANCE_LOST_SECONDS": "1.5",
            "IV_PRINCIPLES_FOLLOW_INTERVAL_SECONDS": "0.2",
            "IV_PRINCIPLES_FOLLOW_LEASE_SECONDS": "2",
            "IV_AUDIT_VERIFY_REUSE_SECONDS": "0",
        }
        platform = Platform(workdir / "platform", extra_env=env, replicas=2)
        ensure_dev_key(platform.var_dir / "dev-signing-key.pem")
        try:
            platform.start(prestart=False)  # migrated, and empty: what the tests write is all there is
            yield Scaled(platform, databases)
        finally:
            platform.stop_all()


def chain_body(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Scaled",
        "domain": "Testing",
        "mission": "Be written by two instances at once.",
        "owner": {"subject": "u-scale", "name": "S. Cale", "unit": "Dienst IV"},
    }


def code(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


async def until_answered(
    send: Callable[[], Awaitable[httpx2.Response]], seen: Counter[int] | None = None
) -> httpx2.Response:
    """One request, asked again with the same Idempotency-Key through whatever happens, until a
    definite answer (what a careful client does); ``seen`` counts the answers on the way."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        try:
            answer = await send()
        except httpx2.TransportError:
            await asyncio.sleep(0.1)
            continue
        if seen is not None:
            seen[answer.status_code] += 1
        if answer.status_code not in RETRIED:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError("never answered")


async def feed_after(client: httpx2.AsyncClient, service: str, after: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = (await client.get(f"/{service}/v1/changes", params={"after": after, "limit": 100})).json()["items"]
        if not page:
            return events
        events += page
        after = page[-1]["seq"]


async def head_of(client: httpx2.AsyncClient, service: str) -> int:
    answer = await client.get(f"/{service}/v1/changes", params={"limit": 1})
    assert answer.status_code == 200, answer.text
    return int(answer.headers["x-feed-head"])


async def test_the_gateway_knows_both_instances_of_every_service(scaled: Scaled) -> None:
    async with scaled.client("auditor") as client:
        ready = (await client.get("/readyz")).json()
        metrics = (await client.get("/metrics")).text
    assert ready["status"] == "ready"
    for service in SERVICES:
        assert [i["instance"] for i in ready["upstreams"][service]["instances"]] == [1, 2]
        for name in scaled.platform.instances(service):
            url = scaled.platform.url(name)
            assert f'gateway_upstream_instance_ready{{instance="{url}",upstream="{service}"}} 1.0' in metrics


async def test_an_etag_race_over_two_instances_has_one_winner(scaled: Scaled) -> None:
    async with scaled.client("admin") as client:
        created = await client.post("/valuechains/v1/chains", json=chain_body(code("ETAG")))
        assert created.status_code == 201, created.text
        path = created.json()["href"]
        before = {i: await scaled.handled(i, "PATCH") for i in scaled.platform.instances("valuechains")}
        answers = await asyncio.gather(
            *(client.patch(path, json={"name": f"Racer {n}"}, headers={"If-Match": '"1"'}) for n in range(RACERS))
        )
        assert sorted(a.status_code for a in answers) == [200] + [412] * (RACERS - 1)
        [winner] = [a.json() for a in answers if a.status_code == 200]
        stored = (await client.get(path)).json()
        assert (stored["name"], stored["version"]) == (winner["name"], 2)
        events = (await client.get("/valuechains/v1/changes", params={"subject": path, "limit": 100})).json()
        assert [e["type"] for e in events["items"]] == ["chains.created", "chains.updated"]
    for instance, count in before.items():  # both instances took part in the race
        assert await scaled.handled(instance, "PATCH") - count >= RACERS // 4, instance


async def test_an_idempotency_key_race_over_two_instances_makes_one_resource(scaled: Scaled) -> None:
    body = chain_body(code("IDEM"))
    async with scaled.client("admin", sub=f"idem-{uuid.uuid4().hex[:6]}") as client:
        key = {"Idempotency-Key": f"race-{body['code']}"}
        answers = await asyncio.gather(
            *(
                until_answered(lambda: client.post("/valuechains/v1/chains", json=body, headers=key))
                for _ in range(RACERS)
            )
        )
        assert [a.status_code for a in answers] == [201] * RACERS
        assert len({a.content for a in answers}) == 1  # every answer is the first one's
        assert len({a.headers["location"] for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") != "true" for a in answers) == 1
        listed = (await client.get("/valuechains/v1/chains", params={"code": body["code"]})).json()["items"]
        assert len(listed) == 1
        events = (await client.get("/valuechains/v1/changes", params={"subject": listed[0]["href"]})).json()
        assert [e["type"] for e in events["items"]] == ["chains.created"]


async def test_eight_writers_over_two_instances_keep_one_gapless_feed(scaled: Scaled) -> None:
    run = code("FEED")
    async with scaled.client("admin") as client:
        head = await head_of(client, "valuechains")
        before = {i: await scaled.handled(i, "POST") for i in scaled.platform.instances("valuechains")}

        async def writer(w: int) -> list[str]:
            made = []
            for n in range(5):
                answer = await client.post("/valuechains/v1/chains", json=chain_body(f"{run}{w}X{n}"))
                assert answer.status_code == 201, answer.text
                made.append(answer.json()["href"])
            return made

        written = [href for hrefs in await asyncio.gather(*(writer(w) for w in range(WRITERS))) for href in hrefs]
        events = await feed_after(client, "valuechains", head)
        verified = (await client.get("/valuechains/v1/changes/verify")).json()
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(head + 1, head + 1 + len(written)))  # no gap, none twice
    assert Counter(e["subject"] for e in events) == Counter(written)
    assert verified["ok"] is True, verified
    for instance, count in before.items():
        assert await scaled.handled(instance, "POST") - count >= len(written) // 4, instance


async def every(client: httpx2.AsyncClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a list through the gateway, page after page."""
    items: list[dict[str, Any]] = []
    next_path: str | None = path
    query: dict[str, Any] | None = {**params, "limit": 100}
    while next_path:
        page = (await client.get(next_path, params=query)).json()
        items += page["items"]
        next_path, query = page["next"], None
    return items


async def assessed(client: httpx2.AsyncClient, principle: dict[str, Any]) -> Counter[str]:
    """How many assessments under the principle each subject has."""
    assessments = await every(client, "/principles/v1/assessments", {"principle": principle["href"]})
    return Counter(a["subject"]["href"] for a in assessments)


async def test_the_followers_of_both_instances_evaluate_each_change_once(scaled: Scaled) -> None:
    """Both principles instances follow the portfolio feed; the one holding its lease is killed
    halfway, the other takes over, and every programme is still assessed exactly once."""
    async with scaled.client("architect") as architect, scaled.client("admin") as admin:
        rule = {
            "code": code("P"),
            "category": "renewal_innovation",
            "title": "Programmes are not left completed",
            "statement": "Scale-out test principle.",
            "rationale": "Each change is judged once.",
            "implications": "None.",
            "applies_to": ["programme"],
            "status": "active",
            "rule": RULE,
        }
        made = await architect.post("/principles/v1/principles", json=rule)
        assert made.status_code == 201, made.text
        principle = made.json()

        async def programmes(count: int) -> list[str]:
            made = []
            for _ in range(count):
                body = {
                    "code": code("G"),
                    "name": "Programma",
                    "ambition": "Judged once.",
                    "owner": {"subject": "u-g", "name": "G. Programme", "unit": "Dienst IV"},
                }
                answer = await admin.post("/portfolio/v1/programmes", json=body)
                assert answer.status_code == 201, answer.text
                made.append(answer.json()["href"])
            return made

        async def until_assessed(hrefs: list[str]) -> None:
            deadline = time.monotonic() + HANG
            while not set(hrefs) <= set(await assessed(architect, principle)):
                assert time.monotonic() < deadline, "the followers did not assess every programme"
                await asyncio.sleep(0.2)

        first = await programmes(4)
        await until_assessed(first)
        owner = await scaled.scalar("principles", "SELECT lease_owner FROM feed_cursors WHERE feed = 'portfolio'")
        pid = int(str(owner).split(":")[1])
        [holder] = [n for n in scaled.platform.instances("principles") if scaled.platform.processes[n].pid == pid]
        scaled.platform.send(holder, signal.SIGKILL)
        scaled.platform.processes[holder].wait()

        second = await programmes(4)
        await until_assessed(second)
        head = await head_of(admin, "portfolio")
        deadline = time.monotonic() + HANG
        while await scaled.scalar("principles", "SELECT after_seq FROM feed_cursors WHERE feed = 'portfolio'") < head:
            assert time.monotonic() < deadline, "the surviving follower did not catch up"
            await asyncio.sleep(0.2)
        survivor = await scaled.scalar("principles", "SELECT lease_owner FROM feed_cursors WHERE feed = 'portfolio'")
        counts = await assessed(architect, principle)
        evaluations = await every(architect, "/principles/v1/evaluations", {"trigger": "change"})
    assert survivor != owner
    judged = first + second
    assert {href: counts[href] for href in judged} == dict.fromkeys(judged, 1)
    evaluated = Counter(e["target"]["href"] for e in evaluations)
    assert {href: evaluated[href] for href in judged} == dict.fromkeys(judged, 1)


async def test_an_instance_killed_under_eight_writers_loses_and_doubles_nothing(scaled: Scaled) -> None:
    """Every create the clients saw acknowledged exists once; a create asked again with its key
    after the kill (its answer lost, or its key left in flight by the dead instance) is the same
    resource; the feed is intact."""
    run = uuid.uuid4().hex[:6]
    sent = {f"kill-{run}-{w}-{n}": f"{run}-{w}-{n}" for w in range(WRITERS) for n in range(6)}
    acknowledged: dict[str, str] = {}
    seen: Counter[int] = Counter()
    async with scaled.client("portfolio_manager", sub=f"writer-{run}") as writer:

        def create(name: str) -> Callable[[], Awaitable[httpx2.Response]]:
            body = {
                "name": name,
                "unit": "Eenheid Rotterdam",
                "hosting": "own_platform",
                "data_classification": "internal",
                "users": 1,
            }
            return lambda: writer.post("/portfolio/v1/ebos", json=body, headers={"Idempotency-Key": sent[name]})

        async def write(names: list[str]) -> None:
            for name in names:
                answer = await until_answered(create(name), seen)
                assert answer.status_code == 201, answer.text
                acknowledged[name] = answer.json()["id"]

        names = list(sent)
        writers = [asyncio.create_task(write(names[w::WRITERS])) for w in range(WRITERS)]
        while len(acknowledged) < len(sent) // 4:  # in the middle of it  # noqa: ASYNC110 - counts, not a flag
            await asyncio.sleep(0.01)
        victim = scaled.platform.instances("portfolio")[1]
        scaled.platform.send(victim, signal.SIGKILL)  # no cleanup: its keys stay in flight
        await asyncio.gather(*writers)
        again = {name: (await until_answered(create(name))).json()["id"] for name in names}

    async with scaled.client("admin") as admin:
        stored = [
            e["name"] for e in await every(admin, "/portfolio/v1/ebos", {}) if e["name"].startswith(f"kill-{run}-")
        ]
        verified = (await admin.get("/portfolio/v1/changes/verify")).json()
        ready = (await admin.get("/readyz")).json()["upstreams"]["portfolio"]
        metrics = (await admin.get("/metrics")).text
    print(f"\nkill -9 of one of two instances under {WRITERS} writers: {len(sent)} creates, answers {dict(seen)}")
    ejected = f'gateway_upstream_ejections_total{{instance="{scaled.platform.url(victim)}",upstream="portfolio"}}'
    assert ejected in metrics  # the gateway stopped sending it requests
    assert set(acknowledged) == set(sent)
    assert sorted(stored) == sorted(sent)  # none lost, none twice
    assert again == acknowledged  # asked again with its key: the same resource
    assert verified["ok"] is True, verified
    assert ready["ready"] is True
    assert [i["ready"] for i in ready["instances"]] == [True, False]
