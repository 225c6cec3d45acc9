"""A small world for the portal's tests, made through the gateway: a chain with teams, an
allocation, applications and initiatives, one of each confidential (invisible to an owner without
clearance)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx2

from tests.gateway.conftest import Rig
from tests.portfolio.helpers import initiative_body, pm
from tests.principles.helpers import initiative_body as subject_initiative
from tests.principles.helpers import principle_body
from tests.support import Tokens
from tests.valuechains.helpers import application_body, chain_body, owner_of, split, team_body, unique

OWNER = "u-portal-owner"


@dataclass
class PortalWorld:
    chain: dict[str, Any]
    teams: list[dict[str, Any]]
    applications: list[dict[str, Any]]
    initiatives: list[dict[str, Any]]


async def created(client: httpx2.AsyncClient, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.request(method, path, json=body)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


async def make_portal_world(rig: Rig, tokens: Tokens) -> PortalWorld:
    async with rig.client(tokens("admin")) as admin:
        body = chain_body(unique("PRT"), owner=owner_of(OWNER), name="Portaalketen")
        chain = await created(admin, "POST", "/valuechains/v1/chains", body)
    base = f"/valuechains/v1/chains/{chain['id']}"
    async with rig.client(owner_headers(tokens, clearance="confidential")) as client:
        teams = [
            await created(client, "POST", f"{base}/teams", team_body(name="Team Een", fte_internal=6, fte_hired=2)),
            await created(
                client, "POST", f"{base}/teams", team_body(name="Team Twee", fte_internal=3, fte_partner=1.5)
            ),
        ]
        applications = [
            await created(client, "POST", f"{base}/applications", application_body(name="Open register")),
            await created(
                client,
                "POST",
                f"{base}/applications",
                application_body(name="Geheim register", data_classification="confidential"),
            ),
        ]
        await created(client, "PUT", f"{base}/allocations/2027", split(rationale="Eerst de basis op orde."))
    async with rig.client(pm(tokens)) as manager:
        initiatives = [
            await created(
                manager, "POST", "/portfolio/v1/initiatives", initiative_body(chain["href"], name="Open aangifte")
            ),
            await created(
                manager,
                "POST",
                "/portfolio/v1/initiatives",
                initiative_body(chain["href"], name="Geheim onderzoek", data_classification="confidential"),
            ),
        ]
    return PortalWorld(chain, teams, applications, initiatives)


def owner_headers(tokens: Tokens, clearance: str | None = None) -> dict[str, str]:
    return tokens("chain_owner", sub=OWNER, clearance=clearance)


@dataclass
class PortfolioWorld:
    previous: dict[str, Any]
    current: dict[str, Any]


async def make_portfolio_world(rig: Rig, tokens: Tokens) -> PortfolioWorld:
    """Two rounds: the first closed with three initiatives, one of them confidential; the second
    open, started from it, with one decision changed (maintenance stopped)."""
    async with rig.client(tokens("admin")) as admin:
        chain = await created(admin, "POST", "/valuechains/v1/chains", chain_body(unique("PRF"), name="Portfolioketen"))
    async with rig.client(tokens("portfolio_manager", clearance="secret")) as manager:
        initiatives = [
            await created(
                manager,
                "POST",
                "/portfolio/v1/initiatives",
                initiative_body(chain["href"], name=name, kind=kind, data_classification=level),
            )
            for name, kind, level in (
                ("Digitale aangifte", "renewal", "internal"),
                ("Beheer telefonie", "maintenance", "internal"),
                ("Geheime vernieuwing", "renewal", "confidential"),
            )
        ]
        body = {"name": "Ronde een", "period": "2026-T2", "target": {"run": 60, "renewal": 40}}
        first = await created(manager, "POST", "/portfolio/v1/rounds", body)
        for rank, initiative in enumerate(initiatives, start=1):
            item = {"initiative": {"href": initiative["href"]}, "rank": rank * 10, "decision": "continue"}
            await created(manager, "POST", f"{first['href']}/items", item)
        await created(manager, "POST", f"{first['href']}/open", {})
        first = await created(manager, "POST", f"{first['href']}/close", {})
        body = {
            "name": "Ronde twee",
            "period": "2026-T3",
            "target": {"run": 55, "renewal": 45},
            "from_round": {"href": first["href"]},
        }
        second = await created(manager, "POST", "/portfolio/v1/rounds", body)
        items = (await manager.get(f"{second['href']}/items")).json()["items"]
        stopped = next(i for i in items if i["initiative"]["href"] == initiatives[1]["href"])
        answer = await manager.patch(
            stopped["href"],
            json={"decision": "stop", "note": "Naar de generieke voorziening."},
            headers={"If-Match": f'"{stopped["version"]}"'},
        )
        assert answer.status_code == 200, answer.text
        second = await created(manager, "POST", f"{second['href']}/open", {})
    return PortfolioWorld(first, second)


REQUESTER = "u-portal-arch-asks"
DECIDER = "u-portal-arch-decides"


@dataclass
class ExplainWorld:
    chain: dict[str, Any]
    principle: dict[str, Any]
    initiatives: list[dict[str, Any]]
    explanation: dict[str, Any]


async def make_explain_world(rig: Rig, tokens: Tokens, chain: dict[str, Any]) -> ExplainWorld:
    """An active principle (budget at most 1.5 M), two initiatives of ``chain`` that deviate from it
    (one confidential), evaluated, and an explanation for the open one requested by ``REQUESTER``."""
    async with rig.client(tokens("admin", clearance="secret")) as admin:
        initiatives = [
            await created(admin, "POST", "/portfolio/v1/initiatives", subject_initiative(chain, budget_eur=2_000_000)),
            await created(
                admin,
                "POST",
                "/portfolio/v1/initiatives",
                subject_initiative(chain, budget_eur=3_000_000, data_classification="confidential"),
            ),
        ]
    async with rig.client(architect_headers(tokens, REQUESTER, clearance="secret")) as requester:
        body = principle_body(rule="subject.budget_eur <= 1500000", category="finance_control")
        principle = await created(requester, "POST", "/principles/v1/principles", body)
        for initiative in initiatives:
            await created(requester, "POST", "/principles/v1/evaluations", {"subject": {"href": initiative["href"]}})
        asked = {
            "principle": {"href": principle["href"]},
            "subject": {"href": initiatives[0]["href"]},
            "reason": "De pilot heeft dit budget nodig (test).",
            "review_by": (dt.date.today() + dt.timedelta(days=200)).isoformat(),
        }
        explanation = await created(requester, "POST", "/principles/v1/explanations", asked)
    return ExplainWorld(chain, principle, initiatives, explanation)


def architect_headers(tokens: Tokens, sub: str, clearance: str | None = None) -> dict[str, str]:
    return tokens("architect", sub=sub, clearance=clearance)
