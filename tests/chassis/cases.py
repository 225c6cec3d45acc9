"""Sample bodies for every collection that has the standard endpoints, so contract tests run on each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support import unique_code

_code = unique_code


@dataclass(frozen=True)
class Case:
    service: str
    collection: str
    writer: tuple[str, ...]
    body: Callable[[], dict[str, Any]]
    change: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.service}/{self.collection}"

    @property
    def path(self) -> str:
        return f"/v1/{self.collection}"


PERSON = {"subject": "u-case-owner", "name": "Case Owner", "unit": "Eenheid Utrecht"}

CASES = [
    Case(
        "valuechains",
        "chains",
        ("admin",),
        lambda: {
            "code": _code("C"),
            "name": "Keten",
            "domain": "Investigation",
            "mission": "Serve investigators.",
            "owner": PERSON,
        },
        {"mission": "Changed mission."},
    ),
    Case(
        "portfolio",
        "programmes",
        ("portfolio_manager",),
        lambda: {"code": _code("P"), "name": "Programma", "ambition": "Big ambition.", "owner": PERSON},
        {"ambition": "Changed ambition."},
    ),
    Case(
        "principles",
        "principles",
        ("architect",),
        lambda: {
            "code": _code("R"),
            "category": "data_privacy",
            "title": "Data op één plek",
            "statement": "Data is recorded once.",
            "rationale": "One source of truth.",
            "implications": "No copies.",
            "applies_to": ["initiative"],
        },
        {"title": "Data op één plek, meervoudig gebruik"},
    ),
]


def case_ids() -> list[str]:
    return [c.id for c in CASES]


def application(name: str, classification: str, **findings: int) -> dict[str, Any]:
    """The body of an application (valuechains, under a chain) of that classification."""
    return {
        "name": name,
        "category": "registration",
        "disposition": "invest",
        "supported_until": "2030-01-01",
        "last_release": "2026-06-01",
        "hosting": "own_platform",
        "data_classification": classification,
        "findings": {"critical": 0, "high": 0, "medium": 0, "low": 0, **findings},
    }
