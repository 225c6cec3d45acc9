"""The rules of EBOs: units register and update their own, portfolio managers decide and archive,
need to know includes the unit."""

from collections.abc import Mapping
from typing import Any

from services.chassis.auth import Principal
from services.chassis.db import utcnow
from services.chassis.errors import Conflict, Forbidden, ValidationProblem
from services.chassis.resources import ARCHIVED, Operation, Precondition, RefField
from services.chassis.resources.pipeline import act, admit
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.chassis.visibility import NeedToKnow
from services.portfolio.common import PortfolioCollection, check_move
from services.portfolio.compliance import commits, ensure_complies_or_explained
from services.portfolio.ebos.likely import likely_duplicates
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.schemas import EboCreate, EboDecisionCreate, EboQuery, EboRead, EboUpdate
from services.portfolio.refs import CHAINS_PATH, EBOS_PATH

EBO_MOVES: dict[str, tuple[str, ...]] = {
    "registered": ("under_review",),
    "under_review": ("adopted", "tolerated", "phased_out"),
    "tolerated": ("under_review", "phased_out"),
    "adopted": ("phased_out",),
    "phased_out": (),
}


class Ebos(PortfolioCollection[Ebo]):
    """A contributor registers and updates the EBOs of their own unit; a portfolio manager any, and
    only a portfolio manager decides on one or archives it."""

    action_roles = {"create": ("contributor", "portfolio_manager"), "update": ("contributor", "portfolio_manager")}

    def representation(self, obj: Ebo) -> dict[str, Any]:
        data = super().representation(obj)
        if obj.decision_at is None:
            data["decision"] = None
        return data

    def authorize(self, principal: Principal, action: str, *, record: Ebo | None, parent: Any | None) -> None:
        if principal.has_role("portfolio_manager"):
            return
        if not principal.unit:
            raise Forbidden("a contributor's token needs a unit claim to register or change EBOs")
        if record is not None and record.unit != principal.unit:
            raise Forbidden(
                f"a contributor may only {action} EBOs of their own unit ({principal.unit}), not of {record.unit}"
            )

    def authorize_values(
        self, principal: Principal, action: str, record: Ebo | None, values: Mapping[str, Any]
    ) -> None:
        unit = values.get("unit")
        if principal.has_role("portfolio_manager") or unit is None or unit == principal.unit:
            return
        raise Forbidden(f"a contributor may only {action} EBOs of their own unit ({principal.unit}), not of {unit}")

    async def prepare(
        self, ctx: RequestContext, action: str, record: Ebo | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """References first; a new EBO is then compared with what is there (``likely``), and the
        answer kept for the response (``registered``)."""
        extra = await super().prepare(ctx, action, record, data)
        if action == "create" and ctx.request is not None:
            ctx.request.state.likely_duplicates = await likely_duplicates(
                ctx, self, data["name"], data.get("description") or ""
            )
        return extra

    async def decide(self, ctx: RequestContext, body: EboDecisionCreate) -> Ebo:
        """Move the EBO along its lifecycle, recording the decision and its reason. Adopting or
        tolerating one needs it to comply, or its deviations explained, first. A decision that
        merges it into another phases it out and points it at the survivor."""
        record = (await admit(ctx, DECIDE)).record
        assert isinstance(record, Ebo)
        if body.merge_into is not None and body.status != "phased_out":
            raise ValidationProblem.field(
                ["body", "status"], "merging into another EBO phases this one out: status must be phased_out"
            )
        check_move("EBO", record.status, body.status, EBO_MOVES, allow_same=False)
        if commits(self, record, body.status):
            await ensure_complies_or_explained(ctx, self, record, {"status": body.status})

        async def decision(obj: Ebo) -> dict[str, Any]:
            check_move("EBO", obj.status, body.status, EBO_MOVES, allow_same=False)
            values = {
                "status": body.status,
                "decision_status": body.status,
                "decision_reason": body.reason,
                "decision_by": ctx.principal.sub,
                "decision_at": utcnow(),
            }
            if body.merge_into is not None:
                values["merged_into_id"] = await self.survivor(ctx, obj, body.merge_into.href)
            return values

        obj: Ebo = await act(ctx, DECIDE, decision)
        return obj

    async def survivor(self, ctx: RequestContext, obj: Ebo, href: str) -> str:
        """The id of the EBO ``obj`` is merged into, in the write transaction: one the caller may
        see (422 otherwise), current and not merged itself (409), and not ``obj``."""
        loc = ["body", "merge_into"]
        parsed = parse_href(href)
        target = await self.find(ctx, parsed.id) if parsed is not None and parsed.id else None
        if target is None:
            raise ValidationProblem.field(loc, f"no such resource: {href}", "reference_not_found")
        if target.id == obj.id:
            raise ValidationProblem.field(loc, "an EBO cannot be merged into itself", "same_record")
        if target.status == ARCHIVED:
            raise ValidationProblem.field(loc, f"{href} is archived: merge into a current EBO", "reference_archived")
        if target.merged_into_id is not None or target.status == "phased_out":
            further = self.href(target.merged_into_id) if target.merged_into_id else None
            raise Conflict(
                f"{href} is phased out"
                + (f" (merged into {further})" if further else "")
                + ": merge into one that stays",
                extra={"merged_into": further},
            )
        return target.id


ebos = Ebos(
    service="portfolio",
    name="ebos",
    kind="EBO",
    model=Ebo,
    read=EboRead,
    create=EboCreate,
    update=EboUpdate,
    query=EboQuery,
    references={
        "value_chain": RefField(CHAINS_PATH),
        "merged_into": RefField(EBOS_PATH, column="merged_into_id", local=True, holds=False),
    },
    need_to_know=NeedToKnow(unit="unit"),
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

DECIDE = Operation(ebos, "decide", Precondition.OPTIONAL)
REGISTER = Operation(ebos, "create", id_param=None)
