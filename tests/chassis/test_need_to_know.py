"""Need to know, end to end: a classified record never shows through any collection, feed or report
of any service to a caller who is not cleared for it (services.chassis.visibility).

One world holds a secret record of every kind that can be classified (an application, an
initiative and its round item, an EBO, and what principles records about the initiative: an
evaluation, an assessment, an explanation, a simplicity review). Every GET endpoint of every
service's OpenAPI document is then called as a reader cleared only for `internal`, and nothing in
any answer may name those records: not their ids, not their hrefs, not their names. The endpoints
come from the documents, so a new collection or report is covered the day it is added (and must be
given its parameters below, or this test fails)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from tests.chassis.cases import application as application_body
from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, pm
from tests.principles.helpers import CLOUD_RULE, architect, make_principle
from tests.support import Tokens

MARK = f"GEHEIM{uuid.uuid4().hex[:8].upper()}"
NEXT_YEAR = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)).isoformat()
UNCLEARED_UNIT = "Eenheid Zeeland"
# The live change stream never ends; need to know on it is tested in test_change_stream.py.
SKIPPED = {"/healthz", "/readyz", "/v1/changes/stream"}


@dataclass
class World:
    chain: dict[str, Any]
    public_initiative: dict[str, Any]
    round_: dict[str, Any]
    principle: dict[str, Any]
    secret: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every secret record, by what it is."""

    def secrets(self) -> set[str]:
        """Strings that may not appear in any answer to the uncleared reader."""
        found = {MARK}
        for record in self.secret.values():
            found.add(record["id"])
            found.add(record["href"])
        return found


async def created(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def initiative(chain: dict[str, Any], name: str, classification: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name}: a description.",
        "value_chain": {"href": chain["href"]},
        "kind": "renewal",
        "funding": "structural",
        "budget_eur": 900_000,
        "start": "2026-01-01",
        "end": "2026-12-31",
        "status": "proposed",
        "hosting": "public_cloud",
        "data_classification": classification,
    }


@pytest.fixture
async def world(suite: Suite, tokens: Tokens) -> World:
    return await make_world(suite, tokens)


async def make_world(suite: Suite, tokens: Tokens) -> World:
    """The world of secret records (test_not_shown.py counts them)."""
    admin = tokens("admin", sub="u-ntk-admin", clearance="secret")
    async with suite.client("valuechains", admin) as valuechains:
        chain = await created(
            valuechains,
            "/v1/chains",
            {
                "code": f"N{uuid.uuid4().hex[:6].upper()}",
                "name": "Zichtbare keten",
                "domain": "Need to know",
                "mission": "Be visible.",
                "owner": {"subject": "u-ntk-owner", "name": "O. Pen", "unit": "Eenheid Rotterdam"},
            },
        )
        application = await created(
            valuechains,
            f"/v1/chains/{chain['id']}/applications",
            application_body(f"{MARK} applicatie", "secret", critical=2, high=1),
        )
    async with suite.client("portfolio", admin) as portfolio:
        public = await created(portfolio, "/v1/initiatives", initiative(chain, "Openbaar initiatief", "internal"))
        secret = await created(portfolio, "/v1/initiatives", initiative(chain, f"{MARK} initiatief", "secret"))
        twin = await created(portfolio, "/v1/initiatives", initiative(chain, f"{MARK} initiatief twee", "secret"))
        ebo = await created(
            portfolio,
            "/v1/ebos",
            {
                "name": f"{MARK} eigen omgeving",
                "unit": "Eenheid Rotterdam",
                "description": f"{MARK} built locally.",
                "hosting": "own_platform",
                "data_classification": "secret",
                "users": 12,
            },
        )
        round_ = await created(
            portfolio, "/v1/rounds", {"name": "Ronde", "period": "2026-Q1", "target": {"run": 60, "renewal": 40}}
        )
        await created(
            portfolio,
            f"/v1/rounds/{round_['id']}/items",
            {"initiative": {"href": public["href"]}, "rank": 1, "decision": "start"},
        )
        item = await created(
            portfolio,
            f"/v1/rounds/{round_['id']}/items",
            {"initiative": {"href": secret["href"]}, "rank": 2, "decision": "start", "note": f"{MARK} note"},
        )
        next_round = await created(
            portfolio,
            "/v1/rounds",
            {
                "name": "Volgende",
                "period": "2026-Q2",
                "target": {"run": 60, "renewal": 40},
                "from_round": {"href": round_["href"]},
            },
        )
    async with suite.client("principles", architect(tokens)) as principles:
        principle = await make_principle(principles, rule=CLOUD_RULE)
        evaluation = await created(principles, "/v1/evaluations", {"subject": {"href": secret["href"]}})
        assessment = next(a for a in evaluation["assessments"] if a["principle"]["href"] == principle["href"])
        explanation = await created(
            principles,
            "/v1/explanations",
            {
                "principle": {"href": principle["href"]},
                "subject": {"href": secret["href"]},
                "reason": f"{MARK} reason",
                "review_by": NEXT_YEAR,
            },
        )
        review = await created(
            principles,
            "/v1/simplicity-reviews",
            {
                "subject": {"href": secret["href"]},
                "phase": "start",
                "scores": {
                    "needed_now": 4,
                    "generic_facilities": 4,
                    "new_technologies": 4,
                    "integrations": 3,
                    "one_page": 3,
                },
                "notes": f"{MARK} notes",
            },
        )
    world = World(chain=chain, public_initiative=public, round_=next_round, principle=principle)
    world.secret = {
        "application": application,
        "initiative": secret,
        "twin": twin,
        "ebo": ebo,
        "round item": item,
        "evaluation": evaluation,
        "assessment": assessment,
        "explanation": explanation,
        "review": review,
    }
    world.round_["previous"] = round_
    return world


def calls(app: FastAPI, world: World) -> list[tuple[str, dict[str, Any]]]:
    """(path, query) for every GET of the app: every path parameter filled with each record it can
    name (the secret ones included), every required query parameter given."""
    chain, rounds = world.chain, (world.round_["previous"], world.round_)
    by_collection: dict[str, list[str]] = {}
    for record in [chain, world.public_initiative, *rounds, world.principle, *world.secret.values()]:
        parts = record["href"].split("/")
        by_collection.setdefault(parts[3], []).append(parts[4])
    secret_item = world.secret["round item"]
    required_queries: dict[str, list[dict[str, Any]]] = {
        "/v1/reports/allocations": [{"period": "2026"}],
        "/v1/rounds/{id}/diff": [{"against": rounds[0]["id"]}],
        "/v1/reports/ratio": [{"round": r["id"]} for r in rounds] + [{"year": 2026}],
        "/v1/reports/reconciliation": [{"year": 2026}],
        "/v1/duplicates": [{"kind": "ebo", "min_score": 0}, {"kind": "initiative", "min_score": 0}],
        "/v1/references": [
            {"target": chain["href"]},
            {"target": world.secret["initiative"]["href"]},
            {"target": world.principle["href"]},
        ],
        "/v1/changes/witnessed": [{"feed": feed} for feed in ("valuechains", "portfolio", "principles")],
    }
    found: list[tuple[str, dict[str, Any]]] = []
    for template, item in app.openapi()["paths"].items():
        if "get" not in item or template in SKIPPED:
            continue
        required = [p["name"] for p in item["get"].get("parameters", []) if p["in"] == "query" and p.get("required")]
        queries = required_queries.get(template, [{}])
        assert all(set(required) <= set(q) for q in queries), f"give {template} its required parameters {required}"
        names = re.findall(r"\{(\w+)\}", template)
        paths = [template]
        if names:
            collection = template.split("/")[2]
            paths = []
            if names == ["id"]:
                # Collections without classified rows are asked for a row that is not there.
                ids = by_collection.get(collection, ["019a0000-dead-7000-8000-000000000000"])
                paths = [template.replace("{id}", id_) for id_ in ids]
            elif names == ["id", "item_id"]:
                paths = [
                    template.replace("{id}", secret_item["href"].split("/")[4]).replace("{item_id}", secret_item["id"])
                ]
            elif names == ["id", "revision"]:
                paths = [template.replace("{id}", world.principle["id"]).replace("{revision}", "1")]
            elif names == ["id", "period"]:
                paths = [template.replace("{id}", chain["id"]).replace("{period}", "2026")]
            assert paths, f"give {template} a record to name"
        pages = any(p["name"] == "limit" for p in item["get"].get("parameters", []))
        found.extend((path, {"limit": 100, **query} if pages else query) for path in paths for query in queries)
    return found


@pytest.mark.parametrize("service", ["valuechains", "portfolio", "principles"])
async def test_no_classified_record_shows_through_any_endpoint(
    suite: Suite, tokens: Tokens, world: World, service: str
) -> None:
    app = suite.apps[service]
    secrets = world.secrets()
    # An auditor reads everything a reader does, and the audit endpoints besides: uncleared, neither
    # shows a classified record.
    uncleared = tokens("reader", "auditor", sub="u-ntk-reader", clearance="internal", unit=UNCLEARED_UNIT)
    cleared = tokens("admin", sub="u-ntk-admin", clearance="secret")
    shown_to_cleared: set[str] = set()
    async with suite.client(service, uncleared) as reader, suite.client(service, cleared) as admin:
        for path, query in calls(app, world):
            for client, leaks in ((reader, True), (admin, False)):
                answer = await client.get(path, params=query)
                body = answer.text
                while answer.status_code == 200 and "json" in answer.headers["content-type"]:
                    next_href = answer.json().get("next") if isinstance(answer.json(), dict) else None
                    if not next_href:
                        break
                    answer = await client.get(next_href.removeprefix(f"/{service}"))
                    body += answer.text
                assert answer.status_code in (200, 404), f"{path} {query}: {answer.status_code} {answer.text}"
                if leaks:
                    # What the caller sent comes back in a 404's detail: that names nothing new.
                    asked = {path, *map(str, query.values())}
                    seen = sorted(s for s in secrets if s in body and not any(s in a for a in asked))
                    assert not seen, f"{path} {query} shows {seen} to a reader without clearance"
                else:
                    shown_to_cleared |= {s for s in secrets if s in body}
    # The world is really there: the cleared caller sees what the reader may not.
    assert MARK in shown_to_cleared


async def test_history_of_a_resource_classified_higher_leaves_the_feed(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    async with suite.client("portfolio", pm(tokens)) as manager:
        created = (await manager.post("/v1/initiatives", json=initiative_body(chain, name="Later geheim"))).json()
        raised = await manager.patch(
            f"/v1/initiatives/{created['id']}", json={"data_classification": "secret"}, headers={"If-Match": '"1"'}
        )
        assert raised.status_code == 200
        history = (await manager.get("/v1/changes", params={"subject": created["href"]})).json()["items"]
        assert len(history) == 2
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        assert (await reader.get(f"/v1/initiatives/{created['id']}")).status_code == 404
        feed = await reader.get("/v1/changes", params={"subject": created["href"]})
        assert feed.json()["items"] == []  # not even the event from when it was internal
        assert created["href"] not in {
            e["subject"] for e in (await reader.get("/v1/changes?limit=100")).json()["items"]
        }
    async with suite.client("portfolio", tokens("reader", clearance="secret")) as cleared:
        assert len((await cleared.get("/v1/changes", params={"subject": created["href"]})).json()["items"]) == 2
