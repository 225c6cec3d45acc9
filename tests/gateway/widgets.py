"""A small service built from the chassis, for testing expansion in general.

It plays the portfolio service (``/portfolio/v1/widgets`` and ``/portfolio/v1/gadgets``): widgets
point at a value chain (external reference), at a gadget (local reference), at anything
(``see_also``), and carry ``links``, an array of objects each pointing at a chain (derived,
``fanout`` of them). Gadgets are classified (need to know) and point at a chain themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.app import service_factory
from services.chassis.changes import GENESIS_HASH
from services.chassis.db import ChassisBase, Database, new_metadata
from services.chassis.references import Ref, ref_type
from services.chassis.resources import Collection, Input, RefField, ResourceMixin, ResourceRead, crud_router
from services.chassis.uow import RequestContext
from tests.support import service_module, settings_for

ChainRef = ref_type("ChainRef", "/valuechains/v1/chains", "A value chain.")
GadgetRef = ref_type("GadgetRef", "/portfolio/v1/gadgets", "A gadget.")
Classification = Literal["public", "internal", "confidential", "secret"]


class Base(DeclarativeBase):
    metadata = new_metadata()


class Gadget(ResourceMixin, Base):
    __tablename__ = "gadgets"

    name: Mapped[str] = mapped_column(String(200))
    chain: Mapped[str] = mapped_column(String(200))
    data_classification: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")


class Widget(ResourceMixin, Base):
    __tablename__ = "widgets"

    name: Mapped[str] = mapped_column(String(200))
    chain: Mapped[str | None] = mapped_column(String(200))
    gadget_id: Mapped[str | None] = mapped_column(ForeignKey("gadgets.id"))
    see_also: Mapped[str | None] = mapped_column(String(200))
    fanout: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="active")


class GadgetCreate(Input):
    name: str
    chain: ChainRef  # type: ignore[valid-type]
    data_classification: Classification = "internal"


class GadgetRead(ResourceRead):
    name: str
    chain: ChainRef  # type: ignore[valid-type]
    data_classification: Classification


class Link(BaseModel):
    rel: str
    target: ChainRef  # type: ignore[valid-type]


class WidgetCreate(Input):
    name: str
    chain: ChainRef | None = None  # type: ignore[valid-type]
    gadget: GadgetRef | None = None  # type: ignore[valid-type]
    see_also: Ref | None = None
    fanout: int = Field(default=0, ge=0, le=5000)


class WidgetRead(ResourceRead):
    name: str
    chain: ChainRef | None  # type: ignore[valid-type]
    gadget: GadgetRef | None  # type: ignore[valid-type]
    see_also: Ref | None
    fanout: int
    links: list[Link] = Field(description="Derived: `fanout` links to the widget's chain.")


class Widgets(Collection[Widget]):
    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Widget]) -> dict[str, dict[str, Any]]:
        return {
            o.id: {"links": [{"rel": f"r{i}", "target": {"href": o.chain}} for i in range(o.fanout)] if o.chain else []}
            for o in objs
        }


gadgets: Collection[Gadget] = Collection(
    service="portfolio",
    name="gadgets",
    kind="gadget",
    model=Gadget,
    read=GadgetRead,
    create=GadgetCreate,
    references={"chain": RefField("/valuechains/v1/chains")},
)
widgets = Widgets(
    service="portfolio",
    name="widgets",
    kind="widget",
    model=Widget,
    read=WidgetRead,
    create=WidgetCreate,
    references={
        "chain": RefField("/valuechains/v1/chains"),
        "gadget": RefField("/portfolio/v1/gadgets", column="gadget_id", local=True),
        "see_also": RefField("*"),
    },
)

create_app = service_factory(
    "portfolio",
    title="widgets (test)",
    description="A test service.",
    collections=[gadgets, widgets],
    routers=[crud_router(gadgets), crud_router(widgets)],
    migrations_dir=service_module("portfolio").MIGRATIONS,
)


@contextlib.asynccontextmanager
async def widgets_database(directory: Path) -> AsyncIterator[Database]:
    """A fresh SQLite database with the chassis tables and the widget tables."""
    url = f"sqlite+aiosqlite:///{directory / 'widgets.db'}"
    db = Database(url, pool_size=2)
    async with db.write_engine.begin() as conn:
        await conn.run_sync(ChassisBase.metadata.create_all)
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(text("INSERT INTO change_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": GENESIS_HASH})
    try:
        yield db
    finally:
        await db.dispose()


def widgets_app(var_dir: Path, db: Database, transport: Any, **settings: Any) -> FastAPI:
    return create_app(settings_for(var_dir, "portfolio", db.url, **settings), transport=transport, database=db)
