import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.chassis.resources import ResourceMixin
from services.principles.base import Base


class Explanation(ResourceMixin, Base):
    """Leg uit: why a subject may deviate from a principle, recorded in advance, approved by four eyes."""

    __tablename__ = "explanations"
    __table_args__ = (Index("ix_explanations_principle_id_subject", "principle_id", "subject"),)

    principle_id: Mapped[str] = mapped_column(String(36), ForeignKey("principles.id"))
    principle_revision: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    review_by: Mapped[dt.date] = mapped_column(Date, index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(200))
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Decided once, when the subject first becomes active (or at approval if it already was):
    # approved after that moment, the explanation came late. Null while undecided.
    late: Mapped[bool | None] = mapped_column(Boolean)
    # A new revision of the principle asks for the explanation to be confirmed; until then it
    # keeps counting up to review_deadline.
    needs_review_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_deadline: Mapped[dt.date | None] = mapped_column(Date)
    data_classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True, default="requested")


class SubjectMilestone(Base):
    """When a subject first became active (its work started), as its owner's change feed said: the
    moment that decides whether an explanation came in advance. Written once, never moved."""

    __tablename__ = "subject_milestones"

    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    active_since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
