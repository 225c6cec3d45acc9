from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.resources import ResourceMixin
from services.valuechains.base import Base


class Chain(ResourceMixin, Base):
    __tablename__ = "chains"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(200))
    mission: Mapped[str] = mapped_column(Text)
    owner_subject: Mapped[str] = mapped_column(String(200), index=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_unit: Mapped[str] = mapped_column(String(120))
    # The chain's own limit on its external share of FTE, in tenths of a percent; null: the
    # service's default (IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT). 0..1000, checked by the API.
    external_share_limit_tenths: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")
