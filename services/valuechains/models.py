"""Every table of the valuechains database, for alembic."""

from services.valuechains.allocations.models import Allocation, AllocationRevision
from services.valuechains.applications.models import Application
from services.valuechains.base import Base
from services.valuechains.chains.models import Chain
from services.valuechains.teams.models import Team, TeamRevision

__all__ = ["Allocation", "AllocationRevision", "Application", "Base", "Chain", "Team", "TeamRevision"]
