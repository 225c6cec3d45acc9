"""What principles judge: subject kinds, their owners, and need-to-know on what we record about them.

A subject is any resource of another service, by href. Its kind is the singular of its collection
(``/portfolio/v1/initiatives/<id>`` is an ``initiative``); ``applies_to`` of a principle lists kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from services.chassis.auth import CLEARANCES, clearance_rank
from services.chassis.canonical import canonical_digest
from services.chassis.errors import ValidationProblem
from services.chassis.routing import parse_href
from services.chassis.visibility import NeedToKnow

SubjectKind = Literal["chain", "team", "allocation", "programme", "initiative", "ebo"]

# (service, collection) -> kind. Only these collections are judged by principles.
KINDS: dict[tuple[str, str], str] = {
    ("valuechains", "chains"): "chain",
    ("valuechains", "teams"): "team",
    ("valuechains", "allocations"): "allocation",
    ("portfolio", "programmes"): "programme",
    ("portfolio", "initiatives"): "initiative",
    ("portfolio", "ebos"): "ebo",
}
COLLECTION_OF_KIND: dict[str, str] = {kind: f"/{svc}/v1/{coll}" for (svc, coll), kind in KINDS.items()}
KIND_NAMES: tuple[str, ...] = tuple(KINDS.values())
SUBJECT_COLLECTIONS: tuple[str, ...] = tuple(COLLECTION_OF_KIND.values())
CHAINS_PATH = COLLECTION_OF_KIND["chain"]

SUBJECT_KINDS_DESCRIPTION = (
    "Subject kinds are the singular of the owning collection: `chain`, `team`, `allocation` "
    "(valuechains), `programme`, `initiative`, `ebo` (portfolio)."
)


@dataclass(frozen=True)
class Target:
    """A subject href (one resource) or a collection href (every resource in it, optionally filtered)."""

    href: str
    collection_path: str
    kind: str
    id: str | None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def is_collection(self) -> bool:
        return self.id is None


def parse_target(href: str, loc: list[str | int], *, allow_collection: bool) -> Target:
    """The kind and shape of an href; 422 on ``loc`` when principles do not judge it."""
    path, _, query = href.partition("?")
    parsed = parse_href(path)
    if parsed is None:
        raise ValidationProblem.field(
            loc, f"{href!r} is not an href of this platform (/<service>/v1/<collection>/<id>)"
        )
    kind = KINDS.get((parsed.service, parsed.collection))
    if kind is None:
        known = ", ".join(COLLECTION_OF_KIND.values())
        raise ValidationProblem.field(loc, f"principles do not judge {parsed.collection_path}; they judge {known}")
    if parsed.id is None and not allow_collection:
        raise ValidationProblem.field(loc, "expected the href of one resource, not of a collection")
    if parsed.id is not None and query:
        raise ValidationProblem.field(loc, "the href of one resource takes no query string")
    params = tuple((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in ("limit", "after", "id"))
    return Target(href=href, collection_path=parsed.collection_path, kind=kind, id=parsed.id, query=params)


def subject_kind(href: str) -> str | None:
    parsed = parse_href(href.partition("?")[0])
    return KINDS.get((parsed.service, parsed.collection)) if parsed else None


# --- need to know on what we record about subjects ---------------------------------------------


def classification_of(representation: Mapping[str, Any]) -> str | None:
    value = representation.get("data_classification")
    return value if isinstance(value, str) and value in CLEARANCES else None


def unit_of(kind: str, representation: Mapping[str, Any]) -> str | None:
    """EBOs are also visible to their own unit (section 5 of the design)."""
    value = representation.get("unit")
    return value if kind == "ebo" and isinstance(value, str) else None


def highest(*levels: str | None) -> str | None:
    present = [level for level in levels if level is not None]
    return max(present, key=clearance_rank) if present else None


RECORD_NEED_TO_KNOW = NeedToKnow(classification="data_classification", unit="visible_to_unit")
"""What this service records about a subject carries the subject's classification (and an EBO's unit),
as last read: the records are visible to whoever may see the subject."""


# --- facts ---------------------------------------------------------------------------------------


def facts_digest(facts: Any) -> str:
    """SHA-256 of the facts a judgement saw: the facts themselves are never stored."""
    return canonical_digest(facts)
