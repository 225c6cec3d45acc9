"""Settings of the valuechains service beyond the chassis's."""

from decimal import Decimal

from pydantic import AliasChoices, Field

from services.chassis.settings import ServiceSettings


class ValuechainsSettings(ServiceSettings):
    external_share_limit: Decimal = Field(
        default=Decimal(30),
        ge=0,
        le=100,
        decimal_places=1,
        validation_alias=AliasChoices(
            "external_share_limit",
            "IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT",
            # The name of this setting before chains had limits of their own; still read.
            "IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD",
        ),
        description=(
            "The default limit on a chain's external share of FTE (percent, at most one decimal), for chains "
            "without a limit of their own (`external_share_limit` on the chain): the staffing report flags a "
            "chain above its limit. Environment: IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT (formerly "
            "IV_VALUECHAINS_EXTERNAL_SHARE_THRESHOLD, still read when the new name is not set)."
        ),
    )
