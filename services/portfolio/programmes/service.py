"""The rules of programmes."""

from services.chassis.resources import Collection
from services.portfolio.programmes.models import Programme
from services.portfolio.programmes.schemas import ProgrammeCreate, ProgrammeQuery, ProgrammeRead, ProgrammeUpdate


class Programmes(Collection[Programme]):
    write_roles = ("portfolio_manager",)


programmes = Programmes(
    service="portfolio",
    name="programmes",
    kind="programme",
    model=Programme,
    read=ProgrammeRead,
    create=ProgrammeCreate,
    update=ProgrammeUpdate,
    unique=("code",),
    query=ProgrammeQuery,
    description=(
        "Programmes hold the big ambitions (for example Vernieuwend Registreren); inside them, small "
        'manageable initiatives deliver working functionality ("grote ambities, kleine stappen").'
    ),
)
