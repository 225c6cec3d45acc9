from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.figures import Coverage
from services.chassis.pagination import PageQuery
from services.chassis.references import Ref

DEFAULT_MIN_SCORE = 80.0


class DuplicatesQuery(PageQuery):
    kind: Literal["ebo", "initiative"] = Field(description="Which register to search: EBOs or initiatives.")
    min_score: float = Field(
        default=DEFAULT_MIN_SCORE, ge=0, le=100, description="Leave out pairs scoring less (0..100)."
    )
    across_units: bool = Field(
        default=False, description="EBOs only: only pairs from different units (the same thing built elsewhere)."
    )


class DuplicatePair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "score": 93.4,
                    "name_score": 96.6,
                    "description_score": 88.6,
                    "a": {"href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000001"},
                    "a_name": "Verhoorplanner",
                    "a_unit": "Eenheid Rotterdam",
                    "b": {"href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000002"},
                    "b_name": "Verhoor Planner",
                    "b_unit": "Eenheid Amsterdam",
                }
            ]
        }
    )

    score: float = Field(description="0..100, one decimal: 60 % name similarity, 40 % description similarity.")
    name_score: float
    description_score: float | None = Field(description="null when either has no description (the name decides).")
    a: Ref = Field(description="One of the pair (the older id).")
    a_name: str
    a_unit: str | None = Field(description="Its unit (EBOs); null for initiatives.")
    b: Ref = Field(description="The other.")
    b_name: str
    b_unit: str | None


class DuplicatePage(BaseModel):
    items: list[DuplicatePair]
    next: str | None = Field(description="Path (through the gateway) of the next page; null on the last page.")
    coverage: Coverage = Field(
        description=(
            "The pairs name records, so only the records you may see are compared (basis `visible`): `counted` "
            "is how many current (not archived) EBOs or initiatives were compared, `left_out` how many you may "
            "not see. The same on every page."
        )
    )
