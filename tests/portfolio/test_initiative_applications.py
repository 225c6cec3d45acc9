"""Initiatives name the applications they renew, replace or retire: references checked with
valuechains on write, kept with the initiative, listed by application, and pointing at them."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import Suite
from tests.portfolio.helpers import created, initiative_body, make_chain, pm
from tests.support import Tokens
from tests.valuechains.helpers import application_body


async def make_application(suite: Suite, tokens: Tokens, chain: str, **overrides: Any) -> str:
    async with suite.client("valuechains", tokens("admin")) as admin:
        answer = await admin.post(
            f"{chain.removeprefix('/valuechains')}/applications", json=application_body(**overrides)
        )
        assert answer.status_code == 201, answer.text
        href: str = answer.json()["href"]
        return href


def named(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"application": {"href": href}, "effect": effect} for href, effect in pairs]


async def changes_of(client: httpx2.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/changes", params={"limit": 100})).json()["items"]
    return items


async def test_an_initiative_names_the_applications_it_renews_replaces_or_retires(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    old, other = await make_application(suite, tokens, chain, name="Oud"), await make_application(suite, tokens, chain)
    async with suite.client("portfolio", pm(tokens)) as client:
        item = await created(
            client, "/v1/initiatives", initiative_body(chain, applications=named((old, "retires"), (other, "renews")))
        )
        # Kept in href order, each with its effect.
        assert item["applications"] == sorted(
            named((old, "retires"), (other, "renews")), key=lambda a: a["application"]["href"]
        )
        assert (await client.get(f"/v1/initiatives/{item['id']}")).json()["applications"] == item["applications"]
        plain = await created(client, "/v1/initiatives", initiative_body(chain, name="Zonder"))
        assert plain["applications"] == []

        # PATCH replaces the whole list; the feed shows it as [old, new].
        url = f"/v1/initiatives/{item['id']}"
        answer = await client.patch(url, json={"applications": named((old, "replaces"))}, headers={"If-Match": '"1"'})
        assert answer.status_code == 200, answer.text
        assert answer.json()["applications"] == named((old, "replaces")) and answer.json()["version"] == 2
        events = (await client.get("/v1/changes", params={"subject": item["href"]})).json()["items"]
        assert events[-1]["changes"] == {"applications": [item["applications"], named((old, "replaces"))]}
        # The same list again changes nothing; null is refused (send [] for none).
        same = await client.patch(url, json={"applications": named((old, "replaces"))}, headers={"If-Match": '"2"'})
        assert same.status_code == 200 and same.json()["version"] == 2
        null = await client.patch(url, json={"applications": None}, headers={"If-Match": '"2"'})
        assert null.status_code == 422, null.text
        cleared = await client.patch(url, json={"applications": []}, headers={"If-Match": '"2"'})
        assert cleared.status_code == 200 and cleared.json()["applications"] == []


async def test_initiatives_are_listed_by_the_applications_they_address(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    a, b, c = [await make_application(suite, tokens, chain, name=n) for n in ("A", "B", "C")]
    async with suite.client("portfolio", pm(tokens)) as client:
        first = await created(
            client, "/v1/initiatives", initiative_body(chain, name="1", applications=named((a, "retires")))
        )
        second = await created(
            client,
            "/v1/initiatives",
            initiative_body(chain, name="2", applications=named((b, "renews"), (a, "replaces"))),
        )
        await created(client, "/v1/initiatives", initiative_body(chain, name="3", applications=named((c, "renews"))))
        await created(client, "/v1/initiatives", initiative_body(chain, name="4"))

        async def ids(*hrefs: str) -> list[str]:
            answer = await client.get("/v1/initiatives", params=[("application", h) for h in hrefs])
            assert answer.status_code == 200, answer.text
            return sorted(i["id"] for i in answer.json()["items"])

        assert await ids(a) == sorted([first["id"], second["id"]])
        assert await ids(b) == [second["id"]]
        # Multi-valued: every value counts, and an initiative naming two of them is listed once.
        assert len(await ids(a, b, c)) == 3
        assert await ids("/valuechains/v1/applications/nobody") == []
        # Combined with the other filters (AND).
        answer = await client.get("/v1/initiatives", params=[("application", a), ("kind", "maintenance")])
        assert answer.json()["items"] == []
        too_many = await client.get("/v1/initiatives", params=[("application", a)] * 101)
        assert too_many.status_code == 422

        # The references answer names the initiatives that point at an application.
        refs = await client.get("/v1/references", params={"target": a})
        assert refs.status_code == 200, refs.text
        found = {(r["href"], r["field"]) for r in refs.json()["items"]}
        assert found == {(first["href"], "applications"), (second["href"], "applications")}


async def test_application_references_are_checked_with_valuechains(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    app = await make_application(suite, tokens, chain)
    secret = await make_application(suite, tokens, chain, name="Geheim", data_classification="secret")
    async with suite.client("portfolio", pm(tokens, clearance="internal")) as client:
        before = await changes_of(client)
        cases: list[tuple[list[dict[str, Any]], str]] = [
            (
                named(
                    (app, "renews"), ("/valuechains/v1/applications/019a0000-9999-7000-8000-000000000001", "retires")
                ),
                "applications.1.application",
            ),
            (named((secret, "retires")), "applications.0.application"),  # invisible to this manager: as unknown
            (named((app, "renews"), (app, "retires")), "applications.1.application"),
            (named((app, "removes")), "effect"),
            (
                named(("/valuechains/v1/chains/" + chain.rsplit("/", 1)[1], "retires")),
                "application",
            ),  # not an application
        ]
        for applications, field in cases:
            answer = await client.post(
                "/v1/initiatives", json=initiative_body(chain, name="Fout", applications=applications)
            )
            assert answer.status_code == 422, (field, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            locs = [".".join(str(part) for part in error["loc"][1:]) for error in answer.json()["errors"]]
            assert any(field in loc for loc in locs), (field, answer.text)
        assert await changes_of(client) == before  # nothing stored
    async with suite.client("portfolio", pm(tokens)) as cleared:
        ok = await cleared.post("/v1/initiatives", json=initiative_body(chain, applications=named((secret, "retires"))))
        assert ok.status_code == 201, ok.text


async def test_valuechains_down_is_503_for_an_initiative_naming_applications(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    app = await make_application(suite, tokens, chain)
    async with suite.client("portfolio", pm(tokens)) as client:
        item = await created(client, "/v1/initiatives", initiative_body(chain))
        suite.transport.down.add("valuechains.test")
        try:
            before = await changes_of(client)
            answer = await client.patch(
                f"/v1/initiatives/{item['id']}",
                json={"applications": named((app, "retires"))},
                headers={"If-Match": '"1"'},
            )
            assert answer.status_code == 503, answer.text
            assert await changes_of(client) == before
        finally:
            suite.transport.down.discard("valuechains.test")
        assert (await client.get(f"/v1/initiatives/{item['id']}")).json()["applications"] == []
