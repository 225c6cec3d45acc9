"""Signing keys with rollover: the development key ring (rotate, grace, drop) and the trusted keys
a verifier holds (a new kid is fetched once, however many ask; a storm of unknown kids is bounded)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest

from services.chassis.auth import TokenVerifier, issue_dev_token
from services.chassis.errors import Unauthenticated
from services.chassis.settings import CommonSettings
from services.chassis.signing_keys import KeyRing, TrustedKeys


def ring_at(tmp_path: Path, now: list[float], grace: float = 100) -> KeyRing:
    return KeyRing(tmp_path / "dev-signing-key.pem", tmp_path / "signing-keys", grace, clock=lambda: now[0])


def test_a_rotated_ring_signs_with_the_new_key_and_publishes_the_old_for_its_grace(tmp_path: Path) -> None:
    now = [time.time()]
    ring = ring_at(tmp_path, now)
    first = ring.current()
    assert [k["kid"] for k in ring.jwks()["keys"]] == [first.kid]
    second = ring.rotate()
    assert second.kid != first.kid and ring.current() == second
    assert jwt.get_unverified_header(ring.sign({"sub": "x"}))["kid"] == second.kid
    assert [k["kid"] for k in ring.jwks()["keys"]] == [first.kid, second.kid], "both while the first retires"
    assert all("d" not in k for k in ring.jwks()["keys"]), "never the private part"
    # Another process (the provider, make token) reading the same files sees the same ring.
    assert ring_at(tmp_path, now).current().kid == second.kid
    now[0] += 101
    assert [k["kid"] for k in ring.jwks()["keys"]] == [second.kid], "dropped after its grace"
    third = ring.rotate()
    now[0] += 101
    ring.rotate()
    assert third.kid not in [k["kid"] for k in ring.jwks()["keys"]]
    assert not third.path.exists(), "a rotated key past its grace is deleted at the next rotation"
    assert first.path.exists(), "the first key may be a mounted secret: it is only unpublished"


async def test_make_token_signs_with_the_newest_key_and_the_services_follow(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path, jwks_refetch_seconds=0.05)
    verifier = TokenVerifier(settings)
    before = issue_dev_token(settings, sub="u-1", roles=["reader"])
    assert (await verifier.verify(before)).sub == "u-1"
    settings.dev_key_ring().rotate()
    after = issue_dev_token(settings, sub="u-2", roles=["reader"])
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert (await verifier.verify(after)).sub == "u-2", "the new key is read without a restart"
    verifier.verified = type(verifier.verified)(0)
    assert (await verifier.verify(before)).sub == "u-1", "the retiring key still verifies"


def counting(jwks: list[dict[str, Any]]) -> tuple[list[int], Any]:
    calls = [0]

    def fetch() -> dict[str, Any]:
        calls[0] += 1
        return jwks[0]

    return calls, fetch


async def test_an_unknown_kid_is_fetched_once_however_many_ask(tmp_path: Path) -> None:
    now = [time.time()]
    ring = ring_at(tmp_path, now)
    source = [ring.jwks()]
    calls, fetch = counting(source)
    keys = TrustedKeys(fetch, lifespan=300, refetch_interval=0.2)
    assert [k.key_id for k in await keys.keys_for(ring.current().kid)] == [ring.current().kid]
    new = ring.rotate()
    source[0] = ring.jwks()
    found: list[list[str | None]] = []

    async def ask() -> None:
        found.append([k.key_id for k in await keys.keys_for(new.kid)])

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(ask)
    assert found == [[new.kid]] * 50
    assert calls[0] == 2, "one fetch at first, one for the new kid, shared by all fifty"


async def test_a_storm_of_unknown_kids_fetches_at_most_once_per_interval(tmp_path: Path) -> None:
    source = [ring_at(tmp_path, [time.time()]).jwks()]
    calls, fetch = counting(source)
    interval = 0.05
    keys = TrustedKeys(fetch, lifespan=300, refetch_interval=interval)
    started = time.monotonic()
    for n in range(5):  # one after the other: each would refetch, unbounded
        assert await keys.keys_for(f"made-up-{n}") == []
    elapsed = time.monotonic() - started
    assert calls[0] <= 1 + elapsed / interval + 1
    assert elapsed >= (calls[0] - 1) * interval * 0.9, "fetches are spaced by the interval"

    async def unknown(n: int) -> None:
        assert await keys.keys_for(f"storm-{n}") == []

    before = calls[0]
    async with anyio.create_task_group() as group:
        for n in range(100):
            group.start_soon(unknown, n)
    assert calls[0] - before == 1, "a hundred at once share one fetch"


async def test_a_failed_fetch_keeps_the_keys_held(tmp_path: Path) -> None:
    ring = ring_at(tmp_path, [time.time()])
    source = [ring.jwks()]
    clock = [0.0]
    failing = [False]

    def fetch() -> dict[str, Any]:
        if failing[0]:
            raise jwt.PyJWKClientConnectionError("down")
        return source[0]

    keys = TrustedKeys(fetch, lifespan=10, refetch_interval=0, clock=lambda: clock[0])
    kid = ring.current().kid
    assert await keys.keys_for(kid)
    failing[0] = True
    clock[0] = 11
    assert await keys.keys_for(kid), "the provider being down does not fail a token it signed with a known key"


async def test_a_token_naming_no_key_is_refused_when_keys_come_from_a_jwks(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path, jwks_url="http://127.0.0.1:9/jwks.json")
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        await TokenVerifier(settings).verify(token)
    ring = settings.dev_key_ring()
    unnamed = jwt.encode(
        {"sub": "x", "iss": settings.jwt_issuer, "aud": "iv-platform"}, ring.current().private, "ES256"
    )
    with pytest.raises(Unauthenticated, match="names no signing key"):
        await TokenVerifier(settings).verify(unnamed)
