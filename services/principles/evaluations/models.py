from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.resources import ResourceMixin
from services.principles.base import Base


class Evaluation(ResourceMixin, Base):
    """One run of the rules over one subject or one collection."""

    __tablename__ = "evaluations"

    target: Mapped[str] = mapped_column(String(500), index=True)
    scope: Mapped[str] = mapped_column(String(12))
    subject_kind: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(200))
    subjects: Mapped[int] = mapped_column(Integer)
    manual_principles: Mapped[list[Any]] = mapped_column(JSON)
    data_classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True, default="completed")
