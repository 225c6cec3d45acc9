import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.valuechains.base import Base
from services.valuechains.ownership import ChainOwnedMixin


class Team(ChainOwnedMixin, Base):
    """FTE are stored as whole tenths so that sums are exact on every database. External staff, the
    flexible shell ("flexibele schil"), is hired staff (inhuur) and partners; before the two were
    told apart there was one external column, and its FTE became hired staff."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("fte_internal_tenths >= 0", name="fte_internal_non_negative"),
        CheckConstraint("fte_hired_tenths >= 0", name="fte_hired_non_negative"),
        CheckConstraint("fte_partner_tenths >= 0", name="fte_partner_non_negative"),
        CheckConstraint("maturity BETWEEN 1 AND 5", name="maturity_1_to_5"),
    )

    name: Mapped[str] = mapped_column(String(200), index=True)
    fte_internal_tenths: Mapped[int] = mapped_column(Integer)
    fte_hired_tenths: Mapped[int] = mapped_column(Integer)
    fte_partner_tenths: Mapped[int] = mapped_column(Integer)
    maturity: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")


class TeamRevision(Base):
    """What a team looked like from ``valid_from`` until its next revision: one row per version,
    written in the transaction of the write that made it, so the staffing history and the maturity
    over time are a query (the state at a moment: each team's latest revision before it).

    The change feed holds the same history, but as JSON text among every other collection's events:
    folding it for every report would read the whole feed of teams in Python. This table is the
    feed's team events in columns, indexed for the question the reports ask."""

    __tablename__ = "team_revisions"

    team_id: Mapped[str] = mapped_column(String(36), ForeignKey("teams.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    fte_internal_tenths: Mapped[int] = mapped_column(Integer)
    fte_hired_tenths: Mapped[int] = mapped_column(Integer)
    fte_partner_tenths: Mapped[int] = mapped_column(Integer)
    maturity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
