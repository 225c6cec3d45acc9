"""Every table of the principles database, for alembic."""

from services.principles.base import Base
from services.principles.principles.models import Principle

__all__ = ["Base", "Principle"]
