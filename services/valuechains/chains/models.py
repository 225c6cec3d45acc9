from sqlalchemy import String, Text
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
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")
