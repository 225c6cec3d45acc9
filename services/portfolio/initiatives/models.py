import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.resources import ResourceMixin
from services.portfolio.base import Base


class Initiative(ResourceMixin, Base):
    __tablename__ = "initiatives"
    __table_args__ = (
        CheckConstraint("budget_eur >= 0", name="budget_not_negative"),
        CheckConstraint('"end" >= start', name="ends_after_start"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    programme_id: Mapped[str | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    value_chain: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    funding: Mapped[str] = mapped_column(String(20), index=True)
    budget_eur: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    hosting: Mapped[str] = mapped_column(String(20), index=True)
    data_classification: Mapped[str] = mapped_column(String(20), index=True)
    uses_generic_facilities: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="proposed")
