"""The declarative base of the valuechains database."""

from sqlalchemy.orm import DeclarativeBase

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
