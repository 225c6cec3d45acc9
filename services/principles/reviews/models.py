import datetime as dt

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.resources import ResourceMixin
from services.principles.base import Base


class SimplicityReview(ResourceMixin, Base):
    """A review on simplicity ("eenvoud") at the start or during execution of a design or project."""

    __tablename__ = "simplicity_reviews"

    subject: Mapped[str] = mapped_column(String(300), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str] = mapped_column(String(12))
    scores_needed_now: Mapped[int] = mapped_column(Integer)
    scores_generic_facilities: Mapped[int] = mapped_column(Integer)
    scores_new_technologies: Mapped[int] = mapped_column(Integer)
    scores_integrations: Mapped[int] = mapped_column(Integer)
    scores_one_page: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    data_classification: Mapped[str | None] = mapped_column(String(20))
    visible_to_unit: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True, default="recorded")
