"""Expansion on the real portfolio: initiatives and rounds, across services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.gateway.conftest import Rig, chain_body, create
from tests.support import Tokens

PERSON = {"subject": "u-pm", "name": "P. Manager", "unit": "Dienst IV"}


def initiative_body(name: str, chain: str, programme: str | None, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value_chain": {"href": chain},
        **({"programme": {"href": programme}} if programme else {}),
        "kind": "renewal",
        "funding": "structural",
        "budget_eur": 100_000,
        "start": "2027-01-01",
        "end": "2027-12-31",
        "hosting": "own_platform",
        "data_classification": "internal",
        **overrides,
    }


@dataclass
class Portfolio:
    chains: list[dict[str, Any]]
    programme: dict[str, Any]
    initiatives: list[dict[str, Any]]
    confidential: dict[str, Any]
    round: dict[str, Any]


@pytest.fixture
async def portfolio(rig: Rig, tokens: Tokens) -> Portfolio:
    async with rig.client(tokens("admin", clearance="secret")) as admin:
        chains = [await create(admin, "/valuechains/v1/chains", chain_body(f"Keten {i}")) for i in range(2)]
        programme = await create(
            admin,
            "/portfolio/v1/programmes",
            {"code": "GWP", "name": "Gateway programme", "ambition": "Join by reference.", "owner": PERSON},
        )
        initiatives = [
            await create(
                admin,
                "/portfolio/v1/initiatives",
                initiative_body(f"Initiative {i}", chains[i % 2]["href"], programme["href"] if i < 2 else None),
            )
            for i in range(3)
        ]
        confidential = await create(
            admin,
            "/portfolio/v1/initiatives",
            initiative_body("Hidden", chains[0]["href"], None, data_classification="confidential"),
        )
        round_ = await create(
            admin,
            "/portfolio/v1/rounds",
            {"name": "Gateway round", "period": "2027-T1", "target": {"run": 60, "renewal": 40}},
        )
        for rank, initiative in enumerate(initiatives, start=1):
            answer = await admin.post(
                f"/portfolio/v1/rounds/{round_['id']}/items",
                json={"initiative": {"href": initiative["href"]}, "rank": rank * 10, "decision": "start"},
            )
            assert answer.status_code == 201, answer.text
        assert (await admin.get("/openapi.json")).status_code == 200
    return Portfolio(chains, programme, initiatives, confidential, round_)


def sent_since(rig: Rig, mark: int) -> list[tuple[str, str, list[str]]]:
    return [
        (r.url.host, r.url.path, sorted(v for k, v in parse_qsl(r.url.query.decode()) if k == "id"))
        for r in rig.transport.requests[mark:]
    ]


async def test_initiatives_expand_value_chain_and_programme(rig: Rig, portfolio: Portfolio, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        mark = rig.mark()
        answer = await client.get("/portfolio/v1/initiatives", params={"expand": "value_chain,programme"})
    assert answer.status_code == 200, answer.text
    items = {i["name"]: i for i in answer.json()["items"]}
    assert "Hidden" not in items  # need to know: the list itself is the service's answer
    assert items["Initiative 0"]["value_chain"] == portfolio.chains[0]
    assert items["Initiative 1"]["value_chain"] == portfolio.chains[1]
    assert items["Initiative 0"]["programme"] == portfolio.programme
    assert items["Initiative 2"]["programme"] is None
    sent = sent_since(rig, mark)
    assert sent[0] == ("portfolio.test", "/v1/initiatives", [])
    # One batch per collection, for exactly what the page points at (other tests' committed
    # initiatives may be on the page too: what they point at is in the same batch).
    listed = answer.json()["items"]
    chains = sorted({i["value_chain"]["id"] for i in listed})
    programmes = sorted({i["programme"]["id"] for i in listed if i["programme"] is not None})
    assert {c["id"] for c in portfolio.chains} <= set(chains) and portfolio.programme["id"] in programmes
    assert sorted(sent[1:]) == [
        ("portfolio.test", "/v1/programmes", programmes),
        ("valuechains.test", "/v1/chains", chains),
    ]


async def test_round_items_initiative_value_chain(rig: Rig, portfolio: Portfolio, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        mark = rig.mark()
        answer = await client.get(
            f"/portfolio/v1/rounds/{portfolio.round['id']}", params={"expand": "items.initiative.value_chain"}
        )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["initiative"]["name"] for item in items] == ["Initiative 0", "Initiative 1", "Initiative 2"]
    assert [item["initiative"]["value_chain"]["name"] for item in items] == ["Keten 0", "Keten 1", "Keten 0"]
    assert sent_since(rig, mark) == [
        ("portfolio.test", f"/v1/rounds/{portfolio.round['id']}", []),
        ("portfolio.test", "/v1/initiatives", sorted(i["id"] for i in portfolio.initiatives)),
        ("valuechains.test", "/v1/chains", sorted(c["id"] for c in portfolio.chains)),
    ]


async def test_hidden_confidential_initiative_behind_a_reference(
    rig: Rig, portfolio: Portfolio, tokens: Tokens
) -> None:
    """Resolving references the way expansion does: a confidential initiative is, for someone
    without clearance, exactly a reference to nothing. (Nothing in the portfolio that a reader can
    see points at one, since round items hide such initiatives, so this asks the resolver directly;
    tests/gateway/test_expansion.py covers the same through an expanded response.)"""
    from gateway.expansion import Expander

    expander = Expander(rig.upstreams, tokens("reader")["Authorization"])
    cleared = Expander(rig.upstreams, tokens("reader", clearance="confidential")["Authorization"])
    href = portfolio.confidential["href"]
    hidden = await expander.resolve([href, portfolio.initiatives[0]["href"]])
    shown = await cleared.resolve([href])
    assert hidden[href] == {
        "href": href,
        "error": {
            "type": "/problems/not-found",
            "title": "Not found",
            "status": 404,
            "detail": f"no resource at {href}",
        },
    }
    assert hidden[portfolio.initiatives[0]["href"]]["name"] == "Initiative 0"
    assert shown[href]["name"] == "Hidden"


async def test_bad_expand_paths_on_initiatives(rig: Rig, portfolio: Portfolio, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        budget = await client.get("/portfolio/v1/initiatives", params={"expand": "budget_eur"})
        chain_owner = await client.get("/portfolio/v1/initiatives", params={"expand": "value_chain.owner"})
    assert budget.status_code == 400 and "'budget_eur' is not a reference" in budget.json()["detail"]
    assert chain_owner.status_code == 400 and "'owner' is not a reference" in chain_owner.json()["detail"]


async def test_ebos_expand_value_chain_with_need_to_know(rig: Rig, portfolio: Portfolio, tokens: Tokens) -> None:
    async with rig.client(tokens("admin", clearance="secret")) as admin:
        for name, classification in (("Open EBO", "internal"), ("Closed EBO", "confidential")):
            await create(
                admin,
                "/portfolio/v1/ebos",
                {
                    "name": name,
                    "unit": "Eenheid Utrecht",
                    "value_chain": {"href": portfolio.chains[1]["href"]},
                    "hosting": "own_platform",
                    "data_classification": classification,
                },
            )
    async with rig.client(tokens("reader", unit="Eenheid Limburg")) as client:
        mark = rig.mark()
        answer = await client.get("/portfolio/v1/ebos", params={"expand": "value_chain"})
    assert answer.status_code == 200, answer.text
    ebos = {e["name"]: e for e in answer.json()["items"]}
    assert "Closed EBO" not in ebos
    assert ebos["Open EBO"]["value_chain"] == portfolio.chains[1]
    assert sent_since(rig, mark)[1:] == [("valuechains.test", "/v1/chains", [portfolio.chains[1]["id"]])]
