import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.chassis.resources import ResourceMixin
from services.portfolio.base import Base


class InitiativeBudget(Base):
    """An initiative's money in one calendar year. Its budget on read (``budget_eur``) is the sum of
    these rows; they are written with the initiative, in the same transaction."""

    __tablename__ = "initiative_budgets"
    __table_args__ = (CheckConstraint("budget_eur >= 0", name="budget_not_negative"),)

    initiative_id: Mapped[str] = mapped_column(ForeignKey("initiatives.id"), primary_key=True)
    # Reports read one year of every initiative: the year leads an index of its own.
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, index=True)
    budget_eur: Mapped[int] = mapped_column(BigInteger)


class InitiativeApplication(Base):
    """An application (of the valuechains service, by href) an initiative renews, replaces or
    retires; written with the initiative, in the same transaction. Indexed by application: the
    foundation report asks which initiatives address a set of applications."""

    __tablename__ = "initiative_applications"
    __table_args__ = (CheckConstraint("effect IN ('renews', 'replaces', 'retires')", name="effect_known"),)

    initiative_id: Mapped[str] = mapped_column(ForeignKey("initiatives.id"), primary_key=True)
    application: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    effect: Mapped[str] = mapped_column(String(20))


class Initiative(ResourceMixin, Base):
    __tablename__ = "initiatives"
    # Lists are pages in id order: each filter leads an index that ends in id, so a page is one range
    # read in order, never a sort of every match. Without a filter the page is read in id order with
    # the need-to-know and status conditions in the index beside it; an index of its own on the
    # classification would make the planner fetch every visible row and sort them.
    __table_args__ = (
        CheckConstraint('"end" >= start', name="ends_after_start"),
        Index("ix_initiatives_page", "id", "data_classification", "status"),
        Index("ix_initiatives_kind_funding_page", "kind", "funding", "id"),
        Index("ix_initiatives_value_chain_page", "value_chain", "id"),
        Index("ix_initiatives_status_page", "status", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    programme_id: Mapped[str | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    value_chain: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    funding: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    hosting: Mapped[str] = mapped_column(String(20), index=True)
    data_classification: Mapped[str] = mapped_column(String(20))
    uses_generic_facilities: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    # The money per year, loaded with every initiative read (one more query per page, not per row),
    # replaced as a whole when it changes (a year kept is an UPDATE of its row).
    budgets: Mapped[list[InitiativeBudget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=InitiativeBudget.year
    )
    # The applications it addresses, loaded the same way and replaced as a whole.
    application_links: Mapped[list[InitiativeApplication]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=InitiativeApplication.application
    )
