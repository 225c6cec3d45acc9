"""How references are resolved across services (expand, include), under need to know: hrefs that
name no resource (another host, a traversal, a feed) never leave the platform's collections, a
hidden resource in the middle of a nested path hides what lies behind it, many distinct hrefs are
resolved in batches of at most 100, two callers at once each see only their own view, a chain
partner's included lists are narrowed or refused by their owners, and count_not_shown beside an
include that names nothing stays the service's (answered, or refused to a partner).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import text

from gateway.expansion import Expander
from services.chassis.partners import ALWAYS_SHOWN
from tests.gateway.conftest import Rig, World, chain_body, create
from tests.support import Tokens
from tests.valuechains.helpers import application_body, team_body

PLATFORM_HOSTS = {"valuechains.test", "widgets.test", "principles.test", "portfolio.test"}


def ids_asked(request: Any) -> list[str]:
    return [v for k, v in parse_qsl(request.url.query.decode()) if k == "id"]


async def set_column(rig: Rig, column: str, value: str | None, widget_id: str) -> None:
    db = rig.suite.apps["widgets"].state.db
    async with db.session(write=True) as session:
        await session.execute(text(f"UPDATE widgets SET {column} = :v WHERE id = :id"), {"v": value, "id": widget_id})


async def test_an_href_that_names_no_resource_is_never_fetched_anywhere(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    """A stored href that is another host, an absolute URL, a traversal, a path with a query, or
    a service's non-resource path stays the reference with a 404, and no request goes off the
    platform or to anything but a collection's batch get."""
    odd = [
        "http://evil.test/valuechains/v1/chains/x",
        "//evil.test/valuechains/v1/chains/x",
        f"/valuechains/v1/chains/../access-log/{world.chain_a['id']}",
        f"/valuechains/v1/chains/{world.chain_a['id']}/",
        f"/valuechains/v1/chains/{world.chain_a['id']}?expand=x",
        f"/valuechains/v1/chains/{world.chain_a['id']}\n",
        "/metrics",
        "/valuechains/metrics",
        "/valuechains/v1/changes",
        "/evil/v1/chains/x",
        "/references",
    ]
    path = f"/portfolio/v1/widgets/{world.w3['id']}"
    async with widget_rig.client(tokens("admin")) as admin:
        for href in odd:
            await set_column(widget_rig, "see_also", href, world.w3["id"])
            mark = widget_rig.mark()
            answer = await admin.get(path, params={"expand": "see_also"})
            assert answer.status_code == 200, (href, answer.text)
            see_also = answer.json()["see_also"]
            assert set(see_also) == {"href", "error"}, href
            assert see_also["href"] == href
            assert see_also["error"]["status"] == 404, href
            # Only the widget itself was asked for: nothing was fetched for the odd href.
            sent = widget_rig.transport.requests[mark:]
            assert [(r.url.host, r.url.path) for r in sent] == [("widgets.test", f"/v1/widgets/{world.w3['id']}")], href


async def test_a_non_collection_path_of_a_service_resolves_to_nothing(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    """``/<service>/v1/changes/<n>`` parses as an href, so its batch get is asked; the feed takes no
    ``id`` and its events are never embedded as if they were a resource, even for an admin."""
    async with widget_rig.client(tokens("admin")) as admin:
        feed = (await admin.get("/valuechains/v1/changes", params={"limit": 1})).json()
    event_id = str(feed["items"][0].get("id", feed["items"][0].get("seq", 1))) if feed.get("items") else "1"
    path = f"/portfolio/v1/widgets/{world.w3['id']}"
    async with widget_rig.client(tokens("admin")) as admin:
        for href in (
            f"/valuechains/v1/changes/{event_id}",
            f"/valuechains/v1/references/{world.chain_a['id']}",
            f"/valuechains/v1/access-log/{event_id}",
        ):
            await set_column(widget_rig, "see_also", href, world.w3["id"])
            mark = widget_rig.mark()
            answer = await admin.get(path, params={"expand": "see_also"})
            assert answer.status_code == 200, answer.text
            see_also = answer.json()["see_also"]
            assert set(see_also) == {"href", "error"} and see_also["error"]["status"] == 404, (href, see_also)
            hosts = {r.url.host for r in widget_rig.transport.requests[mark:]}
            assert hosts <= PLATFORM_HOSTS


async def test_a_hidden_resource_in_a_nested_path_hides_what_lies_behind_it(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    """``gadget.chain`` for a reader not cleared for w2's confidential gadget: the gadget stays its
    href with a 404, and its chain is not looked up at all (that would tell where it points)."""
    async with widget_rig.client(tokens("reader")) as reader:
        mark = widget_rig.mark()
        answer = await reader.get("/portfolio/v1/widgets", params={"expand": "gadget.chain", "limit": 100})
    assert answer.status_code == 200, answer.text
    items = {w["name"]: w for w in answer.json()["items"]}
    assert set(items["w2"]["gadget"]) == {"href", "error"}
    assert items["w2"]["gadget"]["error"]["status"] == 404
    assert items["w1"]["gadget"]["chain"] == world.chain_a
    level_two = [r for r in widget_rig.transport.requests[mark:] if r.url.host == "valuechains.test"]
    assert [ids_asked(r) for r in level_two] == [[world.chain_a["id"]]]  # chain_b, behind the hidden gadget: not asked


async def test_many_distinct_hrefs_are_resolved_in_batches_of_at_most_100(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    header = tokens("reader")
    fakes = [f"/valuechains/v1/chains/019a0000-0000-7000-8000-{i:012x}" for i in range(148)]
    hrefs = [world.chain_a["href"], *fakes, world.chain_b["href"]]
    mark = widget_rig.mark()
    resolved = await Expander(widget_rig.upstreams, header["Authorization"]).resolve(hrefs)
    sent = widget_rig.transport.requests[mark:]
    assert [(r.url.host, r.url.path) for r in sent] == [("valuechains.test", "/v1/chains")] * 2
    assert sorted(len(ids_asked(r)) for r in sent) == [50, 100]
    assert {i for r in sent for i in ids_asked(r)} == {h.rsplit("/", 1)[1] for h in hrefs}
    assert {r.headers["authorization"] for r in sent} == {header["Authorization"]}
    assert resolved[world.chain_a["href"]] == world.chain_a
    assert resolved[world.chain_b["href"]] == world.chain_b
    assert all(resolved[h]["error"]["detail"] == f"no resource at {h}" for h in fakes)


async def test_two_callers_at_once_each_see_only_their_own_view(widget_rig: Rig, world: World, tokens: Tokens) -> None:
    """The same page expanded for a cleared and an uncleared reader at the same time: nothing of
    one caller's answer reaches the other's."""
    path = f"/portfolio/v1/widgets/{world.w2['id']}"
    async with (
        widget_rig.client(tokens("reader")) as uncleared,
        widget_rig.client(tokens("reader", clearance="confidential")) as cleared,
    ):
        answers = await asyncio.gather(
            *(client.get(path, params={"expand": "gadget,chain"}) for _ in range(3) for client in (uncleared, cleared))
        )
    for i, answer in enumerate(answers):
        assert answer.status_code == 200, answer.text
        gadget = answer.json()["gadget"]
        if i % 2 == 0:
            assert set(gadget) == {"href", "error"} and "secret gadget" not in answer.text
        else:
            assert gadget == world.gadget_confidential


async def test_the_same_href_twice_on_a_page_is_fetched_once_and_shown_at_both(
    widget_rig: Rig, world: World, tokens: Tokens
) -> None:
    async with widget_rig.client(tokens("reader")) as reader:
        mark = widget_rig.mark()
        answer = await reader.get("/portfolio/v1/widgets", params={"expand": "chain,see_also", "limit": 100})
    items = {w["name"]: w for w in answer.json()["items"]}
    # chain_b is w2's chain and w3's see_also; chain_a is w1's and w3's chain.
    assert items["w2"]["chain"] == items["w3"]["see_also"] == world.chain_b
    assert items["w1"]["chain"] == items["w3"]["chain"] == world.chain_a
    chains = [r for r in widget_rig.transport.requests[mark:] if r.url.host == "valuechains.test"]
    assert len(chains) == 1 and sorted(ids_asked(chains[0])) == sorted([world.chain_a["id"], world.chain_b["id"]])


def om(tokens: Tokens) -> dict[str, str]:
    return tokens("partner", sub="u-om-include", partner_org="OM")


async def test_a_partners_included_lists_are_narrowed_or_refused_by_their_owners(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("admin", clearance="secret")) as admin:
        chain = await create(admin, "/valuechains/v1/chains", chain_body("Keten Partner"))
        await create(admin, f"/valuechains/v1/chains/{chain['id']}/teams", team_body(name="Team P"))
        for name, classification in [("Open P", "internal"), ("Secret P", "confidential")]:
            await create(
                admin,
                f"/valuechains/v1/chains/{chain['id']}/applications",
                application_body(name=name, data_classification=classification),
            )
        assert (await admin.get("/openapi.json")).status_code == 200
    header = om(tokens)
    async with rig.client(header) as partner:
        mark = rig.mark()
        answer = await partner.get(chain["href"], params={"include": "applications,teams"})
        sent = rig.transport.requests[mark:]
        counted = await partner.get(chain["href"], params={"include": "applications,teams", "count_not_shown": "true"})
    assert answer.status_code == 200, answer.text
    included = answer.json()["included"]
    shown = set(ALWAYS_SHOWN) | {"name", "chain", "category", "disposition", "supported_until", "hosting"}
    assert [item["name"] for item in included["applications"]["items"]] == ["Open P"]
    assert all(set(item) <= shown for item in included["applications"]["items"])
    assert "findings" not in answer.text and "Secret P" not in answer.text
    assert included["teams"]["items"] == [] and included["teams"]["error"]["status"] == 403
    assert "Team P" not in answer.text
    assert {r.headers["authorization"] for r in sent} == {header["Authorization"]}
    # count_not_shown is not open to a partner: every included list is refused, none counts.
    assert counted.status_code == 200, counted.text
    for listed in counted.json()["included"].values():
        assert listed["items"] == [] and listed["error"]["status"] == 403 and "not_shown" not in listed


async def test_count_not_shown_beside_an_empty_include_is_not_dropped(rig: Rig, tokens: Tokens) -> None:
    """``include=`` names nothing, so nothing is included; ``count_not_shown`` must then go to the
    list as the caller sent it (or be refused), not be dropped silently: a partner, to whom any
    ``count_not_shown`` is 403, would otherwise get an answer the rule says they cannot have, and a
    reader a page without the count they asked for."""
    async with rig.client(tokens("reader")) as reader:
        plain = await reader.get("/valuechains/v1/chains", params={"count_not_shown": "true", "limit": 1})
        beside = await reader.get(
            "/valuechains/v1/chains", params={"include": "", "count_not_shown": "true", "limit": 1}
        )
    async with rig.client(om(tokens)) as partner:
        refused = await partner.get("/valuechains/v1/chains", params={"count_not_shown": "true", "limit": 1})
        through = await partner.get(
            "/valuechains/v1/chains", params={"include": "", "count_not_shown": "true", "limit": 1}
        )
    assert plain.status_code == 200 and "not_shown" in plain.json()
    assert refused.status_code == 403
    assert beside.status_code == 400 or "not_shown" in beside.json(), beside.text
    assert through.status_code in (400, 403), through.text
