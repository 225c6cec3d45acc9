"""Keeping current: the change-feed follower re-evaluates what changed, as service:principles, once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from services.chassis.auth import issue_dev_token
from services.principles.assessments.models import Assessment
from services.principles.follower.models import FeedCursor
from services.principles.follower.service import Follower
from tests.conftest import AppCache, Suite, build_suite
from tests.principles.helpers import (
    architect,
    local,
    make_chain,
    make_initiative,
    make_principle,
    make_programme,
    patch,
)
from tests.support import Tokens, settings_for

RULE = "subject.status != 'completed'"


async def assessments_of(client: Any, principle: dict[str, Any], subject: dict[str, Any]) -> list[dict[str, Any]]:
    params = {"principle": principle["href"], "subject": subject["href"], "limit": 100}
    items: list[dict[str, Any]] = (await client.get("/v1/assessments", params=params)).json()["items"]
    return items


async def test_the_follower_re_evaluates_a_changed_subject_without_anyone_asking(suite: Suite, tokens: Tokens) -> None:
    follower = Follower(suite.apps["principles"], owner="follower-a")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["programme"], rule=RULE)
        await follower.run_once()  # catch up with what happened before this test

        programme = await make_programme(suite, tokens, status="active")
        processed = await follower.run_once()
        assert processed["portfolio"] >= 1
        [first] = await assessments_of(client, principle, programme)
        assert first["outcome"] == "complies" and first["assessed_by"] == "service:principles"
        evaluation = (await client.get(local(first["evaluation"]["href"]))).json()
        assert evaluation["trigger"] == "change" and evaluation["requested_by"] == "service:principles"

        async with suite.client("portfolio", tokens("admin")) as portfolio:
            await patch(portfolio, f"/v1/programmes/{programme['id']}", {"status": "completed"})
            await follower.run_once()
            second = await assessments_of(client, principle, programme)
            assert [a["outcome"] for a in second] == ["complies", "deviates"]
            assert second[1]["facts_sha256"] != second[0]["facts_sha256"]

            # Archiving is not a change to judge; and nothing is processed twice.
            await portfolio.delete(f"/v1/programmes/{programme['id']}")
            await follower.run_once()
            await follower.run_once()
            assert len(await assessments_of(client, principle, programme)) == 2


async def test_a_second_follower_does_not_process_what_the_first_holds(suite: Suite, tokens: Tokens) -> None:
    app = suite.apps["principles"]
    first, second = Follower(app, owner="instance-1"), Follower(app, owner="instance-2")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["programme"], rule=RULE)
        await first.run_once()

        programme = await make_programme(suite, tokens)
        assert await second.run_once() == {"portfolio": 0, "valuechains": 0}  # the lease is the first's
        assert await assessments_of(client, principle, programme) == []
        assert (await first.run_once())["portfolio"] >= 1
        assert len(await assessments_of(client, principle, programme)) == 1

        await first.release()  # e.g. on shutdown: the other takes over at once, from the same cursor
        later = await make_programme(suite, tokens)
        assert (await second.run_once())["portfolio"] >= 1
        assert len(await assessments_of(client, principle, later)) == 1
        assert len(await assessments_of(client, principle, programme)) == 1


async def test_an_upstream_that_is_down_keeps_the_cursor_and_backs_off(suite: Suite, tokens: Tokens) -> None:
    app = suite.apps["principles"]
    follower = Follower(app, owner="follower-down")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["programme"], rule=RULE)
        await follower.run_once()
        async with app.state.db.session(write=False) as session:
            cursor = (await session.get(FeedCursor, "portfolio")).after_seq

        programme = await make_programme(suite, tokens)
        suite.transport.down.add("portfolio.test")
        try:
            assert "portfolio" not in await follower.run_once()
            assert follower.state["portfolio"].failures == 1
            assert "portfolio" not in await follower.run_once()  # backing off: not even tried
        finally:
            suite.transport.down.discard("portfolio.test")
        async with app.state.db.session(write=False) as session:
            assert (await session.get(FeedCursor, "portfolio")).after_seq == cursor
        assert await assessments_of(client, principle, programme) == []

        assert (await follower.run_once(respect_backoff=False))["portfolio"] >= 1
        assert follower.state["portfolio"].failures == 0
        assert len(await assessments_of(client, principle, programme)) == 1


async def test_a_change_to_what_a_rule_reads_through_a_reference_re_evaluates_the_referrers(
    suite: Suite, tokens: Tokens
) -> None:
    chain = await make_chain(suite, tokens, name="Testketen")
    initiative = await make_initiative(suite, tokens, chain)
    follower = Follower(suite.apps["principles"], owner="follower-refs")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, rule="subject.value_chain.name != 'Verboden keten'")
        await follower.run_once()  # catches up (the creation of the chain and of the initiative)
        before = await assessments_of(client, principle, initiative)
        assert before and {a["outcome"] for a in before} == {"complies"}
        async with suite.client("valuechains", tokens("admin")) as valuechains:
            await patch(valuechains, f"/v1/chains/{chain['id']}", {"name": "Verboden keten"})
        await follower.run_once()  # only the chain changed; the initiative reads it through value_chain
        judged = await assessments_of(client, principle, initiative)
        assert judged[: len(before)] == before
        [new] = judged[len(before) :]
        assert new["outcome"] == "deviates" and new["assessed_by"] == "service:principles"


async def test_the_referrers_of_a_page_of_changes_are_asked_for_in_one_request(suite: Suite, tokens: Tokens) -> None:
    chains = [await make_chain(suite, tokens, name=f"Keten {n}") for n in range(3)]
    initiatives = [await make_initiative(suite, tokens, chain) for chain in chains]
    follower = Follower(suite.apps["principles"], owner="follower-batch")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, rule="subject.value_chain.name != 'Verboden keten'")
        await follower.run_once()
        async with suite.client("valuechains", tokens("admin")) as valuechains:
            for chain in chains:
                await patch(valuechains, f"/v1/chains/{chain['id']}", {"name": "Verboden keten"})
        mark = len(suite.transport.requests)
        await follower.run_once()  # three chains changed; initiatives read them through value_chain
        asked = [r for r in suite.transport.requests[mark:] if r.url.path == "/v1/references"]
        assert len(asked) == 1 and asked[0].url.host == "portfolio.test"
        assert set(asked[0].url.params.get_list("target")) == {chain["href"] for chain in chains}
        for initiative in initiatives:
            assert (await assessments_of(client, principle, initiative))[-1]["outcome"] == "deviates"


FOUNDATION_FIRST = "subject.kind != 'renewal' || subject.value_chain.open_critical_findings == 0"


async def test_archiving_an_application_re_evaluates_the_renewal_on_its_chain(suite: Suite, tokens: Tokens) -> None:
    """An application is no subject, but its chain's open findings derive from it: its events count
    as changes of the chain, so the initiatives whose rules read that chain are judged again."""
    chain = await make_chain(suite, tokens, name="Fundamentketen")
    async with suite.client("valuechains", tokens("admin", clearance="secret")) as valuechains:
        created = await valuechains.post(
            f"/v1/chains/{chain['id']}/applications",
            json={
                "name": "Kwetsbaar register",
                "category": "registration",
                "disposition": "migrate",
                "supported_until": "2030-12-31",
                "last_release": "2026-01-10",
                "findings": {"critical": 2, "high": 0, "medium": 0, "low": 0},
                "hosting": "own_platform",
                "data_classification": "internal",
            },
        )
        assert created.status_code == 201, created.text
    renewal = await make_initiative(suite, tokens, chain, kind="renewal")
    follower = Follower(suite.apps["principles"], owner="follower-derived")
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, rule=FOUNDATION_FIRST)
        await follower.run_once()  # catches up: the initiative is judged (its creation, the application's)
        before = await assessments_of(client, principle, renewal)
        assert before
        assert {a["outcome"] for a in before} == {"deviates"}

        async with suite.client("valuechains", tokens("admin")) as valuechains:
            archived = await valuechains.delete(f"/v1/applications/{created.json()['id']}")
            assert archived.status_code == 200
        await follower.run_once()  # only the application's archive event is new
        judged = await assessments_of(client, principle, renewal)
        assert judged[: len(before)] == before
        assert [a["outcome"] for a in judged[len(before) :]] == ["complies"]


def identity_provider(settings: Any, lifetime: int, issued: list[str]) -> FastAPI:
    """A stand-in for the organisation's identity provider: client credentials, short-lived tokens."""
    app = FastAPI()

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        expected = "Basic " + base64.b64encode(b"principles:s3cret").decode()
        if request.headers.get("authorization") != expected or form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        ttl = dt.timedelta(seconds=lifetime)
        issued.append(issue_dev_token(settings, sub="principles", roles=["reader"], clearance="secret", ttl=ttl))
        return JSONResponse({"access_token": issued[-1], "token_type": "Bearer", "expires_in": lifetime})

    return app


async def test_the_follower_keeps_following_across_renewals_of_its_token(app_cache: AppCache, tokens: Tokens) -> None:
    """Tokens that live two seconds, refused by every service the moment they expire: the follower
    gets a new one by client credentials before each runs out, and misses no change."""
    oauth = {
        "oauth_token_url": "http://idp.test/token",
        "oauth_client_id": "principles",
        "oauth_client_secret": "s3cret",
        "jwt_leeway_seconds": 0,
    }
    async with build_suite(app_cache, rollback=True, **oauth) as suite:
        issued: list[str] = []
        suite.transport.add("idp.test", identity_provider(settings_for(app_cache.var_dir), 2, issued))
        follower = Follower(suite.apps["principles"], owner="follower-renewals")
        async with suite.client("principles", architect(tokens)) as client:
            principle = await make_principle(client, applies_to=["programme"], rule=RULE)
            await follower.run_once(respect_backoff=False)
            programme = await make_programme(suite, tokens, status="active")
            async with suite.client("portfolio", tokens("admin")) as portfolio:
                for round_ in range(4):
                    await asyncio.sleep(1.1)  # half a token's life and more
                    await patch(portfolio, f"/v1/programmes/{programme['id']}", {"name": f"Programma {round_}"})
                    processed = await follower.run_once(respect_backoff=False)
                    assert processed["portfolio"] >= 1, processed  # followed, not refused and backing off
            judged = await assessments_of(client, principle, programme)
        # One judgement per pass (the creation and the first change come in the same pass).
        assert len(judged) == 4 and {a["assessed_by"] for a in judged} == {"service:principles"}
        assert len(issued) >= 3 and len(set(issued)) == len(issued)  # renewed, each time a new token


async def test_a_refused_client_stops_nothing_else(app_cache: AppCache, tokens: Tokens) -> None:
    """Wrong client credentials: the follower backs off (the feed stays where it was) and says why."""
    oauth = {"oauth_token_url": "http://idp.test/token", "oauth_client_id": "principles", "oauth_client_secret": "x"}
    async with build_suite(app_cache, rollback=True, **oauth) as suite:
        suite.transport.add("idp.test", identity_provider(settings_for(app_cache.var_dir), 60, []))
        follower = Follower(suite.apps["principles"], owner="follower-refused")
        assert await follower.run_once(respect_backoff=False) == {}
        assert all(state.failures == 1 for state in follower.state.values())


# --- with real, separate transactions -----------------------------------------------------------


@pytest.fixture
def follower_settings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Environment for the apps of a committed suite (read when they are built)."""
    values: dict[str, str] = getattr(request, "param", {})
    with pytest.MonkeyPatch.context() as patcher:
        for name, value in values.items():
            patcher.setenv(name, value)
        yield


@contextlib.asynccontextmanager
async def principle_for_programmes(suite: Suite, tokens: Tokens) -> AsyncIterator[dict[str, Any]]:
    """An active principle on programmes, retired afterwards (its rows stay: these tests commit)."""
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["programme"], rule=RULE)
        try:
            yield principle
        finally:
            await patch(client, local(principle["href"]), {"status": "retired"})


async def count(suite: Suite, principle: dict[str, Any], subject: dict[str, Any]) -> int:
    async with suite.apps["principles"].state.db.session(write=False) as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.principle_id == principle["id"], Assessment.subject == subject["href"])
        )
    return int(found or 0)


@pytest.mark.parametrize("follower_settings", [{"IV_PRINCIPLES_FOLLOW_ENABLED": "false"}], indirect=True)
async def test_two_followers_at_once_process_each_event_once(
    follower_settings: None, committed_suite: Suite, tokens: Tokens
) -> None:
    app = committed_suite.apps["principles"]
    followers = [Follower(app, owner=f"racer-{i}") for i in range(2)]
    async with principle_for_programmes(committed_suite, tokens) as principle:
        try:
            made = []
            for _ in range(3):
                made.append(await make_programme(committed_suite, tokens))
                await asyncio.gather(*(f.run_once() for f in followers))
            await asyncio.gather(*(f.run_once() for f in followers))
            for programme in made:
                assert await count(committed_suite, principle, programme) == 1
        finally:
            for follower in followers:
                await follower.release()


@pytest.mark.parametrize(
    "follower_settings",
    [{"IV_PRINCIPLES_FOLLOW_INTERVAL_SECONDS": "0.2", "IV_PRINCIPLES_FOLLOW_ENABLED": "true"}],
    indirect=True,
)
async def test_the_background_task_keeps_assessments_current(
    follower_settings: None, committed_suite: Suite, tokens: Tokens
) -> None:
    async with principle_for_programmes(committed_suite, tokens) as principle:
        programme = await make_programme(committed_suite, tokens)
        deadline = time.monotonic() + 60  # waits for the outcome; the speed is not what is tested
        while await count(committed_suite, principle, programme) == 0:
            assert time.monotonic() < deadline, "the follower did not re-evaluate the new programme"
            await asyncio.sleep(0.1)
        async with committed_suite.client("principles", tokens("reader")) as client:
            [judged] = await assessments_of(client, principle, programme)
        assert judged["assessed_by"] == "service:principles" and judged["outcome"] == "complies"


async def test_metrics_show_how_far_behind_each_feed_is(suite: Suite, tokens: Tokens) -> None:
    app = suite.apps["principles"]
    follower = Follower(app, owner="follower-lag")
    app.state.follower = follower  # as the background task does
    async with suite.client("principles", tokens("auditor")) as client:
        assert "principles_feed_events_behind{" not in (await client.get("/metrics")).text  # not polled yet
        await make_programme(suite, tokens)
        await follower.run_once()
        assert follower.state["portfolio"].behind == 0
        caught_up = (await client.get("/metrics")).text
        assert 'principles_feed_events_behind{feed="portfolio"} 0.0' in caught_up
        assert 'principles_feed_failures{feed="portfolio"} 0.0' in caught_up

        suite.transport.down.add("portfolio.test")
        try:
            await follower.run_once()
        finally:
            suite.transport.down.discard("portfolio.test")
        assert 'principles_feed_failures{feed="portfolio"} 1.0' in (await client.get("/metrics")).text

    # The feed names its head on every page: what "behind" is measured against.
    await make_programme(suite, tokens)
    async with suite.client("portfolio", tokens("admin")) as portfolio:
        first = await portfolio.get("/v1/changes", params={"after": 0, "limit": 1})
        newest = first.headers["X-Feed-Head"]
        last = await portfolio.get("/v1/changes", params={"after": int(newest) - 1})
    assert [e["seq"] for e in last.json()["items"]] == [int(newest)]
    assert int(newest) > first.json()["items"][0]["seq"]


async def test_metrics_count_rule_evaluations(suite: Suite, tokens: Tokens) -> None:
    from services.principles.rules.engine import RULE_STATS

    before = RULE_STATS.evaluations["ok"]
    follower = Follower(suite.apps["principles"], owner="follower-rules")
    async with suite.client("principles", architect(tokens)) as client:
        await make_principle(client, applies_to=["programme"], rule=RULE)
        await follower.run_once()
        await make_programme(suite, tokens)
        await follower.run_once()
        text = (await client.get("/metrics", headers=tokens("auditor"))).text
    assert RULE_STATS.evaluations["ok"] > before
    assert f'principles_rule_evaluations_total{{outcome="ok"}} {float(RULE_STATS.evaluations["ok"])}' in text
    assert "principles_rule_worker_seconds_total " in text
