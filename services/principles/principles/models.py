from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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
