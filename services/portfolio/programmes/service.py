"""The rules of programmes: portfolio managers keep them; status moves proposed → active → completed."""

from collections.abc import Mapping
from typing import Any

from services.chassis.uow import RequestContext
from services.portfolio.common import PortfolioCollection, check_move
from services.portfolio.compliance import commits, ensure_complies_or_explained
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

    async def prepare(
        self, ctx: RequestContext, action: str, record: Programme | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        status = data.get("status")
        if record is not None and status is not None:
            check_move("programme", record.status, status, PROGRAMME_MOVES)
        extra = await super().prepare(ctx, action, record, data)
        if commits(self, record, status):
            await ensure_complies_or_explained(ctx, self, record, data)
        return extra


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
