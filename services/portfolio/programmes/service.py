"""The rules of programmes: portfolio managers keep them; status moves proposed → active → completed."""

from typing import Any

from services.chassis.uow import RequestContext
from services.portfolio.common import PortfolioCollection, check_move
from services.portfolio.programmes.models import Programme
from services.portfolio.programmes.schemas import ProgrammeCreate, ProgrammeQuery, ProgrammeRead, ProgrammeUpdate

PROGRAMME_MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("active",),
    "active": ("completed",),
    "completed": (),
}


class Programmes(PortfolioCollection[Programme]):
    async def validate(self, ctx: RequestContext, obj: Programme | None, values: dict[str, Any]) -> None:
        if obj is not None and "status" in values:
            check_move("programme", obj.status, values["status"], PROGRAMME_MOVES)


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
        'manageable initiatives deliver working functionality ("grote ambities, kleine stappen"). '
        "Written by portfolio managers. `status` moves only proposed → active → completed; any other "
        "move is 409 naming the allowed ones."
    ),
)
