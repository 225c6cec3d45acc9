"""From duplicates to one: a candidate pair is dismissed with a reason (and undone), or resolved by
merging one EBO into the other; registering an EBO says what it looks like already, EBOs and the
applications of valuechains alike, and says so when valuechains cannot be asked."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import Suite
from tests.portfolio.helpers import created, ebo_body, events, local, pm
from tests.support import Tokens
from tests.valuechains.helpers import make_application, make_chain

PLANNER = ("Verhoorplanner", "Plans interview rooms, interpreters and lawyers for suspect interviews.")
PLANNER_TOO = ("Verhoor Planner", "Planning of interview rooms, interpreters and lawyers for suspect interviews.")


async def pair(manager: httpx2.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    first = await created(manager, "/v1/ebos", ebo_body("Eenheid Rotterdam", name=PLANNER[0], description=PLANNER[1]))
    second = await created(
        manager, "/v1/ebos", ebo_body("Eenheid Amsterdam", name=PLANNER_TOO[0], description=PLANNER_TOO[1])
    )
    return first, second


async def listed_pairs(client: httpx2.AsyncClient) -> set[frozenset[str]]:
    response = await client.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})
    assert response.status_code == 200, response.text
    return {frozenset((p["a"]["href"], p["b"]["href"])) for p in response.json()["items"]}


async def test_a_dismissed_pair_stops_showing_is_listed_recorded_and_can_be_undone(
    suite: Suite, tokens: Tokens
) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        first, second = await pair(manager)
        both = frozenset((first["href"], second["href"]))
        assert both in await listed_pairs(manager)
        body = {"kind": "ebo", "a": {"href": second["href"]}, "b": {"href": first["href"]}, "reason": "Two rooms"}
        dismissed = await manager.post("/v1/duplicate_dismissals", json=body)
        assert dismissed.status_code == 201, dismissed.text
        dismissal = dismissed.json()
        # Stored in a fixed order (the older id first), whichever way it was sent.
        assert (dismissal["a"]["href"], dismissal["b"]["href"]) == tuple(sorted(both))
        assert dismissal["reason"] == "Two rooms" and dismissal["status"] == "active"
        assert both not in await listed_pairs(manager)
        again = await manager.post("/v1/duplicate_dismissals", json=body)
        assert again.status_code == 409, again.text
        assert again.json()["dismissal"] == dismissal["href"]
        listed = await manager.get("/v1/duplicate_dismissals", params={"kind": "ebo"})
        assert [d["href"] for d in listed.json()["items"]] == [dismissal["href"]]
        assert [e["type"] for e in await events(manager, dismissal["href"])] == ["duplicate_dismissals.created"]
        undone = await manager.delete(local(dismissal["href"]))
        assert undone.status_code == 200, undone.text
        assert both in await listed_pairs(manager)
        assert [e["type"] for e in await events(manager, dismissal["href"])] == [
            "duplicate_dismissals.created",
            "duplicate_dismissals.archived",
        ]
        # Undone, it may be dismissed again.
        assert (await manager.post("/v1/duplicate_dismissals", json=body)).status_code == 201


async def test_bad_dismissals_are_422_or_403(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        first, second = await pair(manager)
        cases = [
            ({"kind": "initiative", "a": {"href": first["href"]}, "b": {"href": second["href"]}}, "a"),
            ({"kind": "ebo", "a": {"href": first["href"]}, "b": {"href": first["href"]}}, "b"),
            ({"kind": "ebo", "a": {"href": first["href"]}, "b": {"href": "/portfolio/v1/ebos/nope"}}, "b"),
        ]
        for body, field in cases:
            refused = await manager.post("/v1/duplicate_dismissals", json={**body, "reason": "not the same"})
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["loc"] == ["body", field]
        assert (await manager.get("/v1/duplicate_dismissals")).json()["items"] == []
    body = {"kind": "ebo", "a": {"href": first["href"]}, "b": {"href": second["href"]}, "reason": "not the same"}
    async with suite.client("portfolio", tokens("contributor", unit="Eenheid Rotterdam")) as contributor:
        assert (await contributor.post("/v1/duplicate_dismissals", json=body)).status_code == 403


async def test_a_dismissal_of_classified_records_shows_only_to_those_cleared(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        first, _ = await pair(manager)
        secret = await created(manager, "/v1/ebos", ebo_body("Eenheid Den Haag", data_classification="secret"))
        body = {"kind": "ebo", "a": {"href": first["href"]}, "b": {"href": secret["href"]}, "reason": "different"}
        dismissal = await created(manager, "/v1/duplicate_dismissals", body)
        assert dismissal["data_classification"] == "secret"
    async with suite.client("portfolio", tokens("reader")) as reader:
        assert (await reader.get("/v1/duplicate_dismissals")).json()["items"] == []
        assert (await reader.get(local(dismissal["href"]))).status_code == 404


async def test_merging_phases_out_points_at_the_survivor_and_settles_the_pair(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        first, second = await pair(manager)
        url = f"/v1/ebos/{second['id']}/decision"
        reason = "The same planner as Rotterdam's; its users move there."
        review = await manager.post(url, json={"status": "under_review", "reason": "Looks like Rotterdam's"})
        assert review.status_code == 200, review.text
        wrong = await manager.post(
            url, json={"status": "tolerated", "reason": reason, "merge_into": {"href": first["href"]}}
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["errors"][0]["loc"] == ["body", "status"]
        itself = await manager.post(
            url, json={"status": "phased_out", "reason": reason, "merge_into": {"href": second["href"]}}
        )
        assert itself.status_code == 422, itself.text
        assert itself.json()["errors"][0]["type"] == "same_record"
        merged = await manager.post(
            url, json={"status": "phased_out", "reason": reason, "merge_into": {"href": first["href"]}}
        )
        assert merged.status_code == 200, merged.text
        assert merged.json()["status"] == "phased_out"
        assert merged.json()["merged_into"] == {"href": first["href"]}
        assert (await manager.get(f"/v1/ebos/{first['id']}")).json()["merged_into"] is None
        change = (await events(manager, second["href"]))[-1]["changes"]
        assert change["merged_into"] == [None, {"href": first["href"]}]
        assert change["status"] == ["under_review", "phased_out"]
        assert frozenset((first["href"], second["href"])) not in await listed_pairs(manager)
        # Nothing merges into a merged EBO: merge into the one that stays.
        third = await created(manager, "/v1/ebos", ebo_body("Eenheid Utrecht", name="Verhoorplanning"))
        await manager.post(f"/v1/ebos/{third['id']}/decision", json={"status": "under_review", "reason": "looks alike"})
        chained = await manager.post(
            f"/v1/ebos/{third['id']}/decision",
            json={"status": "phased_out", "reason": reason, "merge_into": {"href": second["href"]}},
        )
        assert chained.status_code == 409, chained.text
        assert chained.json()["merged_into"] == first["href"]
        # The survivor is still referenced by what merged into it, but that does not hold it in use.
        assert (await manager.delete(f"/v1/ebos/{first['id']}")).status_code == 200


async def test_registering_an_ebo_names_the_ebos_and_applications_it_looks_like(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = await make_chain(admin)
        application = await make_application(admin, chain, name="Verhoor-planner")
        await make_application(admin, chain, name="Hondenbrigade-logboek")
    async with suite.client("portfolio", pm(tokens)) as manager:
        first = await created(
            manager, "/v1/ebos", ebo_body("Eenheid Rotterdam", name=PLANNER[0], description=PLANNER[1])
        )
        second = await manager.post(
            "/v1/ebos", json=ebo_body("Eenheid Amsterdam", name=PLANNER_TOO[0], description=PLANNER_TOO[1])
        )
        assert second.status_code == 201, second.text
        answer = second.json()
        assert answer["duplicate_check"] == {"ebos": "compared", "applications": "compared"}
        likely = {d["href"]: d for d in answer["likely_duplicates"]}
        assert set(likely) == {first["href"], application["href"]}
        assert likely[first["href"]]["kind"] == "ebo" and likely[first["href"]]["name"] == PLANNER[0]
        assert likely[application["href"]] == {
            "href": application["href"],
            "kind": "application",
            "name": "Verhoor-planner",
            "score": likely[application["href"]]["score"],
        }
        assert all(80 <= d["score"] <= 100 for d in answer["likely_duplicates"])
        scores = [d["score"] for d in answer["likely_duplicates"]]
        assert scores == sorted(scores, reverse=True)
        # The EBO itself is as any read shows it, and nothing of the applications was stored.
        read = (await manager.get(f"/v1/ebos/{answer['id']}")).json()
        assert read == {k: v for k, v in answer.items() if k not in ("likely_duplicates", "duplicate_check")}
        unrelated = await created(manager, "/v1/ebos", ebo_body(name="Fietsdiefstal-kaart", description="Thefts."))
        assert unrelated["likely_duplicates"] == []


async def test_registering_an_ebo_without_valuechains_marks_applications_unavailable(
    suite: Suite, tokens: Tokens
) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        first = await created(
            manager, "/v1/ebos", ebo_body("Eenheid Rotterdam", name=PLANNER[0], description=PLANNER[1])
        )
        suite.transport.down.add("valuechains.test")
        second = await manager.post(
            "/v1/ebos", json=ebo_body("Eenheid Amsterdam", name=PLANNER_TOO[0], description=PLANNER_TOO[1])
        )
        assert second.status_code == 201, second.text
        assert second.json()["duplicate_check"] == {"ebos": "compared", "applications": "unavailable"}
        assert [d["href"] for d in second.json()["likely_duplicates"]] == [first["href"]]
        # With a value chain to check, valuechains is needed: 503, nothing stored.
        chained = await manager.post(
            "/v1/ebos",
            json=ebo_body(value_chain={"href": "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"}),
        )
        assert chained.status_code == 503, chained.text


async def test_likely_duplicates_follow_need_to_know(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as manager:
        await created(
            manager,
            "/v1/ebos",
            ebo_body("Eenheid Den Haag", name=PLANNER[0], description=PLANNER[1], data_classification="secret"),
        )
    async with suite.client("portfolio", tokens("contributor", unit="Eenheid Amsterdam")) as contributor:
        response = await contributor.post(
            "/v1/ebos", json=ebo_body("Eenheid Amsterdam", name=PLANNER_TOO[0], description=PLANNER_TOO[1])
        )
        assert response.status_code == 201, response.text
        assert response.json()["likely_duplicates"] == []
