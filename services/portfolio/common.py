"""Vocabulary, reference types and rules shared by the portfolio's collections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import Field

from services.chassis.errors import Conflict
from services.chassis.resources import Collection, ResourceMixin

Kind = Literal["maintenance", "security", "renewal"]
KINDS: tuple[Kind, ...] = ("maintenance", "security", "renewal")
RUN_KINDS: tuple[Kind, ...] = ("maintenance", "security")
Funding = Literal["structural", "incidental"]
Hosting = Literal["own_platform", "public_cloud", "hybrid"]
Classification = Literal["public", "internal", "confidential", "secret"]

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]
BudgetEur = Annotated[int, Field(ge=0, le=10_000_000_000, description="Whole euros.", examples=[850000])]


def check_move(
    kind: str, current: str, new: str, moves: Mapping[str, tuple[str, ...]], *, allow_same: bool = True
) -> None:
    """409 naming the allowed moves unless ``current`` may become ``new`` (or stay, with ``allow_same``)."""
    if new == current and allow_same:
        return
    allowed = moves.get(current, ())
    if new not in allowed:
        options = ", ".join(allowed) if allowed else f"none ({current} is final)"
        raise Conflict(
            f"a {kind} cannot move from {current} to {new}; allowed from {current}: {options}",
            extra={"current": current, "allowed": list(allowed)},
        )


M = TypeVar("M", bound=ResourceMixin)


class PortfolioCollection(Collection[M]):
    """Portfolio managers (and admins) write the portfolio unless a collection says otherwise."""

    write_roles = ("portfolio_manager",)
