"""Every table of the portfolio database, for alembic."""

from services.portfolio.base import Base
from services.portfolio.programmes.models import Programme

__all__ = ["Base", "Programme"]
