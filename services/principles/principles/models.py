import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.chassis.resources import ResourceMixin
from services.principles.base import Base


class Principle(ResourceMixin, Base):
    __tablename__ = "principles"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    implications: Mapped[str] = mapped_column(Text)
    applies_to: Mapped[list[Any]] = mapped_column(JSON)
    rule: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    # The normative version: bumped by a change of what the principle demands, not by edits of
    # its title or status (those only move ``version``, the ETag).
    revision: Mapped[int] = mapped_column(Integer, default=1)


class PrincipleVersion(Base):
    """What a principle demanded at one revision; every revision stays readable."""

    __tablename__ = "principle_versions"

    principle_id: Mapped[str] = mapped_column(String(36), ForeignKey("principles.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    implications: Mapped[str] = mapped_column(Text)
    applies_to: Mapped[list[Any]] = mapped_column(JSON)
    rule: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
