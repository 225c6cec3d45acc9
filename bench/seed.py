"""Large registers, quickly: rows inserted in bulk into a service's database before it starts, each
with the change-feed event a write through the API would have given it.

The feed is a hash chain (``services.chassis.changes``): every event here is hashed with the
chassis' own ``event_hash`` on top of the database's ``change_head``, its subject is recorded in
``change_subjects`` and the head moves to the last one, all in one transaction, so
``GET /v1/changes/verify`` still finds the feed intact. Inserting 100,000 rows through the API
would take most of an hour on a small machine; this takes seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.canonical import canonical_json
from services.chassis.changes import ChangeEvent, ChangeHead, ChangeSubject, event_hash
from services.chassis.db import Database, utcnow
from services.chassis.ids import new_id
from services.chassis.resources import Collection
from services.portfolio import models as _portfolio_tables  # noqa: F401  (every table, for the foreign keys)
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.service import initiatives

CHAINS = [f"/valuechains/v1/chains/019a0000-0000-7000-8000-00000000000{n}" for n in range(1, 6)]
# Most initiatives are internal; a token without a clearance (internal) misses about one in five.
CLASSIFICATIONS = ["public"] * 10 + ["internal"] * 70 + ["confidential"] * 15 + ["secret"] * 5


async def append_events(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """Append ``events`` (the fields of ``append_event``'s arguments, ``changes`` as a dict) to the
    feed in the session's transaction, as ``append_event`` would one by one."""
    head = await session.get(ChangeHead, 1)
    if head is None:
        raise RuntimeError("change_head is missing: the database was not migrated")
    seq, prev, now = head.seq, head.hash, utcnow()
    rows: list[dict[str, Any]] = []
    subjects: dict[str, dict[str, Any]] = {}
    for fields in events:
        seq += 1
        event = ChangeEvent(
            seq=seq,
            type=fields["type"],
            subject=fields["subject"],
            actor=fields["actor"],
            at=now,
            version=fields["version"],
            changes=canonical_json(fields["changes"]),
            classification=fields.get("classification"),
            visible_to_unit=fields.get("visible_to_unit"),
            prev_hash=prev,
        )
        prev = event_hash(event)
        rows.append({c.key: getattr(event, c.key) for c in ChangeEvent.__table__.columns} | {"hash": prev})
        subjects[event.subject] = {
            "subject": event.subject,
            "classification": event.classification,
            "visible_to_unit": event.visible_to_unit,
        }
    if rows:
        await session.execute(insert(ChangeEvent), rows)
        await session.execute(insert(ChangeSubject), list(subjects.values()))  # new subjects only
        head.seq, head.hash = seq, prev


def _columns(model: type[Any], record: Any) -> dict[str, Any]:
    return {attr.key: getattr(record, attr.key) for attr in inspect(model).column_attrs}


async def bulk_create(
    url: str, collection: Collection[Any], records: Sequence[SimpleNamespace], *, actor: str = "bench"
) -> None:
    """Insert ``records`` (every column of the collection's model as an attribute, and each of its
    relationships as a list of records of the related model) and a ``<collection>.created`` event
    for each, in one transaction. Plain namespaces, not ORM objects: building 100,000 of those costs
    more than inserting them; the collection's ``snapshot`` reads either alike."""
    model = collection.model
    relationships = [(r.key, r.mapper.class_) for r in inspect(model).relationships]
    rows: dict[type[Any], list[dict[str, Any]]] = {model: []}
    events: list[dict[str, Any]] = []
    for obj in records:
        rows[model].append(_columns(model, obj))
        for key, child_model in relationships:
            rows.setdefault(child_model, []).extend(_columns(child_model, child) for child in getattr(obj, key))
        classification, unit = collection.event_visibility(obj)
        events.append(
            {
                "type": f"{collection.name}.created",
                "subject": collection.href(obj.id),
                "actor": actor,
                "version": obj.version,
                "changes": {k: [None, v] for k, v in collection.snapshot(obj).items()},
                "classification": classification,
                "visible_to_unit": unit,
            }
        )
    db = Database(url)
    try:
        async with db.session(write=True) as session:
            for table, values in rows.items():  # the collection's own rows first
                if values:
                    await session.execute(insert(table), values)
            await append_events(session, events)
    finally:
        await db.dispose()


def generated_initiatives(n: int, programme: str, seed: int = 11) -> list[SimpleNamespace]:
    """``n`` initiatives spread over the demo chains, kinds, fundings and classifications."""
    rng = random.Random(seed)
    now = utcnow()
    made: list[SimpleNamespace] = []
    for number in range(n):
        id_ = new_id()
        year = rng.randint(2026, 2029)
        made.append(
            SimpleNamespace(
                id=id_,
                version=1,
                status=rng.choice(("proposed", "approved", "active")),
                created_at=now,
                updated_at=now,
                name=f"Generated initiative {number}",
                description="",
                programme_id=programme,
                value_chain=rng.choice(CHAINS),
                kind=rng.choice(("maintenance", "security", "renewal")),
                funding=rng.choice(("structural", "incidental")),
                start=dt.date(year, 1, 1),
                end=dt.date(year, 12, 31),
                hosting=rng.choice(("own_platform", "public_cloud", "hybrid")),
                data_classification=rng.choice(CLASSIFICATIONS),
                uses_generic_facilities=True,
                budgets=[SimpleNamespace(initiative_id=id_, year=year, budget_eur=rng.randint(1, 200) * 10_000)],
                application_links=[],
            )
        )
    return made


# --- EBOs with planted near-duplicates ------------------------------------------------------------

DUPLICATE_SHARE = 0.02
VOCABULARY = 6_000
ZIPF_EXPONENT = 0.8
ONSETS = ["b", "d", "k", "v", "w", "st", "sch", "gr", "br", "pl", "r", "m", "z", "h", "tr", "sl", "kl", "sp"]
VOWELS = ["a", "e", "i", "o", "u", "aa", "ee", "oo", "ui", "ij", "ei", "ou"]
CODAS = ["", "n", "r", "k", "l", "s", "t", "ng", "rd", "lt", "ns"]
UNITS = [
    "Eenheid Rotterdam",
    "Eenheid Amsterdam",
    "Eenheid Den Haag",
    "Eenheid Midden-Nederland",
    "Eenheid Oost-Nederland",
    "Eenheid Noord-Nederland",
    "Eenheid Limburg",
    "Eenheid Zeeland-West-Brabant",
    "Eenheid Oost-Brabant",
    "Eenheid Noord-Holland",
    "Landelijke Eenheid",
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)))
    return sorted(words)


def variant(rng: random.Random, name: str) -> str:
    """A near-duplicate: how the same thing gets named in another unit."""
    words = name.split()
    choice = rng.randrange(4)
    if choice == 0 and len(words) > 1:
        words.reverse()
    elif choice == 1 and len(words) > 1:
        return "".join(words).capitalize()
    elif choice == 2:
        word = words[-1]
        position = rng.randrange(1, len(word))
        words[-1] = word[:position] + word[position + 1 :]
    else:
        words.append("app")
    return " ".join(words)


def generated_ebos(n: int, seed: int = 7) -> tuple[list[SimpleNamespace], set[frozenset[str]]]:
    """``n`` EBOs named from a Zipf-distributed vocabulary of Dutch-sounding words (some words
    common, most rare, as in a real register), about 2 % of them planted near-duplicates of another
    (a typo, words swapped or joined, a unit's suffix); and the planted pairs by id."""
    rng = random.Random(seed)
    words = vocabulary(rng, VOCABULARY)
    weights = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(words))]
    now = utcnow()
    made: list[SimpleNamespace] = []
    planted: set[frozenset[str]] = set()
    for _ in range(n):
        id_ = new_id()
        if made and rng.random() < DUPLICATE_SHARE:
            original = rng.choice(made)
            name, description = variant(rng, original.name), original.description
            planted.add(frozenset((original.id, id_)))
        else:
            name = " ".join(rng.choices(words, weights, k=rng.randint(2, 3))).capitalize()
            description = " ".join(rng.choices(words, weights, k=rng.randint(6, 14)))
        made.append(
            SimpleNamespace(
                id=id_,
                version=1,
                status="registered",
                created_at=now,
                updated_at=now,
                name=name[:200],
                unit=rng.choice(UNITS),
                description=description,
                value_chain=None,
                hosting="own_platform",
                data_classification="internal",
                users=rng.randint(1, 500),
                decision_status=None,
                decision_reason=None,
                decision_by=None,
                decision_at=None,
                merged_into_id=None,
            )
        )
    return made, planted


async def seed_portfolio(url: str, *, initiatives_count: int, ebos_count: int, programme: str) -> set[frozenset[str]]:
    """Initiatives and EBOs into a portfolio database; the planted duplicate pairs of EBOs."""
    await bulk_create(url, initiatives, generated_initiatives(initiatives_count, programme))
    made, planted = generated_ebos(ebos_count)
    await bulk_create(url, ebos, made)
    return planted
