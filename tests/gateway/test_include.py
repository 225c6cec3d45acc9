"""``?include=``: the resources that point at one resource, embedded, one list request per collection.

A world of two chains, each with teams, applications and initiatives, some of them confidential, and
manual assessments of a chain, a team and initiatives; the gateway in front of the real services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway.include import include_table
from services.chassis.schema_index import SchemaIndex
from tests.gateway.conftest import Rig, chain_body, create
from tests.gateway.test_initiatives import initiative_body
from tests.principles.helpers import principle_body
from tests.support import Tokens
from tests.valuechains.helpers import application_body, team_body

CHAIN_COLLECTIONS = ["teams", "applications", "initiatives", "assessments"]


@dataclass
class World:
    chain: dict[str, Any]
    other: dict[str, Any]
    teams: list[dict[str, Any]]
    applications: dict[str, dict[str, Any]]
    initiatives: dict[str, dict[str, Any]]
    assessments: dict[str, dict[str, Any]]


def names(collection: dict[str, Any]) -> set[str]:
    return {item["name"] for item in collection["items"]}


@pytest.fixture
async def world(rig: Rig, tokens: Tokens) -> World:
    async with rig.client(tokens("admin", clearance="secret")) as admin:
        chain = await create(admin, "/valuechains/v1/chains", chain_body("Keten Geheel"))
        other = await create(admin, "/valuechains/v1/chains", chain_body("Keten Anders"))
        teams = [
            await create(admin, f"/valuechains/v1/chains/{chain['id']}/teams", team_body(name=f"Team {i}"))
            for i in range(3)
        ]
        await create(admin, f"/valuechains/v1/chains/{other['id']}/teams", team_body(name="Team elders"))
        applications = {
            name: await create(
                admin,
                f"/valuechains/v1/chains/{owner['id']}/applications",
                application_body(name=name, data_classification=classification),
            )
            for name, owner, classification in [
                ("Open app", chain, "internal"),
                ("Secret app", chain, "confidential"),
                ("Other app", other, "internal"),
            ]
        }
        initiatives = {
            name: await create(
                admin,
                "/portfolio/v1/initiatives",
                initiative_body(name, owner["href"], None, data_classification=classification),
            )
            for name, owner, classification in [
                ("Open renewal", chain, "internal"),
                ("Secret renewal", chain, "confidential"),
                ("Other renewal", other, "internal"),
            ]
        }
    assessments: dict[str, dict[str, Any]] = {}
    async with rig.client(tokens("architect", clearance="secret")) as architect:
        principle = await create(
            architect,
            "/principles/v1/principles",
            principle_body(applies_to=["chain", "team", "initiative"], rule=None),
        )
        subjects = {
            "chain": chain["href"],
            "team": teams[0]["href"],
            "open": initiatives["Open renewal"]["href"],
            "secret": initiatives["Secret renewal"]["href"],
            "other": initiatives["Other renewal"]["href"],
        }
        for key, href in subjects.items():
            assessments[key] = await create(
                architect,
                "/principles/v1/assessments",
                {
                    "principle": {"href": principle["href"]},
                    "subject": {"href": href},
                    "outcome": "complies",
                    "note": f"Judged by hand ({key}).",
                },
            )
        # The merged OpenAPI document, which include is checked against, is fetched once and cached:
        # fetch it now so the tests count only the requests an include makes.
        assert (await architect.get("/openapi.json")).status_code == 200
    return World(chain, other, teams, applications, initiatives, assessments)


def count_sends(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(service, path and query) of each request the gateway itself sends from now on."""
    sent: list[tuple[str, str]] = []
    original: Callable[..., Awaitable[Any]] = rig.upstreams.send

    async def send(upstream: Any, method: str, target: str, **kwargs: Any) -> Any:
        sent.append((upstream.name, target))
        return await original(upstream, method, target, **kwargs)

    monkeypatch.setattr(rig.upstreams, "send", send)
    return sent


async def test_a_chain_includes_what_points_at_it_one_request_per_collection(
    rig: Rig, world: World, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = count_sends(rig, monkeypatch)
    async with rig.client(tokens("reader", clearance="secret")) as reader:
        answer = await reader.get(world.chain["href"], params={"include": ",".join(CHAIN_COLLECTIONS)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "Keten Geheel"  # the resource itself, as it is
    included = body["included"]
    assert list(included) == CHAIN_COLLECTIONS
    assert names(included["teams"]) == {"Team 0", "Team 1", "Team 2"}
    assert names(included["applications"]) == {"Open app", "Secret app"}
    assert names(included["initiatives"]) == {"Open renewal", "Secret renewal"}
    assessed = {a["subject"]["href"] for a in included["assessments"]["items"]}
    assert assessed == {
        world.chain["href"],
        world.teams[0]["href"],
        world.initiatives["Open renewal"]["href"],
        world.initiatives["Secret renewal"]["href"],
    }
    assert all(c["next"] is None and "error" not in c for c in included.values())
    # The resource, then exactly one list request per collection, filtered by the chain's href;
    # include never reaches the service.
    assert sent[0] == ("valuechains", f"/v1/chains/{world.chain['id']}")
    lists = {(service, urlsplit(target).path): dict(parse_qsl(urlsplit(target).query)) for service, target in sent[1:]}
    assert len(sent) == 1 + len(CHAIN_COLLECTIONS)
    assert lists == {
        ("valuechains", "/v1/teams"): {"chain": world.chain["href"], "limit": "25"},
        ("valuechains", "/v1/applications"): {"chain": world.chain["href"], "limit": "25"},
        ("portfolio", "/v1/initiatives"): {"value_chain": world.chain["href"], "limit": "25"},
        ("principles", "/v1/assessments"): {"value_chain": world.chain["href"], "limit": "25"},
    }


async def test_need_to_know_holds_for_included_items(rig: Rig, world: World, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as reader:  # no clearance beyond internal
        answer = await reader.get(world.chain["href"], params={"include": "applications,initiatives,assessments"})
    assert answer.status_code == 200, answer.text
    included = answer.json()["included"]
    assert names(included["applications"]) == {"Open app"}
    assert names(included["initiatives"]) == {"Open renewal"}
    assessed = {a["subject"]["href"] for a in included["assessments"]["items"]}
    assert world.initiatives["Secret renewal"]["href"] not in assessed
    assert world.initiatives["Open renewal"]["href"] in assessed
    assert not any("not_shown" in c for c in included.values())


async def test_included_lists_count_what_they_leave_out_when_asked(rig: Rig, world: World, tokens: Tokens) -> None:
    asked = {"include": "teams,applications,initiatives", "count_not_shown": "true"}
    async with rig.client(tokens("reader")) as reader, rig.client(tokens("reader", clearance="secret")) as cleared:
        answer = await reader.get(world.chain["href"], params=asked)
        seen = await cleared.get(world.chain["href"], params=asked)
        bad = await reader.get(world.chain["href"], params={**asked, "count_not_shown": "perhaps"})
        without_include = await reader.get(world.chain["href"], params={"count_not_shown": "true"})
    assert answer.status_code == 200, answer.text
    counts = {name: c["not_shown"] for name, c in answer.json()["included"].items()}
    assert counts == {"teams": 0, "applications": 1, "initiatives": 1}
    assert {name: c["not_shown"] for name, c in seen.json()["included"].items()} == dict.fromkeys(counts, 0)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert without_include.status_code == 400  # a resource's GET takes no count: the service says so


async def test_a_resource_one_may_not_see_includes_nothing(
    rig: Rig, world: World, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = world.initiatives["Secret renewal"]
    sent = count_sends(rig, monkeypatch)
    async with rig.client(tokens("reader")) as reader:
        answer = await reader.get(secret["href"], params={"include": "assessments"})
    assert answer.status_code == 404
    assert "included" not in answer.json()
    assert sent == [("portfolio", f"/v1/initiatives/{secret['id']}")]  # nothing listed after the 404


async def test_included_collections_are_paged_with_next(make_rig: Any, tokens: Tokens) -> None:
    async with make_rig(include_limit=2) as rig, rig.client(tokens("admin")) as admin:
        chain = await create(admin, "/valuechains/v1/chains", chain_body("Keten Lang"))
        made = {
            (await create(admin, f"/valuechains/v1/chains/{chain['id']}/teams", team_body(name=f"T{i}")))["name"]
            for i in range(5)
        }
        first = await admin.get(chain["href"], params={"include": "teams"})
        assert first.status_code == 200, first.text
        teams = first.json()["included"]["teams"]
        assert len(teams["items"]) == 2
        seen = names(teams)
        next_link = teams["next"]
        pages = 1
        while next_link:
            # A link that continues that collection's list, through the gateway.
            assert next_link.startswith("/valuechains/v1/teams?")
            page = await admin.get(next_link)
            assert page.status_code == 200, page.text
            seen |= names(page.json())
            next_link = page.json()["next"]
            pages += 1
    assert seen == made
    assert pages == 3


async def test_unknown_collection_is_400_naming_it(rig: Rig, world: World, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as reader:
        answer = await reader.get(world.chain["href"], params={"include": "teams,gadgets"})
        on_a_list = await reader.get("/valuechains/v1/chains", params={"include": "teams"})
        malformed = await reader.get(world.chain["href"], params={"include": "Teams!"})
        posted = await reader.post("/valuechains/v1/chains", params={"include": "teams"}, json={})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "'gadgets'" in answer.json()["detail"]
    assert "teams" in answer.json()["detail"]  # what can be included is named too
    assert on_a_list.status_code == 400
    assert "/valuechains/v1/chains" in on_a_list.json()["detail"]
    assert malformed.status_code == 400
    assert posted.status_code == 400
    assert "GET only" in posted.json()["detail"]


async def test_include_cannot_be_checked_while_a_description_is_missing(
    rig: Rig, world: World, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.transport.down.add("principles.test")
    rig.app.state.openapi.invalidate()
    async with rig.client(tokens("reader")) as reader:
        unknown_now = await reader.get(world.chain["href"], params={"include": "assessments"})
        known = await reader.get(world.chain["href"], params={"include": "teams"})
        sent = count_sends(rig, monkeypatch)
        await reader.head(world.chain["href"], params={"include": "teams"})
    assert unknown_now.status_code == 503
    assert "principles" in unknown_now.json()["detail"]
    assert names(known.json()["included"]["teams"]) == {"Team 0", "Team 1", "Team 2"}
    # HEAD: nothing to embed, so nothing is listed, and include is not forwarded.
    assert sent == [("valuechains", f"/v1/chains/{world.chain['id']}")]


async def test_expand_and_include_combine(rig: Rig, world: World, tokens: Tokens) -> None:
    initiative = world.initiatives["Open renewal"]
    async with rig.client(tokens("reader")) as reader:
        answer = await reader.get(initiative["href"], params={"expand": "value_chain", "include": "assessments"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["value_chain"]["name"] == "Keten Geheel"  # expanded
    items = body["included"]["assessments"]["items"]
    assert [a["href"] for a in items] == [world.assessments["open"]["href"]]  # included


async def test_an_owner_that_is_down_leaves_an_error_in_its_collection(rig: Rig, world: World, tokens: Tokens) -> None:
    rig.transport.down.add("portfolio.test")
    async with rig.client(tokens("reader")) as reader:
        answer = await reader.get(world.chain["href"], params={"include": "teams,initiatives"})
    assert answer.status_code == 200, answer.text
    included = answer.json()["included"]
    assert names(included["teams"]) == {"Team 0", "Team 1", "Team 2"}
    assert included["initiatives"]["items"] == []
    assert included["initiatives"]["error"]["status"] == 503


async def test_the_merged_openapi_documents_what_can_be_included(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as reader:
        doc = (await reader.get("/openapi.json")).json()
    operation = doc["paths"]["/valuechains/v1/chains/{id}"]["get"]
    include = next(p for p in operation["parameters"] if p["name"] == "include")
    enum = include["schema"]["items"]["enum"]
    assert set(CHAIN_COLLECTIONS) <= set(enum)
    assert {"allocations", "ebos", "explanations"} <= set(enum)
    assert "/valuechains/v1/teams?chain=" in include["description"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    included = schema["allOf"][1]["properties"]["included"]
    assert set(included["properties"]) == set(enum)
    assert included["properties"]["teams"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/TeamRead"}
    # Derived from the lists' reference filters: a programme includes its initiatives, a principle
    # its assessments and explanations (a programme is
    # also a subject); a list has no include, nor a resource nothing points at.
    programme = doc["paths"]["/portfolio/v1/programmes/{id}"]["get"]
    assert next(p for p in programme["parameters"] if p["name"] == "include")["schema"]["items"]["enum"] == [
        "assessments",
        "explanations",
        "initiatives",
        "simplicity-reviews",
    ]
    principle = doc["paths"]["/principles/v1/principles/{id}"]["get"]
    assert next(p for p in principle["parameters"] if p["name"] == "include")["schema"]["items"]["enum"] == [
        "assessments",
        "explanations",
    ]
    assert all(p["name"] != "include" for p in doc["paths"]["/valuechains/v1/chains"]["get"]["parameters"])


def test_the_more_specific_filter_wins_and_shared_names_are_qualified() -> None:
    def listing(item: str, parameters: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string", "x-reference": t}}
                    for n, t in parameters.items()
                ],
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                                        "next": {"type": "string"},
                                    },
                                }
                            }
                        }
                    }
                },
            }
        }

    one = {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}}}
    chains = "/valuechains/v1/chains"
    doc = {
        "paths": {
            "/valuechains/v1/chains/{id}": one,
            "/principles/v1/notes": listing("Note", {"about": [chains, "/portfolio/v1/ebos"], "chain": chains}),
            "/portfolio/v1/notes": listing("Note2", {"chain": chains}),
            "/portfolio/v1/links": listing("Link", {"anything": "*"}),
        },
        "components": {"schemas": {"Note": {"type": "object"}, "Note2": {"type": "object"}}},
    }
    table = include_table(SchemaIndex(doc))
    assert set(table) == {chains}  # ebos serve no GET by id here; "*" makes nothing includable
    assert {name: (c.list_path, c.parameter) for name, c in table[chains].items()} == {
        "principles.notes": ("/principles/v1/notes", "chain"),
        "portfolio.notes": ("/portfolio/v1/notes", "chain"),
    }
