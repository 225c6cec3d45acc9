"""The rules of EBOs: units register and update their own, portfolio managers decide and archive,
need to know includes the unit."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_

from services.chassis.auth import Principal
from services.chassis.concurrency import check_version, optional_version
from services.chassis.db import utcnow
from services.chassis.errors import Forbidden
from services.chassis.resources import RefField
from services.chassis.uow import RequestContext
from services.portfolio.common import CHAINS, PortfolioCollection, check_move
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.schemas import EboCreate, EboDecisionCreate, EboQuery, EboRead, EboUpdate

EBO_MOVES: dict[str, tuple[str, ...]] = {
    "registered": ("under_review",),
    "under_review": ("adopted", "tolerated", "phased_out"),
    "tolerated": ("under_review", "phased_out"),
    "adopted": ("phased_out",),
    "phased_out": (),
}


class Ebos(PortfolioCollection[Ebo]):
    write_roles = ("portfolio_manager",)

    def visibility(self, principal: Principal) -> ColumnElement[bool] | None:
        cleared = super().visibility(principal)
        if cleared is None or not principal.unit:
            return cleared
        return or_(cleared, Ebo.unit == principal.unit)

    def event_visibility(self, obj: Ebo) -> tuple[str | None, str | None]:
        return obj.data_classification, obj.unit

    def representation(self, obj: Ebo) -> dict[str, Any]:
        data = super().representation(obj)
        if obj.decision_at is None:
            data["decision"] = None
        return data

    def authorize(self, ctx: RequestContext, action: str, obj: Ebo | None, values: Mapping[str, Any]) -> None:
        principal = ctx.principal
        if action == "decide":
            if not principal.has_role("portfolio_manager"):
                raise Forbidden("decisions on EBOs need the portfolio_manager role")
            return
        if action == "archive":
            # Taking a record out of the register is not the unit's to decide, like phasing it out.
            if not principal.has_role("portfolio_manager"):
                raise Forbidden("archiving an EBO needs the portfolio_manager role; a unit registers and updates")
            return
        if principal.has_role("portfolio_manager"):
            return
        if not principal.has_role("contributor"):
            raise Forbidden(f"{action} on EBOs needs the contributor role (own unit) or portfolio_manager")
        if not principal.unit:
            raise Forbidden("a contributor's token needs a unit claim to register or change EBOs")
        units = {values["unit"]} if "unit" in values else set()
        if obj is not None:
            units.add(obj.unit)
        foreign = sorted(u for u in units if u != principal.unit)
        if foreign:
            raise Forbidden(
                f"a contributor may only {action} EBOs of their own unit ({principal.unit}), "
                f"not of {', '.join(foreign)}"
            )

    async def decide(self, ctx: RequestContext, id_: str, body: EboDecisionCreate, if_match: str | None) -> Ebo:
        """Move the EBO along its lifecycle, recording the decision and its reason."""
        expected = optional_version(if_match)
        obj = await self.get(ctx, id_)
        self.authorize(ctx, "decide", obj, {"status": body.status})
        if expected is not None:
            check_version(obj.version, expected)
        check_move("EBO", obj.status, body.status, EBO_MOVES, allow_same=False)
        return await self.change(
            ctx,
            obj,
            {
                "status": body.status,
                "decision_status": body.status,
                "decision_reason": body.reason,
                "decision_by": ctx.principal.sub,
                "decision_at": utcnow(),
            },
        )


ebos = Ebos(
    service="portfolio",
    name="ebos",
    kind="EBO",
    model=Ebo,
    read=EboRead,
    create=EboCreate,
    update=EboUpdate,
    query=EboQuery,
    references={"value_chain": RefField(CHAINS)},
    description=(
        'EBOs ("Eigen Beheerde Omgevingen"): systems a unit built and runs itself. They do not always fit '
        "the IV infrastructure and are sometimes built in several places at once; the register is where "
        "they are found, reviewed and merged (ontdubbelen, see `/v1/duplicates`). A contributor registers "
        "and updates the EBOs of their own unit (the token's `unit` claim); a portfolio manager any, and "
        "only a portfolio manager archives one. "
        "Lifecycle: registered → under_review → adopted | tolerated | phased_out, each move a decision "
        "with its reason (`POST /v1/ebos/{id}/decision`). Confidential and secret EBOs exist only for "
        "tokens cleared for them and for their own unit."
    ),
)
