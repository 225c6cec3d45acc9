"""Each service's command line: ``python -m services.<service> migrate|seed|prestart|revision``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import MetaData, func, select

from services.chassis.auth import Principal
from services.chassis.changes import ChangeHead
from services.chassis.db import Database
from services.chassis.migrations import cli as migrations_cli
from services.chassis.migrations import upgrade
from services.chassis.references import Upstreams, build_http_client
from services.chassis.settings import ServiceSettings
from services.chassis.signing_keys import ensure_dev_key
from services.chassis.uow import RequestContext

SeedLoader = Callable[[RequestContext], Awaitable[None]]

SEED_PRINCIPAL = Principal(sub="demo-seed", roles=frozenset({"admin"}), clearance="secret", name="Demo data")


async def database_is_empty(db: Database, metadata: MetaData) -> bool:
    """Nothing was ever written: no event in the feed and no row in any of the service's tables."""
    async with db.session(write=False) as session:
        head = await session.get(ChangeHead, 1)
        if head is None or head.seq > 0:
            return False
        for table in metadata.sorted_tables:
            if await session.scalar(select(func.count()).select_from(table)):
                return False
    return True


async def seed_if_empty(settings: ServiceSettings, metadata: MetaData, loader: SeedLoader) -> bool:
    """Load demo data into an empty database; a database with any data is left alone."""
    db = Database(settings.database_url, pool_size=1)
    client = build_http_client(settings)
    try:
        if not await database_is_empty(db, metadata):
            return False
        async with db.session(write=True) as session:
            ctx = RequestContext(
                principal=SEED_PRINCIPAL, session=session, settings=settings, upstreams=Upstreams(settings, client)
            )
            await loader(ctx)
        return True
    finally:
        await client.aclose()
        await db.dispose()


def service_main(
    service: str,
    *,
    migrations_dir: Path,
    metadata: MetaData,
    seed: SeedLoader | None,
    argv: list[str] | None = None,
) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    settings = ServiceSettings.for_service(service)
    action = args[0] if args else "prestart"
    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    if action in ("prestart", "seed"):
        if action == "prestart":
            if settings.is_development:
                ensure_dev_key(settings.dev_key_path)
            asyncio.run(upgrade(migrations_dir, settings.database_url))
            print(f"{service}: database migrated to head")
        if seed is not None:
            loaded = asyncio.run(seed_if_empty(settings, metadata, seed))
            print(f"{service}: {'demo data loaded (illustrative)' if loaded else 'has data; demo data not loaded'}")
        return
    migrations_cli(migrations_dir, settings.database_url, ["migrate", *args[1:]] if action == "migrate" else args)
