"""The rules of teams: the chain's owner manages them; FTE kept exactly as tenths."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement

from services.chassis.resources import ListQuery, RefField
from services.chassis.uow import RequestContext
from services.valuechains.ownership import ChainScoped
from services.valuechains.refs import CHAINS_PATH
from services.valuechains.teams.models import Team, TeamRevision
from services.valuechains.teams.schemas import TeamQuery, TeamRead, TeamUpdate

FTE_FIELDS = ("fte_internal", "fte_hired", "fte_partner")


def to_tenths(value: Decimal | float | int | None) -> int | None:
    return None if value is None else int(Decimal(str(value)) * 10)


def from_tenths(value: int) -> float:
    # Tenths / 10 prints as the decimal it is (35 -> 3.5): the JSON number is exact to one decimal.
    return value / 10


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Teams(ChainScoped[Team]):
    def representation(self, obj: Team) -> dict[str, Any]:
        data = super().representation(obj)
        for field in FTE_FIELDS:
            data[field] = from_tenths(getattr(obj, f"{field}_tenths"))
        data["fte_external"] = from_tenths(obj.fte_hired_tenths + obj.fte_partner_tenths)
        return data

    def to_columns(self, data: Mapping[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in data.items() if k not in FTE_FIELDS}
        values = super().to_columns(rest)
        for field in FTE_FIELDS:
            if field in data:
                values[f"{field}_tenths"] = to_tenths(data[field])
        return values

    async def record(self, ctx: RequestContext, obj: Team, action: str, changes: dict[str, list[Any]]) -> None:
        """The event, and the team as it is from now on (its history, ``team_revisions``), in the
        write's transaction."""
        await super().record(ctx, obj, action, changes)
        ctx.session.add(
            TeamRevision(
                team_id=obj.id,
                version=obj.version,
                valid_from=obj.updated_at,
                chain_id=obj.chain_id,
                fte_internal_tenths=obj.fte_internal_tenths,
                fte_hired_tenths=obj.fte_hired_tenths,
                fte_partner_tenths=obj.fte_partner_tenths,
                maturity=obj.maturity,
                status=obj.status,
            )
        )

    def filter_clauses(self, query: ListQuery) -> list[ColumnElement[bool]]:
        contains = getattr(query, "name_contains", None)
        clauses = super().filter_clauses(query.model_copy(update={"name_contains": None}))
        if contains:
            clauses.append(Team.name.ilike(f"%{like_escape(contains)}%", escape="\\"))
        return clauses


teams = Teams(
    service="valuechains",
    name="teams",
    kind="team",
    model=Team,
    read=TeamRead,
    update=TeamUpdate,
    query=TeamQuery,
    references={"chain": RefField(CHAINS_PATH, column="chain_id", local=True)},
    description=(
        "The agile teams that do the work of the value chains (about 150 across the IV organisation), "
        "each with its internal (eigen personeel) staff and its flexible shell (flexibele schil: hired staff, "
        "inhuur, and partners) in FTE, and its agile maturity. Every version of a team is kept for the staffing "
        "history and the maturity over time (`/v1/reports/staffing/history`, `/v1/reports/maturity`). "
        "The chain's owner (ketenverantwoordelijke) manages its teams."
    ),
)
