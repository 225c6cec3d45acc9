from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.resources import ResourceMixin
from services.principles.base import Base


class Assessment(ResourceMixin, Base):
    """One judgement of one subject against one revision of one principle."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_principle_id_subject", "principle_id", "subject"),)

    principle_id: Mapped[str] = mapped_column(String(36), ForeignKey("principles.id"))
    principle_revision: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    facts_sha256: Mapped[str | None] = mapped_column(String(64))
    explanation_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("explanations.id"))
    evaluation_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("evaluations.id"), index=True)
    assessed_by: Mapped[str] = mapped_column(String(200))
    data_classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True, default="recorded")
