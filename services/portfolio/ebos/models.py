import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.chassis.resources import ResourceMixin
from services.portfolio.base import Base


class Ebo(ResourceMixin, Base):
    __tablename__ = "ebos"
    __table_args__ = (CheckConstraint("users >= 0", name="users_not_negative"),)

    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(120), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    value_chain: Mapped[str | None] = mapped_column(String(200), index=True)
    hosting: Mapped[str] = mapped_column(String(20), index=True)
    data_classification: Mapped[str] = mapped_column(String(20), index=True)
    users: Mapped[int] = mapped_column(Integer, default=0)
    # The last lifecycle decision and why; every earlier one is in the change feed.
    decision_status: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_by: Mapped[str | None] = mapped_column(String(200))
    decision_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set by a decision that merges this EBO into another (ontdubbelen): the survivor.
    merged_into_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("ebos.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="registered")
