"""Settings of the portfolio service beyond the chassis's."""

from decimal import Decimal

from pydantic import AliasChoices, Field

from services.chassis.settings import ServiceSettings


class PortfolioSettings(ServiceSettings):
    reconciliation_threshold_points: Decimal = Field(
        default=Decimal(5),
        ge=0,
        le=100,
        decimal_places=1,
        validation_alias=AliasChoices(
            "reconciliation_threshold_points", "IV_PORTFOLIO_RECONCILIATION_THRESHOLD_POINTS"
        ),
        description=(
            "Percentage points (at most one decimal) by which the portfolio's money of a year may differ "
            "from a chain owner's allocation split, in any kind, before the reconciliation report flags the "
            "chain. Environment: IV_PORTFOLIO_RECONCILIATION_THRESHOLD_POINTS."
        ),
    )
