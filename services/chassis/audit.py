"""The audit feed against someone with access to the database: signed checkpoints and witnesses.

The change feed's hash chain (``services.chassis.changes``) shows an event edited in place, but not
a chain recomputed from the edit onwards, nor the newest events cut off with the head rewound: the
database holds everything the chain is checked against. So the chain is anchored outside it:

- **Signed checkpoints.** Every ``IV_AUDIT_CHECKPOINT_EVERY_EVENTS`` events (or
  ``IV_AUDIT_CHECKPOINT_SECONDS`` after the last checkpoint, when the feed moved), the service signs
  its head: ``(feed, number, seq, hash, at, kid)`` as canonical JSON, Ed25519, with a key from a
  file that is no part of the database (``IV_AUDIT_SIGNING_KEY_FILE``, a mounted secret). Its public
  keys are published at ``/.well-known/iv-audit-keys`` (a JWK set; key ids are RFC 7638
  thumbprints, and earlier keys stay listed, so keys can rotate). Checkpoints are numbered 1, 2, ...
  and kept in the service's own database: whoever can write there cannot sign.
- **Witnesses.** Each service records the other services' new checkpoints (signature checked) in
  its own database, with its own short-lived credentials, every ``IV_AUDIT_WITNESS_SECONDS``. A
  database rewound to an older backup, or rewritten with its checkpoints removed, is contradicted
  by what the others witnessed.
- **Verification** (``GET /v1/changes/verify``, auditors and admins) recomputes the chain from where
  this process last verified it (the whole chain the first time, or ``?from=genesis``: admins),
  checks every checkpoint's signature and numbering, that the event at each checkpoint's seq still
  has the signed hash, and asks every other service (with the caller's token) what it witnessed of
  this feed. Each finding names what is wrong. The hashing runs in a worker thread, chunk by chunk;
  concurrent verifications share one run (single flight), so twenty auditors cost one.

What a database administrator can still do unnoticed: remove the events written since the newest
checkpoint anyone holds (at most ``IV_AUDIT_CHECKPOINT_EVERY_EVENTS`` events or
``IV_AUDIT_CHECKPOINT_SECONDS`` of them), unless this process verified them before. An edit of an
event before the last verification that leaves every stored hash alone shows in a verification
from genesis.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Integer, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.auth import AUDITOR_ROLES, CurrentPrincipal, Principal, require_role
from services.chassis.canonical import canonical_json
from services.chassis.changes import GENESIS_HASH, MAX_SEQ, ChainHead, ChangeEvent, ChangeHead, event_hash, format_time
from services.chassis.db import ChassisBase, Database, UTCDateTime, utcnow
from services.chassis.errors import Forbidden, Problem, problem_responses
from services.chassis.pagination import MAX_LIMIT
from services.chassis.queries import strict_router
from services.chassis.references import Upstreams
from services.chassis.routing import SERVICES
from services.chassis.settings import ServiceSettings
from services.chassis.signing_keys import ensure_private_key
from services.chassis.tasks import gather
from services.chassis.uow import ReadSession

logger = logging.getLogger("iv.audit")

KEYS_PATH = "/.well-known/iv-audit-keys"
CHUNK = 1000
MAX_FINDINGS = 50
_Seq = BigInteger().with_variant(Integer, "sqlite")
FEED_PATTERN = f"^({'|'.join(SERVICES)})(\\.[a-z][a-z-]{{0,19}})?$"
"""A chain's feed name: a service (its change feed), or a service and a chain's suffix (``.access-log``)."""


class Checkpoint:
    """The columns of a signed statement of a chain's head: ``number`` counts them, 1, 2, ..."""

    number: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_Seq)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))


class AuditCheckpoint(Checkpoint, ChassisBase):
    """A signed statement of this service's change feed head."""

    __tablename__ = "audit_checkpoints"


@dataclass(frozen=True)
class Chain:
    """A hash chain a service keeps and anchors the same way: its entries (each with ``seq``,
    ``prev_hash`` and ``hash``), its head row, its signed checkpoints, and what an entry's hash
    covers. The change feed is one; the access log of partner reads (``services.chassis.access_log``)
    another. Checkpoints sign ``feed`` = the service's name plus ``suffix``, so a checkpoint of
    one chain can never pass for one of another."""

    name: str
    """Its path under ``/v1`` (``changes``, ``access-log``)."""
    title: str
    entries: Any
    head: type[ChainHead]
    checkpoints: Any
    digest: Callable[[Any], str]
    state: str
    """The prefix of its names on ``app.state``: ``<state>_verifier``, ``<state>_verified``."""
    suffix: str = ""

    def feed(self, service: str) -> str:
        return service + self.suffix

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"

    def verified(self, app: FastAPI) -> Verified | None:
        mark: Verified | None = getattr(app.state, f"{self.state}_verified", None)
        return mark

    def mark_verified(self, app: FastAPI, mark: Verified) -> None:
        setattr(app.state, f"{self.state}_verified", mark)

    def verifier(self, app: FastAPI) -> Verifier:
        verifier: Verifier = getattr(app.state, f"{self.state}_verifier")
        return verifier


CHANGES = Chain(
    name="changes",
    title="the change feed",
    entries=ChangeEvent,
    head=ChangeHead,
    checkpoints=AuditCheckpoint,
    digest=event_hash,
    state="audit",
)


class AuditWitness(ChassisBase):
    """Another service's signed checkpoint, as this service saw it (signature checked)."""

    __tablename__ = "audit_witnesses"

    feed: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_Seq)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    witnessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# --- keys and signatures ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The JWK of a public key (RFC 8037), its ``kid`` the RFC 7638 thumbprint."""
    x = _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    kid = _b64(hashlib.sha256(canonical_json({"crv": "Ed25519", "kty": "OKP", "x": x}).encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}


def keys_from_jwks(document: Any) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK set by their thumbprint (a key whose ``kid`` is not its
    thumbprint, or that is no Ed25519 key, is left out)."""
    found: dict[str, Ed25519PublicKey] = {}
    keys = document.get("keys") if isinstance(document, dict) else None
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            key = Ed25519PublicKey.from_public_bytes(_unb64(str(jwk.get("x", ""))))
        except ValueError:
            continue
        if public_jwk(key)["kid"] == jwk.get("kid"):
            found[str(jwk["kid"])] = key
    return found


def statement(feed: str, number: int, seq: int, hash: str, at: dt.datetime, kid: str) -> bytes:
    """What a checkpoint's signature covers."""
    material = {"feed": feed, "number": number, "seq": seq, "hash": hash, "at": format_time(at), "kid": kid}
    return canonical_json(material).encode()


def signature_holds(keys: dict[str, Ed25519PublicKey], feed: str, checkpoint: Any) -> bool:
    """Whether ``checkpoint`` (anything with number, seq, hash, at, kid, signature) is signed by one
    of ``keys`` for ``feed``."""
    key = keys.get(checkpoint.kid)
    if key is None:
        return False
    material = statement(feed, checkpoint.number, checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.kid)
    try:
        key.verify(_unb64(checkpoint.signature), material)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class AuditKeys:
    """This service's signing key, and every public key its checkpoints may carry."""

    private: Ed25519PrivateKey
    kid: str
    public: dict[str, Ed25519PublicKey]

    @classmethod
    def load(cls, settings: ServiceSettings) -> AuditKeys:
        """The key from ``IV_AUDIT_SIGNING_KEY_FILE``; in development one generated into var_dir.
        Outside development a service without its key file refuses to start."""
        path = settings.audit_key_path
        if settings.audit_signing_key_file is None and not settings.is_development:
            raise RuntimeError(
                "IV_AUDIT_SIGNING_KEY_FILE must name the audit signing key (a mounted secret) outside "
                "development: checkpoints signed with a generated key anchor nothing"
            )
        if settings.is_development:
            loaded = ensure_private_key(path, Ed25519PrivateKey.generate)
        else:
            if not path.is_file():
                raise RuntimeError(f"the audit signing key {path} is not there (IV_AUDIT_SIGNING_KEY_FILE)")
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise RuntimeError(f"{path} is not an Ed25519 private key")
        own = loaded.public_key()
        kid = public_jwk(own)["kid"]
        public = {kid: own}
        for earlier in settings.audit_public_key_files:
            key = serialization.load_pem_public_key(earlier.read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise RuntimeError(f"{earlier} is not an Ed25519 public key")
            public[public_jwk(key)["kid"]] = key
        return cls(private=loaded, kid=kid, public=public)

    def sign(self, material: bytes) -> str:
        return _b64(self.private.sign(material))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key) for key in self.public.values()]}


# --- checkpoints -----------------------------------------------------------------------------------


def _due(head: ChainHead | None, last: Checkpoint | None, settings: ServiceSettings, force: bool) -> bool:
    if head is None or head.seq == 0 or (last is not None and head.seq <= last.seq):
        return False  # nothing new (a head behind the last checkpoint is verification's to report)
    return (
        force
        or last is None
        or head.seq - last.seq >= settings.audit_checkpoint_every_events
        or utcnow() - last.at >= dt.timedelta(seconds=settings.audit_checkpoint_seconds)
    )


async def _head_and_last(session: AsyncSession, chain: Chain) -> tuple[ChainHead | None, Checkpoint | None]:
    head = await session.get(chain.head, 1)
    last = await session.scalar(select(chain.checkpoints).order_by(chain.checkpoints.number.desc()).limit(1))
    return head, last


async def write_checkpoint(
    db: Database, keys: AuditKeys, settings: ServiceSettings, *, force: bool = False, chain: Chain = CHANGES
) -> Checkpoint | None:
    """Sign the chain's head when a checkpoint is due (``force``: whenever the head moved since the
    last one). Looked at in a read transaction first, so an idle chain never takes the write lock.
    Two instances racing for the same number: one wins, the other writes nothing."""
    async with db.session(write=False) as session:
        if not _due(*await _head_and_last(session, chain), settings, force):
            return None
    try:
        async with db.session(write=True) as session:
            head, last = await _head_and_last(session, chain)
            if head is None or not _due(head, last, settings, force):
                return None
            number = last.number + 1 if last is not None else 1
            now = utcnow()
            checkpoint = chain.checkpoints(number=number, seq=head.seq, hash=head.hash, at=now, kid=keys.kid)
            feed = chain.feed(settings.service)
            checkpoint.signature = keys.sign(statement(feed, number, head.seq, head.hash, now, keys.kid))
            session.add(checkpoint)
    except IntegrityError:
        return None
    made: Checkpoint = checkpoint
    return made


def chains_of(app: FastAPI) -> tuple[Chain, ...]:
    """The chains this service keeps (``app.state.audit_chains``; the change feed alone when unset)."""
    chains: tuple[Chain, ...] = getattr(app.state, "audit_chains", (CHANGES,))
    return chains


async def keep_checkpointing(app: FastAPI) -> None:
    """The background task: look at each chain's head every ``IV_AUDIT_POLL_SECONDS``, sign it when due."""
    settings: ServiceSettings = app.state.settings
    while True:
        await asyncio.sleep(settings.audit_poll_seconds)
        for chain in chains_of(app):
            try:
                await write_checkpoint(app.state.db, app.state.audit_keys, settings, chain=chain)
            except Exception:
                logger.exception("writing an audit checkpoint of %s failed", chain.title)


# --- witnesses -------------------------------------------------------------------------------------


def _parse_checkpoint(item: Any) -> CheckpointRead | None:
    try:
        return CheckpointRead.model_validate(item)
    except ValueError:
        return None


async def witness(app: FastAPI) -> dict[str, int]:
    """Record the other services' new signed checkpoints; how many per feed (a feed that cannot be
    reached is skipped this time). A checkpoint whose signature does not hold is not recorded."""
    settings: ServiceSettings = app.state.settings
    upstreams: Upstreams = app.state.upstreams
    db: Database = app.state.db
    principal = await app.state.credentials.principal()
    recorded: dict[str, int] = {}
    for service in SERVICES:
        if service == settings.service:
            continue
        for chain in chains_of(app):
            feed = chain.feed(service)
            try:
                recorded[feed] = await _witness_feed(db, upstreams, principal, service, chain)
            except Problem as exc:
                logger.debug("witnessing the %s feed failed: %s", feed, exc.detail)
    return recorded


async def _witness_feed(db: Database, upstreams: Upstreams, principal: Principal, service: str, chain: Chain) -> int:
    feed = chain.feed(service)
    async with db.session(write=False) as session:
        last = await session.scalar(
            select(AuditWitness.number).where(AuditWitness.feed == feed).order_by(AuditWitness.number.desc()).limit(1)
        )
    answer = await upstreams.get_json(f"/{service}{chain.path}/checkpoints", principal, {"after": last or 0})
    items = answer.json().get("items", []) if answer.status_code == 200 else []
    if not items:
        return 0
    keys = keys_from_jwks((await upstreams.get_json(f"/{service}{KEYS_PATH}", principal)).json())
    new: list[AuditWitness] = []
    now = utcnow()
    for item in items:
        checkpoint = _parse_checkpoint(item)
        if checkpoint is None or checkpoint.feed != feed or not signature_holds(keys, feed, checkpoint):
            logger.warning("the %s feed offered a checkpoint whose signature does not hold: %s", feed, item)
            continue
        new.append(AuditWitness(**checkpoint.model_dump(exclude={"feed"}), feed=feed, witnessed_at=now))
    try:
        async with db.session(write=True) as session:
            session.add_all(new)
    except IntegrityError:
        return 0  # another instance recorded them first
    return len(new)


async def keep_witnessing(app: FastAPI) -> None:
    settings: ServiceSettings = app.state.settings
    while True:
        await asyncio.sleep(settings.audit_witness_seconds)
        try:
            await witness(app)
        except Exception:
            logger.exception("witnessing the other feeds failed")


# --- the API's shapes ------------------------------------------------------------------------------


class Jwk(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="Its RFC 7638 thumbprint; checkpoints name it.")
    use: Literal["sig"]
    alg: Literal["EdDSA"]


class JwkSet(BaseModel):
    keys: list[Jwk]


class CheckpointRead(BaseModel):
    feed: str = Field(description="The service whose feed this is.")
    number: int = Field(description="Checkpoints are numbered 1, 2, ... without gaps.")
    seq: int = Field(description="The feed's head seq when signed.")
    hash: str = Field(description="The hash of the event at `seq`.")
    at: dt.datetime = Field(description="When it was signed, UTC.")
    kid: str = Field(description="The signing key, in the feed's `/.well-known/iv-audit-keys`.")
    signature: str = Field(
        description="Ed25519 over the canonical JSON of feed, number, seq, hash, at (microseconds, Z) "
        "and kid, base64url."
    )


class CheckpointPage(BaseModel):
    items: list[CheckpointRead]
    next: str | None


class WitnessRead(CheckpointRead):
    witnessed_at: dt.datetime = Field(description="When this service recorded it.")


class WitnessPage(BaseModel):
    items: list[WitnessRead]
    next: str | None


FindingKind = Literal[
    "event_altered",
    "event_missing",
    "chain_broken",
    "head_mismatch",
    "truncated",
    "rewritten",
    "checkpoint_forged",
    "checkpoint_missing",
    "rolled_back",
    "witness_contradicts",
]


class Finding(BaseModel):
    kind: FindingKind = Field(
        description="`event_altered`: an event's content no longer matches its hash; `event_missing`: a seq "
        "is absent; `chain_broken`: an event does not follow its predecessor; `head_mismatch`: the head is not "
        "the chain's last event; `truncated`: a signed checkpoint or an earlier verification covers events "
        "that are gone; `rewritten`: the event at a signed checkpoint has another hash now; "
        "`checkpoint_forged`: a checkpoint's signature does not hold; `checkpoint_missing`: a checkpoint "
        "number is absent; `rolled_back`: another service witnessed checkpoints newer than any here; "
        "`witness_contradicts`: a checkpoint here differs from the one another service witnessed."
    )
    detail: str
    seq: int | None = None
    checkpoint: int | None = None
    witness: str | None = Field(default=None, description="The service whose record shows it.")


class WitnessReport(BaseModel):
    service: str
    compared: int = Field(description="Checkpoints of this feed that service witnessed and were compared.")
    status: Literal["agrees", "contradicts", "unreachable"]


class VerifyResult(BaseModel):
    ok: bool
    count: int | None = Field(default=None, description="Events in the chain, when everything checks out.")
    broken_at: int | None = Field(default=None, description="The first seq that does not check out.")
    scope: Literal["incremental", "genesis"] = Field(
        description="`incremental`: recomputed from where this service last verified the feed; `genesis`: all."
    )
    recomputed: int = Field(description="Events whose hash was recomputed by this verification.")
    checkpoint: int | None = Field(default=None, description="The newest signed checkpoint, when it checks out.")
    findings: list[Finding] = Field(description=f"What is wrong, the first {MAX_FINDINGS}.")
    more_findings: int = Field(default=0, description="Findings beyond those listed.")
    witnesses: list[WitnessReport]
    verified_at: dt.datetime = Field(description="When this verification ended (concurrent callers share it).")


# --- verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """Where this process last found the feed intact (kept in memory, out of the database's reach)."""

    seq: int
    hash: str
    checkpoint: int | None
    checkpoint_seq: int | None
    at: dt.datetime


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)
    more: int = 0

    def add(self, kind: FindingKind, detail: str, **where: Any) -> None:
        if len(self.items) < MAX_FINDINGS:
            self.items.append(Finding(kind=kind, detail=detail, **where))
        else:
            self.more += 1

    @property
    def first_seq(self) -> int | None:
        seqs = [f.seq for f in self.items if f.seq is not None]
        return min(seqs) if seqs else None


@dataclass
class ChainScan:
    """The recomputation's state between chunks; runs in a worker thread."""

    next_seq: int
    prev_hash: str
    digest: Callable[[Any], str] = event_hash
    recomputed: int = 0
    broken: bool = False

    def scan(self, rows: Sequence[Any], findings: Findings) -> None:
        for row in rows:
            if self.broken:
                return
            self.recomputed += 1
            if row.seq != self.next_seq:
                missing = f"{self.next_seq}" if row.seq == self.next_seq + 1 else f"{self.next_seq} to {row.seq - 1}"
                findings.add("event_missing", f"event {missing} is missing: deleted", seq=self.next_seq)
                self.broken = True
            elif self.digest(row) != row.hash:
                findings.add("event_altered", f"event {row.seq} no longer matches its hash: edited", seq=row.seq)
                self.broken = True
            elif row.prev_hash != self.prev_hash:
                findings.add(
                    "chain_broken",
                    f"event {row.seq} does not follow event {row.seq - 1}: an earlier event was replaced",
                    seq=row.seq,
                )
                self.broken = True
            else:
                self.next_seq, self.prev_hash = row.seq + 1, row.hash


class Verifier:
    """One service's verification: single flight per scope, one run at a time."""

    def __init__(self, app: FastAPI, chain: Chain = CHANGES) -> None:
        self.app = app
        self.chain = chain
        self._flights: dict[bool, asyncio.Task[VerifyResult]] = {}
        self._last: dict[bool, tuple[float, VerifyResult]] = {}
        self._one_at_a_time = asyncio.Lock()
        self.runs = 0  # verifications run (however many callers each served)

    async def verify(self, principal: Principal, *, genesis: bool) -> VerifyResult:
        """The verification of this scope that ended within ``IV_AUDIT_VERIFY_REUSE_SECONDS``, or
        the one under way, or a new one."""
        reuse = self.app.state.settings.audit_verify_reuse_seconds
        last = self._last.get(genesis)
        if last is not None and time.monotonic() - last[0] < reuse:
            return last[1]
        flight = self._flights.get(genesis)
        if flight is None:
            flight = asyncio.create_task(self._run(principal, genesis))
            self._flights[genesis] = flight
            flight.add_done_callback(lambda _: self._flights.pop(genesis, None))
        return await asyncio.shield(flight)

    async def _run(self, principal: Principal, genesis: bool) -> VerifyResult:
        async with self._one_at_a_time:
            self.runs += 1
            result = await verify_feed(self.app, principal, genesis=genesis, chain=self.chain)
        self._last[genesis] = (time.monotonic(), result)
        return result


async def _witnessed(
    app: FastAPI, principal: Principal, after: int, chain: Chain
) -> dict[str, list[CheckpointRead] | None]:
    """What every other service witnessed of this chain after checkpoint ``after`` (``None``: it
    could not be asked)."""
    settings: ServiceSettings = app.state.settings
    upstreams: Upstreams = app.state.upstreams

    async def ask(service: str) -> list[CheckpointRead] | None:
        items: list[CheckpointRead] = []
        cursor = after
        while True:
            try:
                answer = await upstreams.get_json(
                    f"/{service}/v1/changes/witnessed",
                    principal,
                    {"feed": chain.feed(settings.service), "after": cursor, "limit": MAX_LIMIT},
                )
            except Problem:
                return None
            if answer.status_code != 200:
                return None
            page = answer.json()
            batch = [c for c in (_parse_checkpoint(i) for i in page.get("items", [])) if c is not None]
            items += batch
            if not page.get("next") or not batch:
                return items
            cursor = batch[-1].number

    others = [s for s in SERVICES if s != settings.service]
    answers = await gather(*(ask(s) for s in others))
    return dict(zip(others, answers, strict=True))


async def _hashes_at(session: AsyncSession, seqs: Iterable[int], entries: Any) -> dict[int, str]:
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        rows = await session.execute(select(entries.seq, entries.hash).where(entries.seq.in_(part)))
        found.update({int(seq): str(hash) for seq, hash in rows.all()})
    return found


async def verify_feed(app: FastAPI, principal: Principal, *, genesis: bool, chain: Chain = CHANGES) -> VerifyResult:
    settings: ServiceSettings = app.state.settings
    keys: AuditKeys = app.state.audit_keys
    feed = chain.feed(settings.service)
    entries, head = chain.entries, chain.head
    mark = None if genesis else chain.verified(app)
    findings = Findings()
    # Asked before the read transaction: no call to another service while it is open. What was
    # witnessed up to the checkpoint this process verified was compared then.
    witnessed = await _witnessed(app, principal, mark.checkpoint or 0 if mark else 0, chain)
    db: Database = app.state.db
    async with db.session(write=False) as session:
        # Checkpoints first, then the head with the newest entry in one statement, and entries only up
        # to that head: writes committed meanwhile (PostgreSQL reads each statement afresh) can then
        # neither look like a checkpoint ahead of the head nor like entries beyond it.
        checkpoints: list[Checkpoint] = list(
            (await session.scalars(select(chain.checkpoints).order_by(chain.checkpoints.number))).all()
        )
        newest_event = select(func.max(entries.seq)).scalar_subquery()
        row = (await session.execute(select(head.seq, head.hash, newest_event).where(head.id == 1))).one_or_none()
        head_seq, head_hash, max_seq = (row[0], row[1], row[2] or 0) if row is not None else (0, GENESIS_HASH, 0)
        by_number = {c.number: c for c in checkpoints}
        at_seqs = await _hashes_at(
            session,
            [c.seq for c in checkpoints]
            + [w.seq for ws in witnessed.values() for w in ws or []]
            + ([mark.seq] if mark else []),
            entries,
        )

        # Where to start: where this process last found the feed intact, if it still is as it was.
        scan = ChainScan(next_seq=1, prev_hash=GENESIS_HASH, digest=chain.digest)
        if mark is not None:
            if at_seqs.get(mark.seq) != mark.hash:
                kind: FindingKind = "truncated" if head_seq < mark.seq else "rewritten"
                findings.add(
                    kind,
                    f"event {mark.seq} was verified with hash {mark.hash[:12]}... at {format_time(mark.at)}; "
                    + ("it is gone" if head_seq < mark.seq else "it has another hash now"),
                    seq=mark.seq,
                )
            elif mark.checkpoint is not None and (
                (cp := by_number.get(mark.checkpoint)) is None or cp.seq != mark.checkpoint_seq
            ):
                findings.add(
                    "checkpoint_missing",
                    f"checkpoint {mark.checkpoint}, verified at {format_time(mark.at)}, is gone or changed",
                    checkpoint=mark.checkpoint,
                )
            else:
                scan = ChainScan(next_seq=mark.seq + 1, prev_hash=mark.hash, digest=chain.digest)
        start_seq = scan.next_seq

        # The chain, chunk by chunk: the database read here, the hashing in a worker thread.
        while not scan.broken:
            stmt = (
                select(*entries.__table__.columns)
                .where(entries.seq >= scan.next_seq, entries.seq <= head_seq)
                .order_by(entries.seq)
                .limit(CHUNK)
            )
            rows = (await session.execute(stmt)).all()
            await anyio.to_thread.run_sync(scan.scan, rows, findings)
            if len(rows) < CHUNK:
                break
    end_seq, end_hash = scan.next_seq - 1, scan.prev_hash
    if max_seq > head_seq:
        findings.add(
            "head_mismatch",
            f"events up to seq {max_seq} lie beyond the head at seq {head_seq}: the head was moved back",
            seq=head_seq + 1,
        )
    elif not scan.broken and (end_seq, end_hash) != (head_seq, head_hash):
        findings.add(
            "head_mismatch",
            f"the head says seq {head_seq}, the chain ends at seq {end_seq}: the head was moved",
            seq=min(end_seq, head_seq) + 1,
        )

    # The signed checkpoints: signatures, numbering, and the event each one signed.
    signatures = await anyio.to_thread.run_sync(lambda: [signature_holds(keys.public, feed, c) for c in checkpoints])
    expected_number, last_seq = 1, 0
    newest: Checkpoint | None = None
    for checkpoint, holds in zip(checkpoints, signatures, strict=True):
        if checkpoint.number != expected_number:
            findings.add(
                "checkpoint_missing",
                f"checkpoint {expected_number} is missing (the next one here is {checkpoint.number})",
                checkpoint=expected_number,
            )
        expected_number = checkpoint.number + 1
        if not holds:
            findings.add(
                "checkpoint_forged",
                f"checkpoint {checkpoint.number} is not signed by this service's key (kid {checkpoint.kid})",
                checkpoint=checkpoint.number,
                seq=checkpoint.seq,
            )
            continue
        if checkpoint.seq < last_seq:
            findings.add(
                "checkpoint_forged",
                f"checkpoint {checkpoint.number} signs seq {checkpoint.seq}, behind an earlier one",
                checkpoint=checkpoint.number,
            )
        last_seq = max(last_seq, checkpoint.seq)
        _check_signed_event(findings, checkpoint.number, checkpoint.seq, checkpoint.hash, checkpoint.at, at_seqs, None)
        newest = checkpoint

    # What the other services witnessed of this feed.
    reports: list[WitnessReport] = []
    own_newest = checkpoints[-1].number if checkpoints else 0
    for service, seen in witnessed.items():
        if seen is None:
            reports.append(WitnessReport(service=service, compared=0, status="unreachable"))
            continue
        before = len(findings.items) + findings.more
        for w in seen:
            if not signature_holds(keys.public, feed, w):
                continue  # not ours: it says nothing about this feed
            own = by_number.get(w.number)
            if own is None:
                if w.number > own_newest:
                    findings.add(
                        "rolled_back",
                        f"{service} witnessed checkpoint {w.number} (seq {w.seq}, signed {format_time(w.at)}); "
                        f"the newest here is {own_newest or 'none'}: the database was rolled back or its "
                        "checkpoints removed",
                        checkpoint=w.number,
                        seq=w.seq if w.seq > head_seq else None,
                        witness=service,
                    )
                else:
                    findings.add(
                        "checkpoint_missing",
                        f"checkpoint {w.number}, witnessed by {service}, is missing here",
                        checkpoint=w.number,
                        witness=service,
                    )
            elif (own.seq, own.hash, own.signature) != (w.seq, w.hash, w.signature):
                findings.add(
                    "witness_contradicts",
                    f"checkpoint {w.number} here signs seq {own.seq}; {service} witnessed it signing seq {w.seq} "
                    f"with hash {w.hash[:12]}...: the database was rolled back and written anew",
                    checkpoint=w.number,
                    witness=service,
                )
            _check_signed_event(findings, w.number, w.seq, w.hash, w.at, at_seqs, service)
        agrees = len(findings.items) + findings.more == before
        reports.append(WitnessReport(service=service, compared=len(seen), status="agrees" if agrees else "contradicts"))

    ok = not findings.items
    if ok:
        chain.mark_verified(
            app,
            Verified(
                seq=end_seq,
                hash=end_hash,
                checkpoint=newest.number if newest else None,
                checkpoint_seq=newest.seq if newest else None,
                at=utcnow(),
            ),
        )
    return VerifyResult(
        ok=ok,
        count=end_seq if ok else None,
        broken_at=None if ok else (findings.first_seq or end_seq + 1),
        scope="incremental" if start_seq > 1 else "genesis",
        recomputed=scan.recomputed,
        checkpoint=newest.number if ok and newest else None,
        findings=findings.items,
        more_findings=findings.more,
        witnesses=reports,
        verified_at=utcnow(),
    )


def _check_signed_event(
    findings: Findings,
    number: int,
    seq: int,
    signed_hash: str,
    at: dt.datetime,
    at_seqs: dict[int, str],
    witness: str | None,
) -> None:
    """The event a checkpoint signed must still be there with the signed hash."""
    who = f" (witnessed by {witness})" if witness else ""
    now = at_seqs.get(seq)
    if now is None:
        findings.add(
            "truncated",
            f"checkpoint {number}{who} signed seq {seq} at {format_time(at)}, but event {seq} is gone: "
            "events were removed from the end",
            seq=seq,
            checkpoint=number,
            witness=witness,
        )
    elif now != signed_hash:
        findings.add(
            "rewritten",
            f"event {seq} has hash {now[:12]}..., but checkpoint {number}{who} signed {signed_hash[:12]}... "
            f"at {format_time(at)}: the feed was rewritten",
            seq=seq,
            checkpoint=number,
            witness=witness,
        )


# --- routes ----------------------------------------------------------------------------------------

Auditor = Annotated[Principal, Depends(require_role(*AUDITOR_ROLES))]


def audit_router(public_prefix: str, chains: Sequence[Chain] = (CHANGES,)) -> APIRouter:
    """The keys, and for each chain its checkpoints and verification; what this service witnessed
    of the other services' chains."""
    router = strict_router(tags=["changes"])

    @router.get(
        KEYS_PATH,
        response_model=JwkSet,
        summary="The audit feed's public keys",
        description="The Ed25519 keys (a JWK set) that verify this service's signed checkpoints, the "
        "current one and earlier ones. No token needed.",
    )
    async def audit_keys(request: Request) -> JwkSet:
        keys: AuditKeys = request.app.state.audit_keys
        return JwkSet.model_validate(keys.jwks())

    for chain in chains:
        _chain_routes(router, chain, public_prefix)

    @router.get(
        "/v1/changes/witnessed",
        response_model=WitnessPage,
        summary="Other services' checkpoints this service witnessed",
        responses=problem_responses(401, 403, 422),
        description="The signed checkpoints of the other services' chains this service recorded (for "
        "auditors and admins): `feed` is a service (its change feed) or a service's access log "
        "(`valuechains.access-log`). A service's verification compares its own chains with these.",
    )
    async def witnessed(
        _: Auditor,
        session: ReadSession,
        feed: Annotated[str, Query(pattern=FEED_PATTERN, description="Whose chain.")],
        after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Checkpoints numbered above this.")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    ) -> WitnessPage:
        stmt = (
            select(AuditWitness)
            .where(AuditWitness.feed == feed, AuditWitness.number > after)
            .order_by(AuditWitness.number)
        )
        rows = (await session.scalars(stmt.limit(limit + 1))).all()
        columns = ("feed", "number", "seq", "hash", "at", "kid", "signature", "witnessed_at")
        items = [WitnessRead(**{c: getattr(r, c) for c in columns}) for r in rows[:limit]]
        more = (
            f"{public_prefix}/v1/changes/witnessed?feed={feed}&after={items[-1].number}&limit={limit}"
            if len(rows) > limit
            else None
        )
        return WitnessPage(items=items, next=more)

    return router


def _chain_routes(router: APIRouter, chain: Chain, public_prefix: str) -> None:
    @router.get(
        f"{chain.path}/checkpoints",
        response_model=CheckpointPage,
        summary=f"Signed checkpoints of {chain.title}",
        responses=problem_responses(401, 403, 422),
        description=f"This service's signed statements of the head of {chain.title}, by number. Other "
        "services record them as witnesses; check them with the keys at `/.well-known/iv-audit-keys`.",
    )
    async def checkpoints(
        request: Request,
        _: CurrentPrincipal,
        session: ReadSession,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Checkpoints numbered above this.")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    ) -> CheckpointPage:
        feed = chain.feed(request.app.state.settings.service)
        table = chain.checkpoints
        stmt = select(table).where(table.number > after).order_by(table.number)
        rows = (await session.scalars(stmt.limit(limit + 1))).all()
        items = [
            CheckpointRead(feed=feed, **{c: getattr(r, c) for c in ("number", "seq", "hash", "at", "kid", "signature")})
            for r in rows[:limit]
        ]
        more = None
        if len(rows) > limit:
            more = f"{public_prefix}{chain.path}/checkpoints?after={items[-1].number}&limit={limit}"
        return CheckpointPage(items=items, next=more)

    @router.get(
        f"{chain.path}/verify",
        response_model=VerifyResult,
        response_model_exclude_none=True,
        summary=f"Verify {chain.title}",
        responses=problem_responses(401, 403, 422),
        description=f"For auditors and admins. Recomputes the SHA-256 chain of {chain.title} from where this "
        "service last found it intact (`?from=genesis`, admins only: over every entry), checks each signed "
        "checkpoint and asks the other services what they witnessed of it. `ok` with `count` when everything "
        "checks out; otherwise `broken_at` and `findings`, each naming what is wrong. Concurrent calls "
        "share one verification.",
    )
    async def verify(
        request: Request,
        principal: Auditor,
        from_: Annotated[
            Literal["checkpoint", "genesis"],
            Query(alias="from", description="`checkpoint` (default): incremental; `genesis`: every entry."),
        ] = "checkpoint",
    ) -> VerifyResult:
        if from_ == "genesis" and not principal.is_admin:
            raise Forbidden("a verification from genesis is for admins")
        return await chain.verifier(request.app).verify(principal, genesis=from_ == "genesis")
