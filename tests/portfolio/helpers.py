"""Shared helpers for the portfolio tests: chains in the in-process valuechains, bodies, clients."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import Suite
from tests.support import Tokens, unique_code

PM = ("portfolio_manager",)
OWNER = {"subject": "u-pm-1", "name": "P. Manager", "unit": "Dienst IV"}


def code(prefix: str) -> str:
    return unique_code(prefix)


def pm(tokens: Tokens, clearance: str = "secret") -> dict[str, str]:
    """A portfolio manager cleared for everything (need to know is tested separately)."""
    return tokens("portfolio_manager", sub="u-pm-1", clearance=clearance)


async def make_chain(suite: Suite, tokens: Tokens, name: str = "Opsporing") -> str:
    async with suite.client("valuechains", tokens("admin")) as admin:
        response = await admin.post(
            "/v1/chains",
            json={
                "code": code("K"),
                "name": name,
                "domain": "Investigation",
                "mission": "Serve investigators.",
                "owner": {"subject": "u-owner", "name": "J. de Vries", "unit": "Eenheid Rotterdam"},
            },
        )
        assert response.status_code == 201, response.text
        href: str = response.json()["href"]
        return href


def initiative_body(chain: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Digitale aangifte",
        "description": "Citizens report online.",
        "value_chain": {"href": chain},
        "kind": "renewal",
        "funding": "structural",
        "budget_eur": 1_000_000,
        "start": "2026-01-01",
        "end": "2026-12-31",
        "hosting": "own_platform",
        "data_classification": "internal",
        **overrides,
    }


def ebo_body(unit: str = "Eenheid Rotterdam", **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Verhoorplanner",
        "unit": unit,
        "description": "Plans interview rooms and interpreters.",
        "hosting": "own_platform",
        "data_classification": "internal",
        "users": 40,
        **overrides,
    }


def round_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Ronde test", "period": "2026-T3", "target": {"run": 60, "renewal": 40}, **overrides}


async def created(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def patched(client: httpx2.AsyncClient, path: str, body: dict[str, Any], version: int) -> dict[str, Any]:
    response = await client.patch(path, json=body, headers={"If-Match": f'"{version}"'})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def local(href: str) -> str:
    """A gateway href as a path on the service itself."""
    return href.removeprefix("/portfolio")


async def events(client: httpx2.AsyncClient, subject: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"subject": subject, "limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
