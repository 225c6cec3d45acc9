"""The rules of applications: the chain's owner manages them; need to know on their data."""

from collections.abc import Mapping
from typing import Any

from services.chassis.auth import Principal
from services.chassis.errors import Forbidden
from services.chassis.resources import RefField
from services.chassis.visibility import may_see
from services.valuechains.applications.models import Application
from services.valuechains.applications.schemas import (
    ApplicationCreate,
    ApplicationQuery,
    ApplicationRead,
    ApplicationUpdate,
)
from services.valuechains.ownership import ChainScoped
from services.valuechains.refs import CHAINS_PATH


class Applications(ChainScoped[Application]):
    def authorize_values(
        self, principal: Principal, action: str, record: Application | None, values: Mapping[str, Any]
    ) -> None:
        classification = values.get("data_classification")
        if classification is not None and not may_see(principal, classification):
            # The application would vanish for its own author: need to know hides it from them.
            raise Forbidden(
                f"you may not classify an application {classification}: your clearance is "
                f"{principal.clearance or 'internal'}, so you could not see it afterwards"
            )


applications = Applications(
    service="valuechains",
    name="applications",
    kind="application",
    model=Application,
    read=ApplicationRead,
    create=ApplicationCreate,
    update=ApplicationUpdate,
    query=ApplicationQuery,
    references={"chain": RefField(CHAINS_PATH, column="chain_id", local=True)},
    description=(
        "The applications of the value chains: the IT products each chain delivers and keeps running, the "
        'heart of "een goed fundament" (registration, intelligence and business-operations systems and the '
        "infrastructure under them, always working, up to date and protected). Each records its end of "
        "support, last release and open security findings, so technical debt (technische schuld) is visible "
        "per chain. The chain's owner (ketenverantwoordelijke) manages them. Confidential and secret "
        "applications exist only for tokens cleared for them (need to know)."
    ),
)
