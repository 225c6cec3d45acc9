"""Canonical JSON: the one text the change feed's hash chain and the principles' fact digests are taken over."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib

from services.chassis.canonical import canonical_digest, canonical_json
from services.chassis.changes import ChangeEvent, event_hash


def test_keys_are_sorted_at_every_level_without_whitespace() -> None:
    assert canonical_json({"b": [1, 2.5, None, True], "a": {"z": 1, "y": 2}}) == (
        '{"a":{"y":2,"z":1},"b":[1,2.5,null,true]}'
    )


def test_non_ascii_text_stays_itself_and_is_hashed_as_utf8() -> None:
    text = canonical_json({"name": "Handhaving én Opsporing €"})
    assert text == '{"name":"Handhaving én Opsporing €"}'
    assert canonical_digest({"name": "Handhaving én Opsporing €"}) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_values_json_has_no_type_for_become_their_text() -> None:
    value = {"on": dt.date(2026, 2, 28), "amount": decimal.Decimal("30.5")}
    assert canonical_json(value) == '{"amount":"30.5","on":"2026-02-28"}'


def test_the_same_value_gives_the_same_digest_whatever_the_key_order() -> None:
    assert canonical_digest({"a": 1, "b": [1, 2]}) == canonical_digest({"b": [1, 2], "a": 1})
    assert canonical_digest({"a": 1}) != canonical_digest({"a": "1"})


def test_an_event_hashes_as_it_always_has() -> None:
    """A fixed event and its hash as computed before the canonical form moved to its own module: existing
    feeds must still verify, so this digest may never change."""
    event = ChangeEvent(
        seq=7,
        type="chains.updated",
        subject="/valuechains/v1/chains/019a",
        actor="u100231",
        at=dt.datetime(2026, 3, 31, 23, 59, 58, 123456, tzinfo=dt.UTC),
        version=3,
        changes=canonical_json({"name": ["Handhaving", "Handhaving én Opsporing"], "budget_eur": [1, None]}),
        classification="internal",
        visible_to_unit=None,
        prev_hash="ab" * 32,
    )
    assert event.changes == '{"budget_eur":[1,null],"name":["Handhaving","Handhaving én Opsporing"]}'
    assert event_hash(event) == "f35f3659ada63dfccd024446768df0472a344d24476547d63ba85633f9363778"
