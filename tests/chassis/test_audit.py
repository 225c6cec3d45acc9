"""The audit feed against someone with access to the database (``services.chassis.audit``).

Each attack is made as an administrator would make it: SQL on the service's real rows. Each is
found by ``/v1/changes/verify``, whose answer names what is wrong. A rollback of the whole database
to an older signed checkpoint is found through what the other services witnessed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI
from sqlalchemy import select, text

from services.chassis import audit
from services.chassis.audit import AuditKeys, write_checkpoint
from services.chassis.changes import ChangeEvent, event_hash
from services.chassis.db import Database
from services.chassis.settings import ServiceSettings
from tests.conftest import Suite
from tests.portfolio.helpers import make_chain
from tests.support import Tokens, client_for, service_module, settings_for

FEED = "valuechains"


def app_of(suite: Suite, service: str = FEED) -> FastAPI:
    return suite.apps[service]


async def sql(suite: Suite, statement: str, **params: Any) -> None:
    """Run SQL on the service's own database, as its administrator could."""
    db: Database = app_of(suite).state.db
    async with db.session(write=True) as session:
        await session.execute(text(statement), params)


async def query(suite: Suite, statement: str, **params: Any) -> list[Any]:
    db: Database = app_of(suite).state.db
    async with db.session(write=False) as session:
        return list((await session.execute(text(statement), params)).all())


async def checkpoint(suite: Suite, service: str = FEED) -> audit.Checkpoint:
    app = app_of(suite, service)
    made = await write_checkpoint(app.state.db, app.state.audit_keys, app.state.settings, force=True)
    assert made is not None
    return made


async def witnessed_by_the_others(suite: Suite) -> None:
    for service in ("portfolio", "principles"):
        assert (await audit.witness(app_of(suite, service)))[FEED] >= 1


async def verify(suite: Suite, tokens: Tokens, **params: str) -> dict[str, Any]:
    async with suite.client(FEED, tokens("auditor", clearance="secret")) as auditor:
        answer = await auditor.get("/v1/changes/verify", params=params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def kinds(result: dict[str, Any]) -> set[str]:
    return {f["kind"] for f in result["findings"]}


async def history(suite: Suite, tokens: Tokens, chains: int = 3) -> list[audit.Checkpoint]:
    """Writes, a signed checkpoint witnessed by both other services, more writes, another
    checkpoint witnessed: the two checkpoints."""
    for _ in range(chains):
        await make_chain(suite, tokens)
    first = await checkpoint(suite)
    await witnessed_by_the_others(suite)
    for _ in range(chains):
        await make_chain(suite, tokens)
    second = await checkpoint(suite)
    await witnessed_by_the_others(suite)
    assert (await verify(suite, tokens))["ok"] is True
    app_of(suite).state.audit_verified = None  # a process that has not verified yet: the database alone
    return [first, second]


async def rewind_head_to(suite: Suite, seq: int) -> None:
    (hash_,) = (await query(suite, "SELECT hash FROM change_events WHERE seq = :s", s=seq))[0]
    await sql(suite, "UPDATE change_head SET seq = :s, hash = :h WHERE id = 1", s=seq, h=hash_)


async def recompute_from(suite: Suite, seq: int) -> None:
    """Rewrite every hash from ``seq`` on and the head, as one who knows the algorithm would."""
    db: Database = app_of(suite).state.db
    async with db.session(write=False) as session:
        columns = ChangeEvent.__table__.columns
        rows = (await session.execute(select(*columns).where(ChangeEvent.seq >= seq).order_by(ChangeEvent.seq))).all()
        prev = await session.scalar(select(ChangeEvent.hash).where(ChangeEvent.seq == seq - 1))
    for row in rows:
        values = row._asdict()
        values["prev_hash"] = prev or values["prev_hash"]
        prev = event_hash(SimpleNamespace(**values))
        await sql(
            suite,
            "UPDATE change_events SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=values["prev_hash"],
            h=prev,
            s=row.seq,
        )
    await rewind_head_to(suite, rows[-1].seq)


# --- the attacks ---------------------------------------------------------------------------------


async def test_an_edited_event_is_named(suite: Suite, tokens: Tokens) -> None:
    first, _ = await history(suite, tokens)
    await sql(suite, "UPDATE change_events SET actor = 'someone-innocent' WHERE seq = :s", s=first.seq + 1)
    result = await verify(suite, tokens)
    assert result["ok"] is False and result["broken_at"] == first.seq + 1
    assert result["findings"][0]["kind"] == "event_altered"
    assert result["findings"][0]["seq"] == first.seq + 1
    assert "edited" in result["findings"][0]["detail"]


async def test_a_deleted_event_is_named(suite: Suite, tokens: Tokens) -> None:
    first, _ = await history(suite, tokens)
    await sql(suite, "DELETE FROM change_events WHERE seq = :s", s=first.seq + 1)
    result = await verify(suite, tokens)
    assert result["ok"] is False and result["broken_at"] == first.seq + 1
    assert result["findings"][0]["kind"] == "event_missing"
    assert f"event {first.seq + 1} is missing" in result["findings"][0]["detail"]


async def test_the_newest_events_cut_off_with_the_head_rewound(suite: Suite, tokens: Tokens) -> None:
    first, second = await history(suite, tokens)
    await sql(suite, "DELETE FROM change_events WHERE seq > :s", s=first.seq + 1)
    await rewind_head_to(suite, first.seq + 1)
    result = await verify(suite, tokens)
    assert result["ok"] is False
    truncated = [f for f in result["findings"] if f["kind"] == "truncated"]
    # The feed's own signed checkpoint, and each witness's copy of it, cover events that are gone.
    assert {(f.get("checkpoint"), f.get("witness")) for f in truncated} == {
        (second.number, None),
        (second.number, "portfolio"),
        (second.number, "principles"),
    }
    assert "removed from the end" in truncated[0]["detail"]
    assert not kinds(result) & {"event_altered", "event_missing", "chain_broken", "head_mismatch"}


async def test_a_head_moved_back_over_events_that_stay(suite: Suite, tokens: Tokens) -> None:
    first, second = await history(suite, tokens)
    await rewind_head_to(suite, first.seq)
    result = await verify(suite, tokens)
    assert result["ok"] is False
    assert [f["kind"] for f in result["findings"]] == ["head_mismatch"]
    assert f"events up to seq {second.seq}" in result["findings"][0]["detail"]


async def test_a_full_recomputed_rewrite_contradicts_the_signed_checkpoints(suite: Suite, tokens: Tokens) -> None:
    first, second = await history(suite, tokens)
    await sql(suite, "UPDATE change_events SET actor = 'someone-innocent' WHERE seq = :s", s=first.seq)
    await recompute_from(suite, first.seq)
    # Without the signatures the rewrite would pass: the chain itself is consistent again.
    result = await verify(suite, tokens)
    assert result["ok"] is False
    assert not kinds(result) & {"event_altered", "event_missing", "chain_broken", "head_mismatch"}
    rewritten = {(f.get("checkpoint"), f.get("witness")) for f in result["findings"] if f["kind"] == "rewritten"}
    assert {(c.number, w) for c in (first, second) for w in (None, "portfolio", "principles")} <= rewritten

    # Removing the checkpoints too leaves the witnesses.
    await sql(suite, "DELETE FROM audit_checkpoints")
    again = await verify(suite, tokens)
    assert again["ok"] is False
    assert {"rolled_back", "rewritten"} <= kinds(again)
    assert {f.get("witness") for f in again["findings"]} == {"portfolio", "principles"}


async def test_a_forged_checkpoint_is_named(suite: Suite, tokens: Tokens) -> None:
    first, second = await history(suite, tokens)
    await sql(suite, "UPDATE audit_checkpoints SET seq = :s WHERE number = :n", s=first.seq + 1, n=second.number)
    result = await verify(suite, tokens)
    assert result["ok"] is False
    forged = [f for f in result["findings"] if f["kind"] == "checkpoint_forged"]
    assert [f["checkpoint"] for f in forged] == [second.number]
    assert "witness_contradicts" in kinds(result)


async def rolled_back_to(suite: Suite, checkpoint: audit.Checkpoint) -> None:
    """The database as a backup taken at ``checkpoint`` left it: later events and checkpoints gone,
    the head at the checkpoint's."""
    await sql(suite, "DELETE FROM change_events WHERE seq > :s", s=checkpoint.seq)
    await sql(suite, "DELETE FROM audit_checkpoints WHERE number > :n", n=checkpoint.number)
    await rewind_head_to(suite, checkpoint.seq)


async def test_a_rollback_to_an_older_signed_checkpoint(suite: Suite, tokens: Tokens) -> None:
    """The whole database restored from a backup taken at an older checkpoint: consistent in itself,
    signed, and contradicted by the checkpoints the other services witnessed since."""
    first, second = await history(suite, tokens)
    await rolled_back_to(suite, first)
    result = await verify(suite, tokens)
    assert result["ok"] is False
    rolled = [f for f in result["findings"] if f["kind"] == "rolled_back"]
    assert {(f.get("checkpoint"), f.get("witness")) for f in rolled} == {
        (second.number, "portfolio"),
        (second.number, "principles"),
    }
    assert "rolled back" in rolled[0]["detail"]
    assert {w["service"]: w["status"] for w in result["witnesses"]} == {
        "portfolio": "contradicts",
        "principles": "contradicts",
    }

    # The service goes on from the old state and signs a checkpoint with the same number anew: the
    # witnesses hold another.
    await make_chain(suite, tokens)
    again = await checkpoint(suite)
    assert again.number == second.number
    later = await verify(suite, tokens)
    assert "witness_contradicts" in kinds(later)


async def test_a_rollback_under_a_running_process_breaks_what_it_verified(suite: Suite, tokens: Tokens) -> None:
    """The process that verified the newest checkpoint remembers it (out of the database's reach)."""
    first, second = await history(suite, tokens)
    assert (await verify(suite, tokens))["checkpoint"] == second.number
    await rolled_back_to(suite, first)
    result = await verify(suite, tokens)
    assert result["ok"] is False
    assert result["findings"][0]["kind"] == "truncated"
    assert result["findings"][0]["seq"] == second.seq
    assert "was verified" in result["findings"][0]["detail"]


# --- how verification works ----------------------------------------------------------------------


async def test_verification_is_incremental_from_where_it_last_held(suite: Suite, tokens: Tokens) -> None:
    await make_chain(suite, tokens)
    made = await checkpoint(suite)
    full = await verify(suite, tokens)
    assert (full["ok"], full["scope"], full["checkpoint"]) == (True, "genesis", made.number)
    assert full["recomputed"] == full["count"]
    for _ in range(2):
        await make_chain(suite, tokens)
    step = await verify(suite, tokens)
    assert (step["ok"], step["scope"], step["recomputed"]) == (True, "incremental", 2)
    assert step["count"] == full["count"] + 2
    # An edit before that point leaves the stored hashes alone: a verification from genesis finds it.
    await sql(suite, "UPDATE change_events SET actor = 'x' WHERE seq = :s", s=full["count"])
    async with suite.client(FEED, tokens("admin")) as admin:
        genesis = (await admin.get("/v1/changes/verify", params={"from": "genesis"})).json()
    assert (genesis["ok"], genesis["scope"], genesis["broken_at"]) == (False, "genesis", full["count"])


async def test_only_auditors_and_admins_verify_and_only_admins_from_genesis(suite: Suite, tokens: Tokens) -> None:
    async with suite.client(FEED, tokens("reader", clearance="secret")) as reader:
        assert (await reader.get("/v1/changes/verify")).status_code == 403
        assert (await reader.get("/v1/changes/witnessed", params={"feed": "portfolio"})).status_code == 403
        assert (await reader.get("/v1/changes/checkpoints")).status_code == 200
    async with suite.client(FEED, tokens("auditor")) as auditor:
        assert (await auditor.get("/v1/changes/verify")).status_code == 200
        refused = await auditor.get("/v1/changes/verify", params={"from": "genesis"})
        assert refused.status_code == 403 and "admins" in refused.json()["detail"]
        assert (await auditor.get("/v1/changes/verify", params={"from": "yesterday"})).status_code == 422
        assert (await auditor.get("/v1/changes/witnessed", params={"feed": "elsewhere"})).status_code == 422
    async with suite.client(FEED, tokens("admin")) as admin:
        assert (await admin.get("/v1/changes/verify", params={"from": "genesis"})).status_code == 200


async def test_twenty_concurrent_verifications_share_one_run_in_a_worker_thread(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_chain(suite, tokens)
    verifier: audit.Verifier = app_of(suite).state.audit_verifier
    gate, all_in = asyncio.Event(), asyncio.Event()
    joined: list[int] = []
    threads: set[str] = set()
    real_verify, real_feed, real_scan = verifier.verify, audit.verify_feed, audit.ChainScan.scan

    async def counted(principal: Any, *, genesis: bool) -> audit.VerifyResult:
        joined.append(1)
        if len(joined) == 20:
            all_in.set()
        return await real_verify(principal, genesis=genesis)

    async def held(*args: Any, **kwargs: Any) -> audit.VerifyResult:
        await gate.wait()  # until every call has joined
        return await real_feed(*args, **kwargs)

    def scan(self: audit.ChainScan, rows: Any, findings: audit.Findings) -> None:
        threads.add(threading.current_thread().name)
        real_scan(self, rows, findings)

    monkeypatch.setattr(verifier, "verify", counted)
    monkeypatch.setattr(audit, "verify_feed", held)
    monkeypatch.setattr(audit.ChainScan, "scan", scan)
    runs = verifier.runs
    calls = [asyncio.create_task(verify(suite, tokens)) for _ in range(20)]
    await all_in.wait()
    gate.set()
    results = await asyncio.gather(*calls)
    assert verifier.runs == runs + 1
    assert all(r == results[0] for r in results) and results[0]["ok"] is True
    assert threads and threading.main_thread().name not in threads


async def test_a_verification_that_just_ended_answers_those_who_ask_next(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_of(suite)
    verifier: audit.Verifier = app.state.audit_verifier
    monkeypatch.setattr(verifier, "_last", {})
    monkeypatch.setattr(
        app.state, "settings", app.state.settings.model_copy(update={"audit_verify_reuse_seconds": 3600})
    )
    await make_chain(suite, tokens)
    first = await verify(suite, tokens)
    runs = verifier.runs
    await make_chain(suite, tokens)
    assert await verify(suite, tokens) == first  # the same verification, its verified_at says when
    assert verifier.runs == runs
    app.state.settings = app.state.settings.model_copy(update={"audit_verify_reuse_seconds": 0})
    fresh = await verify(suite, tokens)
    assert fresh["count"] == first["count"] + 1 and fresh["verified_at"] > first["verified_at"]


# --- keys, checkpoints, witnesses ----------------------------------------------------------------


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def test_checkpoints_verify_with_the_published_key(suite: Suite, tokens: Tokens) -> None:
    await make_chain(suite, tokens)
    made = await checkpoint(suite)
    async with client_for(app_of(suite)) as anonymous:
        jwks = (await anonymous.get("/.well-known/iv-audit-keys")).json()
    async with suite.client(FEED, tokens("reader")) as reader:
        page = (await reader.get("/v1/changes/checkpoints", params={"after": made.number - 1})).json()
    (item,) = page["items"]
    (jwk,) = jwks["keys"]
    thumbprint = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"))
    assert jwk["kid"] == base64.urlsafe_b64encode(hashlib.sha256(thumbprint.encode()).digest()).decode().rstrip("=")
    assert item["kid"] == jwk["kid"] and (item["number"], item["seq"]) == (made.number, made.seq)
    signed = {k: item[k] for k in ("feed", "number", "seq", "hash", "kid")}
    signed["at"] = audit.format_time(made.at)
    material = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"])).verify(_unb64(item["signature"]), material)


async def test_a_checkpoint_is_due_every_n_events(suite: Suite, tokens: Tokens) -> None:
    app = app_of(suite)
    settings = app.state.settings.model_copy(update={"audit_checkpoint_every_events": 3})
    await make_chain(suite, tokens)
    assert await write_checkpoint(app.state.db, app.state.audit_keys, settings, force=True) is not None
    await make_chain(suite, tokens)
    await make_chain(suite, tokens)
    assert await write_checkpoint(app.state.db, app.state.audit_keys, settings) is None  # two events: not yet
    await make_chain(suite, tokens)
    made = await write_checkpoint(app.state.db, app.state.audit_keys, settings)
    assert made is not None and made.number >= 2
    assert await write_checkpoint(app.state.db, app.state.audit_keys, settings, force=True) is None  # no news


async def test_a_witness_records_only_checkpoints_whose_signature_holds(suite: Suite, tokens: Tokens) -> None:
    await make_chain(suite, tokens)
    await checkpoint(suite)
    await sql(suite, "UPDATE audit_checkpoints SET hash = :h", h="f" * 64)
    assert (await audit.witness(app_of(suite, "portfolio")))[FEED] == 0
    async with suite.client("portfolio", tokens("auditor")) as auditor:
        seen = (await auditor.get("/v1/changes/witnessed", params={"feed": FEED})).json()
    assert seen["items"] == []


async def test_the_gateway_publishes_every_services_keys(suite: Suite, suite_gateway: FastAPI) -> None:
    async with client_for(suite_gateway) as anonymous:
        answer = await anonymous.get("/.well-known/iv-audit-keys")
    assert answer.status_code == 200, answer.text
    feeds = {key["feed"]: key["kid"] for key in answer.json()["keys"]}
    assert set(feeds) == {"valuechains", "portfolio", "principles"}
    for service, kid in feeds.items():
        assert kid == app_of(suite, service).state.audit_keys.kid


def test_production_refuses_to_start_without_the_signing_key(tmp_path: Path) -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "jwks_url": "https://idp.example/jwks",
        "database_url": "postgresql+asyncpg://iv:a-long-generated-secret@db/portfolio",
        "oauth_token_url": "https://idp.example/token",
        "oauth_client_id": "portfolio",
        "oauth_client_secret": "generated",
        "var_dir": tmp_path,
    }
    create_app = service_module("portfolio").create_app
    with pytest.raises(RuntimeError, match="IV_AUDIT_SIGNING_KEY_FILE"):
        create_app(ServiceSettings(service="portfolio", **production))
    key = tmp_path / "audit.pem"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    app = create_app(ServiceSettings(service="portfolio", audit_signing_key_file=key, **production))
    assert app.state.audit_keys.kid == AuditKeys.load(app.state.settings).kid
    assert not list(tmp_path.glob("audit-signing-key-*"))  # nothing generated in production


def test_development_generates_a_key_per_service(tmp_path: Path) -> None:
    kids = {AuditKeys.load(settings_for(tmp_path, s, "sqlite+aiosqlite://")).kid for s in ("portfolio", "principles")}
    assert len(kids) == 2
    assert AuditKeys.load(settings_for(tmp_path, "portfolio", "sqlite+aiosqlite://")).kid in kids  # kept
