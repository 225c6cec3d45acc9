"""Need to know after reclassification: what principles hold about a subject follows the subject's
*current* classification (and unit, for EBOs), not the one it had when each record was written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.principles.follower import service as follower_service
from services.principles.follower.service import Follower
from services.principles.subjects import fetch
from tests.conftest import Suite
from tests.principles.helpers import (
    CLOUD_RULE,
    all_pages,
    architect,
    evaluate,
    initiative_body,
    local,
    make_chain,
    make_principle,
    patch,
)
from tests.support import Tokens

NEXT_YEAR = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)).isoformat()
SCORES = {"needed_now": 4, "generic_facilities": 4, "new_technologies": 4, "integrations": 3, "one_page": 3}


async def records_about(suite: Suite, headers: dict[str, str], href: str) -> dict[str, set[str]]:
    """What a caller sees of the records about one subject, by kind of record (hrefs)."""
    async with suite.client("principles", headers) as client:
        seen: dict[str, set[str]] = {}
        for name in ("assessments", "explanations", "simplicity-reviews"):
            items = await all_pages(client, f"/v1/{name}", {"subject": href, "include_archived": "true"})
            seen[name] = {item["href"] for item in items}
        evaluations = await all_pages(client, "/v1/evaluations")
        seen["evaluations"] = {e["href"] for e in evaluations if e["target"]["href"] == href}
        register = (await client.get("/v1/explanations/register")).json()["items"]
        seen["register"] = {row["href"] for row in register if row["subject"] == href}
    return seen


async def visible_one_by_one(suite: Suite, headers: dict[str, str], hrefs: set[str]) -> set[str]:
    """The records of ``hrefs`` a caller can get one by one, and whose history the feed shows them."""
    found = set()
    async with suite.client("principles", headers) as client:
        for href in hrefs:
            one = await client.get(local(href))
            events = (await client.get("/v1/changes", params={"subject": href, "limit": 100})).json()["items"]
            assert (one.status_code == 200) == bool(events), href
            if one.status_code == 200:
                found.add(href)
            else:
                assert one.status_code == 404, one.text
    return found


async def record_everything(
    suite: Suite, arch: dict[str, str], subject: dict[str, Any], kind: str, *, with_rule: bool
) -> None:
    """An evaluation (when a rule applies), a manual assessment, an explanation and a review."""
    async with suite.client("principles", arch) as client:
        manual = await make_principle(client, applies_to=[kind], category="data_privacy")
        if with_rule:
            await make_principle(client, applies_to=[kind], rule=CLOUD_RULE)
            await evaluate(client, subject["href"])
        assessed = await client.post(
            "/v1/assessments",
            json={
                "principle": {"href": manual["href"]},
                "subject": {"href": subject["href"]},
                "outcome": "deviates",
                "note": "Keeps a copy of the register.",
            },
        )
        assert assessed.status_code == 201, assessed.text
        explained = await client.post(
            "/v1/explanations",
            json={
                # The manual principle's deviation was just recorded: there is something to explain.
                "principle": {"href": manual["href"]},
                "subject": {"href": subject["href"]},
                "reason": "Needed for the pilot.",
                "review_by": NEXT_YEAR,
            },
        )
        assert explained.status_code == 201, explained.text
        reviewed = await client.post(
            "/v1/simplicity-reviews", json={"subject": {"href": subject["href"]}, "phase": "start", "scores": SCORES}
        )
        assert reviewed.status_code == 201, reviewed.text


async def test_records_follow_their_subject_when_the_follower_sees_it_classified_higher(
    suite: Suite, tokens: Tokens
) -> None:
    manager = tokens("portfolio_manager", sub="pm-reclassifies", clearance="secret")
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, hosting="public_cloud"))
        assert created.status_code == 201, created.text
        initiative = created.json()
    follower = Follower(suite.apps["principles"], owner="follower-need-to-know")
    await record_everything(suite, architect(tokens, sub="arch-ntk"), initiative, "initiative", with_rule=True)
    await follower.run_once()  # judges the initiative once more, as service:principles

    uncleared = tokens("reader", sub="reader-internal", clearance="internal")
    cleared = tokens("reader", sub="reader-secret", clearance="secret")
    before = await records_about(suite, uncleared, initiative["href"])
    assert all(before.values()), before
    assert before == await records_about(suite, cleared, initiative["href"])
    hrefs = set().union(*before.values())
    assert await visible_one_by_one(suite, uncleared, hrefs) == hrefs

    async with suite.client("portfolio", manager) as portfolio:
        await patch(portfolio, f"/v1/initiatives/{initiative['id']}", {"data_classification": "secret"})
    await follower.run_once()

    assert not any((await records_about(suite, uncleared, initiative["href"])).values())
    assert await visible_one_by_one(suite, uncleared, hrefs) == set()
    after = await records_about(suite, cleared, initiative["href"])
    for name, seen in before.items():
        assert seen <= after[name], name
    assert await visible_one_by_one(suite, cleared, hrefs) == hrefs
    async with suite.client("principles", cleared) as client:
        for name in ("assessments", "explanations", "simplicity-reviews"):
            for href in before[name]:
                assert (await client.get(local(href))).json()["data_classification"] == "secret", href
        for href in before["evaluations"]:
            assert (await client.get(local(href))).json()["data_classification"] == "secret", href


async def test_records_follow_an_ebo_to_its_new_unit_even_when_no_rule_applies(suite: Suite, tokens: Tokens) -> None:
    manager = tokens("portfolio_manager", sub="pm-moves", clearance="secret")
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post(
            "/v1/ebos",
            json={
                "name": "Verhoorplanner",
                "unit": "Eenheid Noord",
                "hosting": "own_platform",
                "data_classification": "secret",
                "users": 12,
            },
        )
        assert created.status_code == 201, created.text
        ebo = created.json()
    follower = Follower(suite.apps["principles"], owner="follower-ebo-unit")
    await follower.run_once()
    await record_everything(suite, architect(tokens, sub="arch-ebo"), ebo, "ebo", with_rule=False)

    north = tokens("reader", sub="reader-north", unit="Eenheid Noord", clearance="internal")
    east = tokens("reader", sub="reader-east", unit="Eenheid Oost", clearance="internal")
    before = await records_about(suite, north, ebo["href"])
    assert all(before[name] for name in ("assessments", "explanations", "simplicity-reviews", "register")), before
    assert not any((await records_about(suite, east, ebo["href"])).values())

    async with suite.client("portfolio", manager) as portfolio:
        await patch(portfolio, f"/v1/ebos/{ebo['id']}", {"unit": "Eenheid Oost"})
    await follower.run_once()  # no rule applies to EBOs: nothing is judged, the records move along

    assert not any((await records_about(suite, north, ebo["href"])).values())
    assert await records_about(suite, east, ebo["href"]) == before
    hrefs = set().union(*before.values())
    assert await visible_one_by_one(suite, north, hrefs) == set()
    assert await visible_one_by_one(suite, east, hrefs) == hrefs


@pytest.mark.parametrize("action", ["evaluation", "assessment", "explanation", "review"])
async def test_every_read_of_the_subject_brings_its_records_along(suite: Suite, tokens: Tokens, action: str) -> None:
    """Without the follower: whatever reads the subject with a cleared token restamps the older records."""
    manager = tokens("portfolio_manager", sub="pm-direct", clearance="secret")
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, hosting="public_cloud"))
        initiative = created.json()
    arch = architect(tokens, sub="arch-direct")
    await record_everything(suite, arch, initiative, "initiative", with_rule=True)
    uncleared = tokens("reader", sub="reader-low", clearance="internal")
    before = await records_about(suite, uncleared, initiative["href"])
    assert all(before.values()), before

    async with suite.client("portfolio", manager) as portfolio:
        await patch(portfolio, f"/v1/initiatives/{initiative['id']}", {"data_classification": "secret"})
    assert await records_about(suite, uncleared, initiative["href"]) == before  # nobody has read it yet

    async with suite.client("principles", arch) as client:
        principles = (await client.get("/v1/principles", params={"limit": 100})).json()["items"]
        # Committed tests leave principles behind: take one that can be assessed by hand here.
        manual = next(
            p for p in principles if p["rule"] is None and p["status"] == "active" and "initiative" in p["applies_to"]
        )
        if action == "evaluation":
            await evaluate(client, initiative["href"])
        elif action == "assessment":
            response = await client.post(
                "/v1/assessments",
                json={
                    "principle": {"href": manual["href"]},
                    "subject": {"href": initiative["href"]},
                    "outcome": "complies",
                    "note": "Reads the register at the source now.",
                },
            )
            assert response.status_code == 201, response.text
        elif action == "explanation":
            # One standing explanation per principle and subject: withdraw it (which reads nothing), ask again.
            for href in before["explanations"]:
                assert (await client.delete(local(href))).status_code == 200
            response = await client.post(
                "/v1/explanations",
                json={
                    "principle": {"href": manual["href"]},
                    "subject": {"href": initiative["href"]},
                    "reason": "Still needed.",
                    "review_by": NEXT_YEAR,
                },
            )
            assert response.status_code == 201, response.text
        else:
            response = await client.post(
                "/v1/simplicity-reviews",
                json={"subject": {"href": initiative["href"]}, "phase": "execution", "scores": SCORES},
            )
            assert response.status_code == 201, response.text

    assert not any((await records_about(suite, uncleared, initiative["href"])).values())
    hrefs = set().union(*before.values())
    assert await visible_one_by_one(suite, uncleared, hrefs) == set()


async def test_approving_brings_the_records_along(suite: Suite, tokens: Tokens) -> None:
    manager = tokens("portfolio_manager", sub="pm-approve", clearance="secret")
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", manager) as portfolio:
        created = await portfolio.post("/v1/initiatives", json=initiative_body(chain, hosting="public_cloud"))
        initiative = created.json()
    await record_everything(suite, architect(tokens, sub="arch-asks"), initiative, "initiative", with_rule=True)
    uncleared = tokens("reader", sub="reader-low", clearance="internal")
    before = await records_about(suite, uncleared, initiative["href"])
    async with suite.client("portfolio", manager) as portfolio:
        await patch(portfolio, f"/v1/initiatives/{initiative['id']}", {"data_classification": "secret"})

    async with suite.client("principles", architect(tokens, sub="arch-approves")) as client:
        [explanation] = before["explanations"]
        approved = await client.post(f"{local(explanation)}/approve", json={})
        assert approved.status_code == 200, approved.text
        assert approved.json()["data_classification"] == "secret"
        assert approved.headers["etag"] == f'"{approved.json()["version"]}"'
    assert not any((await records_about(suite, uncleared, initiative["href"])).values())


async def test_a_subject_the_service_cannot_read_keeps_its_records(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subject that does not exist for the service's own identity says nothing about its classification:
    its records stay as they are (they are not opened up)."""
    manager = tokens("portfolio_manager", sub="pm-keeps", clearance="secret")
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", manager) as portfolio:
        body = initiative_body(chain, hosting="own_platform", data_classification="secret")
        created = await portfolio.post("/v1/initiatives", json=body)
        assert created.status_code == 201, created.text
        initiative = created.json()
    follower = Follower(suite.apps["principles"], owner="follower-keeps")
    await follower.run_once()
    await record_everything(suite, architect(tokens, sub="arch-keeps"), initiative, "initiative", with_rule=True)
    cleared = tokens("reader", sub="reader-keeps-secret", clearance="secret")
    before = await records_about(suite, cleared, initiative["href"])
    assert all(before.values()), before

    async def lost(upstreams: Any, hrefs: Any, principal: Any) -> dict[str, Any]:
        found = await fetch(upstreams, hrefs, principal)
        return {href: None if href == initiative["href"] else value for href, value in found.items()}

    monkeypatch.setattr(follower_service, "fetch", lost)
    async with suite.client("portfolio", manager) as portfolio:
        await patch(portfolio, f"/v1/initiatives/{initiative['id']}", {"data_classification": "internal"})
    await follower.run_once()

    uncleared = tokens("reader", sub="reader-keeps-internal", clearance="internal")
    assert not any((await records_about(suite, uncleared, initiative["href"])).values())
    assert await records_about(suite, cleared, initiative["href"]) == before
