"""Every table of the valuechains database, for alembic."""

from services.valuechains.base import Base
from services.valuechains.chains.models import Chain

__all__ = ["Base", "Chain"]
