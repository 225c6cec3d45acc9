from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.valuechains.base import Base
from services.valuechains.ownership import ChainOwnedMixin


class Team(ChainOwnedMixin, Base):
    """FTE are stored as whole tenths so that sums are exact on every database."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("fte_internal_tenths >= 0", name="fte_internal_non_negative"),
        CheckConstraint("fte_external_tenths >= 0", name="fte_external_non_negative"),
        CheckConstraint("maturity BETWEEN 1 AND 5", name="maturity_1_to_5"),
    )

    name: Mapped[str] = mapped_column(String(200), index=True)
    fte_internal_tenths: Mapped[int] = mapped_column(Integer)
    fte_external_tenths: Mapped[int] = mapped_column(Integer)
    maturity: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")
