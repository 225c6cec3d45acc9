"""Settings of the valuechains service beyond the chassis's."""

from decimal import Decimal

from pydantic import AliasChoices, Field

from services.chassis.settings import ServiceSettings


class ValuechainsSettings(ServiceSettings):
    external_share_threshold: Decimal = Field(
        default=Decimal(30),
        ge=0,
        le=100,
        decimal_places=1,
        validation_alias=AliasChoices("external_share_threshold", "IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD"),
        description=(
            "External share of FTE (percent, at most one decimal) above which the staffing report "
            "flags a chain. Environment: IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD."
        ),
    )
