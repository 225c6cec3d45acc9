import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.valuechains.base import Base
from services.valuechains.ownership import ChainOwnedMixin


def split_checks() -> tuple[CheckConstraint, ...]:
    """The database's own guard on a split (a constraint belongs to one table: new ones each time)."""
    return (
        CheckConstraint("maintenance BETWEEN 0 AND 100", name="maintenance_percentage"),
        CheckConstraint("security BETWEEN 0 AND 100", name="security_percentage"),
        CheckConstraint("renewal BETWEEN 0 AND 100", name="renewal_percentage"),
        CheckConstraint("maintenance + security + renewal = 100", name="split_sums_to_100"),
        CheckConstraint("budget_eur >= 0", name="budget_non_negative"),
    )


class Allocation(ChainOwnedMixin, Base):
    """The current split of one chain for one period; every earlier one is an AllocationRevision."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("chain_id", "period"), *split_checks())

    period: Mapped[str] = mapped_column(String(7), index=True)
    maintenance: Mapped[int] = mapped_column(Integer)
    security: Mapped[int] = mapped_column(Integer)
    renewal: Mapped[int] = mapped_column(Integer)
    budget_eur: Mapped[int] = mapped_column(BigInteger)
    rationale: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")


class AllocationRevision(Base):
    """One decision as it was made: who set which split, when. Never changed afterwards."""

    __tablename__ = "allocation_revisions"
    __table_args__ = split_checks()

    allocation_id: Mapped[str] = mapped_column(String(36), ForeignKey("allocations.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    maintenance: Mapped[int] = mapped_column(Integer)
    security: Mapped[int] = mapped_column(Integer)
    renewal: Mapped[int] = mapped_column(Integer)
    budget_eur: Mapped[int] = mapped_column(BigInteger)
    rationale: Mapped[str] = mapped_column(Text)
    actor_subject: Mapped[str] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
