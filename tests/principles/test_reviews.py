"""Simplicity reviews: fixed criteria scored 1..5, the outcome derived by the documented rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.principles.reviews.service import derive_outcome
from tests.conftest import Suite
from tests.principles.helpers import architect, local, make_chain, make_initiative
from tests.support import Tokens


def scores(a: int, b: int, c: int, d: int, e: int) -> dict[str, int]:
    return {"needed_now": a, "generic_facilities": b, "new_technologies": c, "integrations": d, "one_page": e}


@pytest.mark.parametrize(
    ("given", "outcome"),
    [
        (scores(5, 5, 5, 5, 5), "pass"),
        (scores(4, 4, 4, 3, 3), "pass"),  # 18: the lowest total that passes
        (scores(4, 4, 3, 3, 3), "concerns"),  # 17
        (scores(5, 5, 5, 5, 2), "concerns"),  # a 2 is a concern, whatever the total
        (scores(3, 3, 2, 2, 2), "concerns"),  # 12: the lowest total that is not a fail
        (scores(3, 2, 2, 2, 2), "fail"),  # 11
        (scores(5, 5, 5, 5, 1), "fail"),  # a 1 fails, whatever the total
    ],
)
def test_the_outcome_follows_from_the_scores(given: dict[str, int], outcome: str) -> None:
    assert derive_outcome(given) == outcome


def review_body(subject: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "subject": {"href": subject["href"]},
        "phase": "start",
        "scores": scores(4, 4, 4, 3, 3),
        "notes": "Start with one unit.",
        **overrides,
    }


async def test_architects_review_and_the_outcome_is_derived(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    initiative = await make_initiative(suite, tokens, chain, data_classification="confidential")
    async with suite.client("principles", architect(tokens, sub="arch-rev")) as client:
        created = await client.post("/v1/simplicity-reviews", json=review_body(initiative))
        assert created.status_code == 201, created.text
        review = created.json()
        assert review["outcome"] == "pass" and review["reviewer"] == "arch-rev"
        assert review["subject_kind"] == "initiative" and review["data_classification"] == "confidential"
        assert review["reviewed_on"] == dt.datetime.now(dt.UTC).date().isoformat()
        assert review["scores"] == scores(4, 4, 4, 3, 3)

        rescored = await client.patch(
            local(review["href"]), json={"scores": scores(4, 4, 4, 3, 1)}, headers={"If-Match": '"1"'}
        )
        assert rescored.status_code == 200 and rescored.json()["outcome"] == "fail"

        typed = await client.post("/v1/simplicity-reviews", json={**review_body(initiative), "outcome": "pass"})
        assert typed.status_code == 422  # the outcome is never typed in
        for bad in (scores(0, 4, 4, 4, 4), scores(6, 4, 4, 4, 4)):
            assert (
                await client.post("/v1/simplicity-reviews", json=review_body(initiative, scores=bad))
            ).status_code == 422
        partial = {"needed_now": 4}
        assert (
            await client.post("/v1/simplicity-reviews", json=review_body(initiative, scores=partial))
        ).status_code == 422
        future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
        late = await client.post("/v1/simplicity-reviews", json=review_body(initiative, reviewed_on=future))
        assert late.status_code == 422
        earlier = await client.post(
            "/v1/simplicity-reviews", json=review_body(initiative, phase="execution", reviewed_on="2026-01-15")
        )
        assert earlier.status_code == 201 and earlier.json()["reviewed_on"] == "2026-01-15"
        unknown = await client.post(
            "/v1/simplicity-reviews",
            json=review_body({"href": "/portfolio/v1/initiatives/019a9999-0000-7000-8000-000000000001"}),
        )
        assert unknown.status_code == 422

        listed = await client.get("/v1/simplicity-reviews", params={"subject": initiative["href"], "phase": "start"})
        assert [r["id"] for r in listed.json()["items"]] == [review["id"]]

    async with suite.client("principles", architect(tokens, sub="arch-other")) as client:
        other = await client.patch(local(review["href"]), json={"notes": "Mine."}, headers={"If-Match": '"2"'})
        assert other.status_code == 403
    async with suite.client("principles", tokens("portfolio_manager", clearance="secret")) as client:
        assert (await client.post("/v1/simplicity-reviews", json=review_body(initiative))).status_code == 403
    async with suite.client("principles", tokens("reader", clearance="internal")) as client:
        assert (await client.get(local(review["href"]))).status_code == 404  # need to know
