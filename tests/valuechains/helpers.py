"""Helpers for the valuechains tests: unique chains and the tokens of their owners."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2

from tests.support import Tokens


def unique(prefix: str = "T") -> str:
    """Codes and subjects unique across tests (committed tests leave their rows behind)."""
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def owner_of(subject: str | None = None) -> dict[str, str]:
    subject = subject or unique("u-")
    return {"subject": subject, "name": f"Owner {subject}", "unit": "Eenheid Rotterdam"}


def chain_body(code: str | None = None, owner: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code or unique(),
        "name": "Testketen",
        "domain": "Criminal investigation",
        "mission": "Equip investigators.",
        "owner": owner or owner_of(),
        **overrides,
    }


async def make_chain(admin: httpx2.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await admin.post("/v1/chains", json=chain_body(**overrides))
    assert response.status_code == 201, response.text
    chain: dict[str, Any] = response.json()
    return chain


def owner_token(tokens: Tokens, chain: dict[str, Any]) -> dict[str, str]:
    return tokens("chain_owner", sub=chain["owner"]["subject"])


def team_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Zaakdossier Alpha", "fte_internal": 6.5, "fte_hired": 2, "maturity": 3, **overrides}


async def make_team(client: httpx2.AsyncClient, chain: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/chains/{chain['id']}/teams", json=team_body(**overrides))
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


def split(maintenance: int = 60, security: int = 15, renewal: int = 25, **overrides: Any) -> dict[str, Any]:
    return {
        "maintenance": maintenance,
        "security": security,
        "renewal": renewal,
        "budget_eur": 1_000_000,
        "rationale": "Keep the lights on, renew where it counts.",
        **overrides,
    }


async def events_for(client: httpx2.AsyncClient, href: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"subject": href, "limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def application_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Zaakregistratie Opsporing",
        "category": "registration",
        "disposition": "invest",
        "supported_until": "2030-12-31",
        "last_release": "2026-10-01",
        "findings": {"critical": 0, "high": 2, "medium": 5, "low": 11},
        "hosting": "own_platform",
        "data_classification": "internal",
        **overrides,
    }


async def make_application(client: httpx2.AsyncClient, chain: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/chains/{chain['id']}/applications", json=application_body(**overrides))
    assert response.status_code == 201, response.text
    application: dict[str, Any] = response.json()
    return application


def findings(critical: int = 0, high: int = 0, medium: int = 0, low: int = 0) -> dict[str, int]:
    return {"critical": critical, "high": high, "medium": medium, "low": low}
