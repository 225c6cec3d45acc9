"""The rules of chains: who may change them, and that codes are unique."""

from collections.abc import Mapping
from typing import Any

from services.chassis.errors import Forbidden
from services.chassis.resources import Collection
from services.chassis.uow import RequestContext
from services.valuechains.chains.models import Chain
from services.valuechains.chains.schemas import ChainCreate, ChainQuery, ChainRead, ChainUpdate


class Chains(Collection[Chain]):
    write_roles = ("admin",)

    def authorize(self, ctx: RequestContext, action: str, obj: Chain | None, values: Mapping[str, Any]) -> None:
        principal = ctx.principal
        if principal.is_admin:
            return
        if action == "update" and obj is not None and principal.has_role("chain_owner"):
            if obj.owner_subject == principal.sub:
                return
            raise Forbidden(f"only the chain's owner ({obj.owner_name}) or an admin may change chain {obj.code}")
        raise Forbidden(
            f"{action} on chains needs the admin role"
            + ("" if action != "update" else ", or the chain_owner role as this chain's owner")
        )


chains = Chains(
    service="valuechains",
    name="chains",
    kind="chain",
    model=Chain,
    read=ChainRead,
    create=ChainCreate,
    update=ChainUpdate,
    unique=("code",),
    query=ChainQuery,
    description=(
        'IT value chains ("IV-waardeketens"): each equips one part of police work with good IT '
        "and owns both its renewal and its maintenance, steered by one accountable owner from operations."
    ),
)
