"""The rules of teams: the chain's owner manages them; FTE kept exactly as tenths."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement

from services.chassis.resources import ListQuery, RefField
from services.valuechains.ownership import ChainScoped
from services.valuechains.refs import CHAINS_PATH
from services.valuechains.teams.models import Team
from services.valuechains.teams.schemas import TeamQuery, TeamRead, TeamUpdate

FTE_FIELDS = ("fte_internal", "fte_external")


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
        data["fte_internal"] = from_tenths(obj.fte_internal_tenths)
        data["fte_external"] = from_tenths(obj.fte_external_tenths)
        return data

    def to_columns(self, data: Mapping[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in data.items() if k not in FTE_FIELDS}
        values = super().to_columns(rest)
        for field in FTE_FIELDS:
            if field in data:
                values[f"{field}_tenths"] = to_tenths(data[field])
        return values

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
        "each with its internal (eigen personeel) and external (inhuur, partners) staff in FTE and its "
        "agile maturity. The chain's owner (ketenverantwoordelijke) manages its teams."
    ),
)
