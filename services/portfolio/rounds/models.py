import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.chassis.resources import ResourceMixin
from services.portfolio.base import Base

ONE_OPEN = text("status = 'open'")


class Round(ResourceMixin, Base):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("target_run + target_renewal = 100", name="target_sums_to_100"),
        # One open round at a time, kept by the database: two concurrent opens cannot both commit.
        Index("uq_rounds_one_open", "status", unique=True, sqlite_where=ONE_OPEN, postgresql_where=ONE_OPEN),
    )

    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(20), index=True)
    target_run: Mapped[int] = mapped_column(Integer)
    target_renewal: Mapped[int] = mapped_column(Integer)
    from_round_id: Mapped[str | None] = mapped_column(ForeignKey("rounds.id"), index=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")


class RoundItem(ResourceMixin, Base):
    """One initiative's place in a round: its rank, the decision, why, and the budget decided on."""

    __tablename__ = "round_items"
    __table_args__ = (
        # Ranks are unique among the items a caller may see, not in the table: an item someone may
        # not see never stops them, nor names itself (docs/architecture.md, rounds).
        Index("ix_round_items_round_id_rank", "round_id", "rank"),
        UniqueConstraint("round_id", "initiative_id"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        CheckConstraint("budget_eur >= 0", name="budget_not_negative"),
    )

    # The (round_id, rank) index also serves lookups by round.
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"))
    initiative_id: Mapped[str] = mapped_column(ForeignKey("initiatives.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The budget as decided in this round (a snapshot, so closed rounds never move).
    budget_eur: Mapped[int] = mapped_column(BigInteger)
    # The initiative's kind, funding and value chain as they were when the round closed (null while
    # the round is draft or open, which follow their initiatives): a closed round's figures never move.
    kind: Mapped[str | None] = mapped_column(String(20))
    funding: Mapped[str | None] = mapped_column(String(20))
    value_chain: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
