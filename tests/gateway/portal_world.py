"""A small world for the portal's tests, made through the gateway: a chain with teams, an
allocation, applications and initiatives, one of each confidential (invisible to an owner without
clearance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from tests.gateway.conftest import Rig
from tests.portfolio.helpers import initiative_body, pm
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
