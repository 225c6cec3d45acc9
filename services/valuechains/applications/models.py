import datetime as dt

from sqlalchemy import CheckConstraint, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.valuechains.base import Base
from services.valuechains.ownership import ChainOwnedMixin

MAX_FINDINGS = 100_000
"""Open findings of one severity on one application: far above any real number, and low enough that
weighted sums over millions of applications stay far inside the databases' 64-bit integers."""

SEVERITIES = ("critical", "high", "medium", "low")


def findings_checks() -> tuple[CheckConstraint, ...]:
    return tuple(
        CheckConstraint(f"findings_{s} BETWEEN 0 AND {MAX_FINDINGS}", name=f"findings_{s}_range") for s in SEVERITIES
    )


class Application(ChainOwnedMixin, Base):
    """An IT product of a chain. ``findings`` are stored as one column per severity; the dates as
    SQL dates, so that reports compare them in the database on every dialect."""

    __tablename__ = "applications"
    __table_args__ = findings_checks()

    name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    disposition: Mapped[str] = mapped_column(String(20), index=True)
    supported_until: Mapped[dt.date] = mapped_column(Date)
    last_release: Mapped[dt.date] = mapped_column(Date)
    findings_critical: Mapped[int] = mapped_column(Integer)
    findings_high: Mapped[int] = mapped_column(Integer)
    findings_medium: Mapped[int] = mapped_column(Integer)
    findings_low: Mapped[int] = mapped_column(Integer)
    hosting: Mapped[str] = mapped_column(String(20), index=True)
    data_classification: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")
