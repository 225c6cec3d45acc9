"""Every table of the portfolio database, for alembic."""

from services.portfolio.base import Base
from services.portfolio.duplicates.dismissals import DuplicateDismissal
from services.portfolio.ebos.models import Ebo
from services.portfolio.initiatives.models import Initiative, InitiativeApplication, InitiativeBudget
from services.portfolio.programmes.models import Programme
from services.portfolio.rounds.models import Round, RoundItem

__all__ = [
    "Base",
    "DuplicateDismissal",
    "Ebo",
    "Initiative",
    "InitiativeApplication",
    "InitiativeBudget",
    "Programme",
    "Round",
    "RoundItem",
]
