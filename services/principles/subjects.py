"""Reading subjects by reference from their owners, with the caller's token; nothing is kept.

- One subject: a batch GET on its collection (``Upstreams.resolve``).
- A collection: its list pages (``limit=100``, following ``next``), optionally filtered by the
  query string of the collection href. List items are the same representation a batch get returns,
  so they are used as they come.
- References a rule reads beyond their ``href`` (``subject.value_chain.name``) are expanded one level:
  one batch request per target collection, like the gateway's ``expand``.
- A representative subject of each kind, for checking rules on save, is built from the owner's own
  OpenAPI document, so it has exactly the fields the owner serves.
- The subjects of a chain (``?value_chain=`` on assessments and explanations): the chain itself and
  what its owners list under it now, found through their list filters marked ``x-reference`` to
  chains in their OpenAPI documents (``/valuechains/v1/teams?chain=``, ``/portfolio/v1/initiatives?value_chain=``).
  This service keeps no copy of which chain a subject belongs to: a team moved to another chain is
  counted under the new one at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement

from services.chassis.auth import Principal
from services.chassis.errors import ServiceUnavailable, ValidationProblem
from services.chassis.pagination import Page
from services.chassis.references import ID_PATTERN, Upstreams, not_found, reference_filter
from services.chassis.resources import Collection, ListQuery
from services.chassis.resources.model import M
from services.chassis.routing import parse_href
from services.chassis.schema_index import ANY_COLLECTION, SchemaIndex
from services.chassis.tasks import gather
from services.principles.kinds import CHAINS_PATH, COLLECTION_OF_KIND, KINDS, SUBJECT_COLLECTIONS, Target
from services.principles.refs import PRINCIPLES_PATH

if TYPE_CHECKING:
    from services.chassis.uow import RequestContext

REFERENCE_READ = re.compile(r"\bsubject\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
SCHEMA_TTL_SECONDS = 60.0
EXAMPLE_ID = "019a0000-0000-7000-8000-000000000000"


async def fetch(upstreams: Upstreams, hrefs: Iterable[str], principal: Principal) -> dict[str, dict[str, Any] | None]:
    """Each subject's representation, or None when it does not exist for this caller."""
    return await upstreams.resolve(hrefs, principal)


async def fetch_collection(
    upstreams: Upstreams, target: Target, principal: Principal, *, cap: int, loc: Sequence[str | int]
) -> list[dict[str, Any]]:
    """Every resource of a collection this caller can see, page by page."""
    params: list[tuple[str, str]] = [*target.query, ("limit", "100")]
    response = await upstreams.get_json(target.collection_path, principal, params)
    items: list[dict[str, Any]] = []
    while True:
        if response.status_code in (400, 422):
            detail = _detail(response.json()) or "the owner rejected the query"
            raise ValidationProblem.field(loc, f"{target.href}: {detail}")
        if response.status_code == 404:
            raise ValidationProblem.field(loc, f"{target.collection_path} is not served by its owner")
        if response.status_code != 200:
            raise ServiceUnavailable(f"{target.collection_path} answered {response.status_code}")
        page = response.json()
        items.extend(item for item in page.get("items", []) if isinstance(item, dict))
        if len(items) > cap:
            raise ValidationProblem.field(
                loc,
                f"{target.collection_path} has more than {cap} resources; narrow it with filters "
                "in the href's query string (for example ?status=active)",
            )
        next_href = page.get("next")
        if not isinstance(next_href, str) or not next_href:
            return items
        response = await upstreams.get_json(next_href, principal)


def _detail(body: Any) -> str | None:
    return body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), str) else None


# --- one level of references ---------------------------------------------------------------------


def fields_to_expand(rules: Iterable[str | None]) -> set[str]:
    """Fields whose referenced resource a rule reads (``subject.value_chain.name`` -> value_chain)."""
    fields: set[str] = set()
    for rule in rules:
        for match in REFERENCE_READ.finditer(rule or ""):
            if match[2] != "href":
                fields.add(match[1])
    return fields


def _reference(value: Any) -> str | None:
    return value["href"] if isinstance(value, Mapping) and isinstance(value.get("href"), str) else None


async def expand(
    upstreams: Upstreams, subjects: Sequence[dict[str, Any]], fields: set[str], principal: Principal
) -> list[dict[str, Any]]:
    """Copies of ``subjects`` with the references at ``fields`` replaced by what they point at.

    A reference that does not resolve for this caller stays a reference with an error, in the shape the
    gateway's ``expand`` leaves it: ``{"href": X, "error": {"type", "title", "status": 404, "detail"}}``.
    """
    if not fields:
        return list(subjects)
    wanted = {h for s in subjects for f in fields if (h := _reference(s.get(f))) and parse_href(h)}
    resolved = await upstreams.resolve(wanted, principal) if wanted else {}
    out = []
    for subject in subjects:
        copy = dict(subject)
        for field in fields:
            href = _reference(subject.get(field))
            if href is None:
                continue
            target = resolved.get(href)
            copy[field] = target if target is not None else not_found(href)
        out.append(copy)
    return out


def referenced_hrefs(subject: Mapping[str, Any], fields: set[str]) -> list[str]:
    return [h for f in fields if (h := _reference(subject.get(f)))]


# --- representative subjects, from the owner's OpenAPI document ---------------------------------

_indexes: dict[str, tuple[float, SchemaIndex]] = {}


async def owner_index(upstreams: Upstreams, service: str, principal: Principal) -> SchemaIndex:
    """The OpenAPI document of a service, indexed (cached for a minute)."""
    key = upstreams.url_for(f"/{service}/openapi.json")
    cached = _indexes.get(key)
    if cached is not None and time.monotonic() - cached[0] < SCHEMA_TTL_SECONDS:
        return cached[1]
    response = await upstreams.get_json(f"/{service}/openapi.json", principal)
    if response.status_code != 200:
        raise ServiceUnavailable(f"the {service} service did not serve its OpenAPI document ({response.status_code})")
    index = SchemaIndex(response.json())
    _indexes[key] = (time.monotonic(), index)
    return index


async def representative(
    upstreams: Upstreams, kind: str, principal: Principal, *, expand_references: bool = True
) -> dict[str, Any]:
    """A made-up subject of ``kind`` with every field its owner serves; references expanded one level."""
    collection_path = COLLECTION_OF_KIND[kind]
    service, _, collection = collection_path.strip("/").partition("/v1/")
    index = await owner_index(upstreams, service, principal)
    schema = index.read_schema(f"/v1/{collection}")
    if schema is None:
        raise ValidationProblem.field(
            ["body", "applies_to"],
            f"the {service} service does not serve {collection} (yet), so a rule for {kind} cannot be checked",
        )
    subject = index.example(schema)
    if not isinstance(subject, dict):
        subject = {}
    subject["href"] = f"{collection_path}/{EXAMPLE_ID}"
    for name, sub in index.properties(schema).items():
        target = index.reference_target(sub)
        if target is None:
            continue
        parsed = parse_href(target)
        target_kind = KINDS.get((parsed.service, parsed.collection)) if parsed else None
        href = f"{target}/{EXAMPLE_ID}" if target != ANY_COLLECTION else f"{collection_path}/{EXAMPLE_ID}"
        if isinstance(subject.get(name), list):
            # A list of references stays references: evaluations expand single references only.
            subject[name] = [{"href": href}]
        elif expand_references and target_kind is not None:
            subject[name] = {**await representative(upstreams, target_kind, principal, expand_references=False)}
            subject[name]["href"] = href
        else:
            subject[name] = {"href": href}
    return subject


# --- the subjects of a chain ---------------------------------------------------------------------

CHAIN_FILTER = "value_chain"
MAX_CHAIN_SUBJECTS = 5000


def chain_href(value: str, loc: Sequence[str | int] = ("query", CHAIN_FILTER)) -> str:
    """The href of the chain a filter names (its href or its id); 422 on ``loc`` otherwise."""
    if re.fullmatch(ID_PATTERN, value):
        return f"{CHAINS_PATH}/{value}"
    parsed = parse_href(value)
    if parsed is None or parsed.collection_path != CHAINS_PATH or parsed.id is None:
        raise ValidationProblem.field(
            list(loc), f"{value!r} is not the href (or id) of a value chain ({CHAINS_PATH}/<id>)"
        )
    return f"{CHAINS_PATH}/{parsed.id}"


async def chain_filters(upstreams: Upstreams, principal: Principal) -> dict[str, str]:
    """Subject collection path -> the filter of its owner's list that takes a chain href."""
    found: dict[str, str] = {}
    for path in COLLECTION_OF_KIND.values():
        service, _, collection = path.strip("/").partition("/v1/")
        index = await owner_index(upstreams, service, principal)
        operation = index.get_operation(f"/v1/{collection}")
        filters = index.reference_filters(operation) if operation is not None else {}
        name = next((n for n, targets in sorted(filters.items()) if targets == (CHAINS_PATH,)), None)
        if name is not None:
            found[path] = name
    return found


async def chain_subjects(upstreams: Upstreams, principal: Principal, chain: str) -> list[str]:
    """The chain and every subject its owners list under it now, as this caller may see them."""
    filters = await chain_filters(upstreams, principal)
    pages = await gather(*(upstreams.list_all(path, principal, [(name, chain)]) for path, name in filters.items()))
    hrefs = [chain, *(item["href"] for page in pages for item in page if isinstance(item.get("href"), str))]
    if len(hrefs) > MAX_CHAIN_SUBJECTS:
        raise ValidationProblem.field(
            ["query", CHAIN_FILTER],
            f"this chain has more than {MAX_CHAIN_SUBJECTS} subjects; filter by subject or subject_kind instead",
        )
    return list(dict.fromkeys(hrefs))


class SubjectRecordQuery(ListQuery):
    """The filters of every list of records about subjects (assessments, explanations)."""

    principle: str | None = reference_filter(PRINCIPLES_PATH, "href (or id) of a principle.")
    subject: str | None = reference_filter(SUBJECT_COLLECTIONS, "href of a subject.", max_length=300)
    value_chain: str | None = reference_filter(
        CHAINS_PATH,
        "href (or id) of a value chain: only those about the chain itself and about the subjects that belong "
        "to it (its teams, allocations, initiatives, EBOs: asked of their owners with your token when you ask).",
    )


class ChainFiltered(Collection[M]):
    """A collection of records about subjects that also filters by ``value_chain``: the subjects
    are asked of their owners when the list is asked for (``chain_subjects``)."""

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        return super().filter_clauses(query.model_copy(update={CHAIN_FILTER: None}))

    async def list_page(
        self, ctx: RequestContext, query: ListQuery, *, where: Sequence[ColumnElement[bool]] = ()
    ) -> Page[Any]:
        chain = getattr(query, CHAIN_FILTER, None)
        if chain is None or query.id:
            return await super().list_page(ctx, query, where=where)
        hrefs = await chain_subjects(ctx.upstreams, ctx.principal, chain_href(chain))
        subject: Any = self.model.subject  # type: ignore[attr-defined]
        return await super().list_page(ctx, query, where=[*where, subject.in_(hrefs)])
