"""Helpers for the principles tests: subjects in the other services, principles, evaluations."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import httpx2

from tests.conftest import Suite
from tests.support import Tokens

CLOUD_RULE = "!(subject.data_classification in ['confidential', 'secret']) || subject.hosting == 'own_platform'"


def unique(prefix: str = "T") -> str:
    """Codes unique across tests (committed tests leave their rows behind)."""
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def architect(tokens: Tokens, sub: str = "arch-1", clearance: str = "secret") -> dict[str, str]:
    return tokens("architect", sub=sub, clearance=clearance)


def principle_body(**overrides: Any) -> dict[str, Any]:
    return {
        "code": unique("P"),
        "category": "renewal_innovation",
        "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
        "statement": "Use cloud services first; sensitive police data stays on own platforms.",
        "rationale": "Cloud gives speed; police data cannot be exposed.",
        "implications": "Confidential and secret data is hosted on own platforms.",
        "applies_to": ["initiative"],
        "status": "active",
        **overrides,
    }


async def make_principle(client: httpx2.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/principles", json=principle_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_chain(suite: Suite, tokens: Tokens, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": unique("C"),
        "name": "Testketen",
        "domain": "Criminal investigation",
        "mission": "Equip investigators.",
        "owner": {"subject": unique("u-"), "name": "Owner (test)", "unit": "Eenheid Rotterdam"},
        **overrides,
    }
    async with suite.client("valuechains", tokens("admin")) as client:
        response = await client.post("/v1/chains", json=body)
    assert response.status_code == 201, response.text
    chain: dict[str, Any] = response.json()
    return chain


async def make_programme(suite: Suite, tokens: Tokens, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": unique("G"),
        "name": "Programma (test)",
        "ambition": "A big ambition, in small steps.",
        "owner": {"subject": unique("u-"), "name": "Owner (test)", "unit": "Dienst IV"},
        **overrides,
    }
    async with suite.client("portfolio", tokens("admin")) as client:
        response = await client.post("/v1/programmes", json=body)
    assert response.status_code == 201, response.text
    programme: dict[str, Any] = response.json()
    return programme


def initiative_body(chain: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Initiatief {unique()}",
        "value_chain": {"href": chain["href"]},
        "kind": "renewal",
        "funding": "structural",
        "budget_eur": 1_000_000,
        "start": "2026-01-01",
        "end": "2026-12-31",
        "status": "active",
        "hosting": "own_platform",
        "data_classification": "internal",
        "uses_generic_facilities": True,
        **overrides,
    }


async def make_initiative(suite: Suite, tokens: Tokens, chain: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    async with suite.client("portfolio", tokens("admin", clearance="secret")) as client:
        response = await client.post("/v1/initiatives", json=initiative_body(chain, **overrides))
    assert response.status_code == 201, response.text
    initiative: dict[str, Any] = response.json()
    return initiative


async def patch(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    current = await client.get(path)
    assert current.status_code == 200, current.text
    response = await client.patch(path, json=body, headers={"If-Match": current.headers["etag"]})
    assert response.status_code == 200, response.text
    changed: dict[str, Any] = response.json()
    return changed


async def evaluate(client: httpx2.AsyncClient, href: str, status: int = 201) -> dict[str, Any]:
    response = await client.post("/v1/evaluations", json={"subject": {"href": href}})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def of_principle(assessments: list[dict[str, Any]], principle: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in assessments if a["principle"]["href"] == principle["href"]]


def local(href: str) -> str:
    """A gateway path of this service as a path on the service itself."""
    return href.removeprefix("/principles")


async def all_pages(client: httpx2.AsyncClient, path: str, params: dict[str, Any] | None = None) -> list[Any]:
    items: list[Any] = []
    response = await client.get(path, params={"limit": 100, **(params or {})})
    while True:
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        next_href = response.json()["next"]
        if not next_href:
            return items
        response = await client.get(local(next_href))


def digest(representation: dict[str, Any]) -> str:
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
