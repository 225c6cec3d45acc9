import datetime as dt

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.db import UTCDateTime
from services.principles.base import Base


class FeedCursor(Base):
    """How far this service has processed another service's change feed, and who may move it.

    The lease (owner, until) is claimed with a compare-and-swap UPDATE; the cursor only moves in
    the transaction that records the re-evaluations, and only while its lease is held.
    """

    __tablename__ = "feed_cursors"

    feed: Mapped[str] = mapped_column(String(40), primary_key=True)
    after_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
