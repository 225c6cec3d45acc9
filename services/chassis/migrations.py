"""Each service's own alembic environment, driven from one place.

``python -m services.<service> migrate`` upgrades to head; ``python -m services.<service> revision
-m "..."`` autogenerates a dated revision. Migrations run the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chassis import access_log, audit  # noqa: F401 - register their tables on ChassisBase for autogenerate
from services.chassis.changes import GENESIS_HASH
from services.chassis.db import ChassisBase, UTCDateTime, single_use_engine

FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revisions(migrations_dir: Path) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://")).get_heads())


def known_revisions(migrations_dir: Path) -> set[str]:
    """Every revision this code has, heads and all before them."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://"))
    return {revision.revision for revision in script.walk_revisions()}


async def current_revisions(conn: AsyncConnection) -> set[str]:
    def read(sync_conn: Connection) -> set[str]:
        return set(MigrationContext.configure(sync_conn).get_current_heads())

    return await conn.run_sync(read)


def _configure(connection: Connection, metadata: Sequence[MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=list(metadata),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    targets = [ChassisBase.metadata, metadata]
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"), target_metadata=targets, literal_binds=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    if connection is not None:
        _configure(connection, targets)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = single_use_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.connect() as conn:
            await conn.run_sync(_configure_and_run, targets)
            await conn.commit()
        await engine.dispose()

    asyncio.run(online())


def _configure_and_run(connection: Connection, targets: Sequence[MetaData]) -> None:
    _configure(connection, targets)
    with context.begin_transaction():
        context.run_migrations()


async def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Upgrade a database from inside a running event loop (tests, prestart)."""
    engine = single_use_engine(database_url)
    try:
        async with engine.connect() as conn:

            def run(sync_conn: Connection) -> None:
                config = alembic_config(migrations_dir, database_url)
                config.attributes["connection"] = sync_conn
                command.upgrade(config, revision)

            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


def cli(migrations_dir: Path, database_url: str, argv: list[str]) -> None:
    """``migrate [revision]`` | ``revision -m MESSAGE`` | ``current`` | ``check``."""
    config = alembic_config(migrations_dir, database_url)
    action = argv[0] if argv else "migrate"
    if action == "migrate":
        command.upgrade(config, argv[1] if len(argv) > 1 else "head")
    elif action == "revision":
        message = argv[argv.index("-m") + 1] if "-m" in argv else "change"
        command.revision(config, message=message, autogenerate=True)
    elif action == "current":
        command.current(config, verbose=True)
    elif action == "check":
        command.check(config)
    elif action == "downgrade":
        command.downgrade(config, argv[1] if len(argv) > 1 else "-1")
    else:
        raise SystemExit(f"unknown migration action {action!r}")


# --- operations for the chassis's own tables, called from each service's first revision -------


def create_chassis_tables() -> None:
    """Change feed, its head row, and idempotency keys: every service database has them."""
    seq_type: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "change_events",
        sa.Column("seq", seq_type, autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_events")),
    )
    op.create_index(op.f("ix_change_events_subject"), "change_events", ["subject"], unique=False)
    _create_chain_head("change_head")
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False)


def _create_chain_head(name: str) -> None:
    """A hash chain's head: one row, at genesis."""
    seq_type: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", seq_type, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    head = sa.table(name, sa.column("id"), sa.column("seq"), sa.column("hash"))
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def _checkpoint_columns() -> list[sa.Column[Any]]:
    """A signed checkpoint's columns (``audit.Checkpoint``)."""
    seq_type: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return [
        sa.Column("number", seq_type, autoincrement=False, nullable=False),
        sa.Column("seq", seq_type, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
    ]


def drop_chassis_tables() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("change_head")
    op.drop_table("change_events")


def create_change_subjects() -> None:
    """Each subject's current visibility, filled from the last event about it."""
    op.create_table(
        "change_subjects",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("classification", sa.String(length=20), nullable=True),
        sa.Column("visible_to_unit", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_change_subjects")),
    )
    op.execute(
        "INSERT INTO change_subjects (subject, classification, visible_to_unit) "
        "SELECT e.subject, e.classification, e.visible_to_unit FROM change_events e "
        "WHERE e.seq = (SELECT max(l.seq) FROM change_events l WHERE l.subject = e.subject)"
    )


def drop_change_subjects() -> None:
    op.drop_table("change_subjects")


def create_instances() -> None:
    """Heartbeats of a service's instances, and which instance holds each Idempotency-Key in flight."""
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_index(op.f("ix_instances_seen_at"), "instances", ["seen_at"], unique=False)
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=100), nullable=True))


def drop_instances() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("holder")
    op.drop_index(op.f("ix_instances_seen_at"), table_name="instances")
    op.drop_table("instances")


def create_audit_tables() -> None:
    """Signed checkpoints of the service's own feed, and the other feeds' it witnessed."""
    op.create_table(
        "audit_checkpoints",
        *_checkpoint_columns(),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_witnesses",
        sa.Column("feed", sa.String(length=40), nullable=False),
        *_checkpoint_columns(),
        sa.Column("witnessed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("feed", "number", name=op.f("pk_audit_witnesses")),
    )


def drop_audit_tables() -> None:
    op.drop_table("audit_witnesses")
    op.drop_table("audit_checkpoints")


def create_change_type_index() -> None:
    """The feed filtered by ``type`` reads one range of (type, seq), in order."""
    op.create_index("ix_change_events_type_seq", "change_events", ["type", "seq"], unique=False)


def drop_change_type_index() -> None:
    op.drop_index("ix_change_events_type_seq", table_name="change_events")


def create_access_log_tables() -> None:
    """The access log of partner reads (``services.chassis.access_log``): a second hash chain, its
    head and its signed checkpoints."""
    seq_type: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "access_log",
        sa.Column("seq", seq_type, autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("partner_org", sa.String(length=120), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log")),
    )
    op.create_index("ix_access_log_partner_org_seq", "access_log", ["partner_org", "seq"], unique=False)
    op.create_index("ix_access_log_subject_seq", "access_log", ["subject", "seq"], unique=False)
    op.create_index("ix_access_log_at", "access_log", ["at"], unique=False)
    _create_chain_head("access_log_head")
    op.create_table(
        "access_log_checkpoints",
        *_checkpoint_columns(),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_access_log_checkpoints")),
    )


def drop_access_log_tables() -> None:
    op.drop_table("access_log_checkpoints")
    op.drop_table("access_log_head")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_index("ix_access_log_subject_seq", table_name="access_log")
    op.drop_index("ix_access_log_partner_org_seq", table_name="access_log")
    op.drop_table("access_log")
