"""The rules of principles: only architects change them, codes are unique, every normative change
makes a new revision, a rule must compile and judge a representative subject of each kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from services.chassis.db import utcnow
from services.chassis.errors import Conflict
from services.chassis.resources import ARCHIVED, Collection
from services.chassis.uow import RequestContext
from services.principles.explanations.service import ask_for_review
from services.principles.principles.models import Principle, PrincipleVersion
from services.principles.principles.schemas import PrincipleCreate, PrincipleQuery, PrincipleRead, PrincipleUpdate
from services.principles.rules.engine import check_against, check_syntax
from services.principles.settings import PrinciplesSettings
from services.principles.subjects import representative

NORMATIVE = ("statement", "rationale", "implications", "rule", "applies_to")
MOVES: dict[str, set[str]] = {"draft": {"active", "retired"}, "active": {"retired"}, "retired": {"active"}}


async def check_rule(ctx: RequestContext, rule: str, kinds: Sequence[str]) -> None:
    """Compile the rule, then run it on a representative subject of every kind (before any transaction)."""
    check_syntax(rule)
    representatives = {kind: await representative(ctx.upstreams, kind, ctx.principal) for kind in dict.fromkeys(kinds)}
    await check_against(rule, representatives, ctx.settings_as(PrinciplesSettings))


def version_row(obj: Principle, actor: str) -> PrincipleVersion:
    return PrincipleVersion(
        principle_id=obj.id,
        revision=obj.revision,
        code=obj.code,
        category=obj.category,
        title=obj.title,
        statement=obj.statement,
        rationale=obj.rationale,
        implications=obj.implications,
        applies_to=list(obj.applies_to),
        rule=obj.rule,
        recorded_at=utcnow(),
        recorded_by=actor,
    )


class Principles(Collection[Principle]):
    write_roles = ("architect",)

    async def extra_fields(self, ctx: RequestContext, objs: Sequence[Principle]) -> dict[str, dict[str, Any]]:
        return {o.id: {"versions": f"{self.href(o.id)}/versions"} for o in objs}

    def check_state(self, obj: Principle, action: str) -> None:
        if obj.status == ARCHIVED:
            raise Conflict(f"principle {obj.code} is archived; it can no longer change")

    async def validate(self, ctx: RequestContext, obj: Principle | None, values: dict[str, Any]) -> None:
        if obj is not None:
            new = values.get("status")
            if new is not None and new != obj.status and new not in MOVES.get(obj.status, set()):
                raise Conflict(f"a principle cannot move from {obj.status} to {new}")
        if values.get("rule") is not None:
            check_syntax(values["rule"])

    async def prepare(
        self, ctx: RequestContext, action: str, record: Principle | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A new or changed rule is compiled and run on a representative subject of every kind it
        applies to, read from the owners' OpenAPI documents (before any transaction). An update checks
        it against what was authorized; the write then only succeeds if nothing changed in between."""
        if record is None:
            rule, kinds = data.get("rule"), data.get("applies_to") or []
            changed = rule is not None
        else:
            rule = data.get("rule", record.rule)
            kinds = data.get("applies_to") or record.applies_to
            changed = rule != record.rule or list(kinds) != list(record.applies_to)
        if rule is not None and changed:
            await check_rule(ctx, rule, kinds)
        return await super().prepare(ctx, action, record, data)

    async def insert(self, ctx: RequestContext, values: dict[str, Any]) -> Principle:
        obj = await super().insert(ctx, {**values, "revision": 1})
        ctx.session.add(version_row(obj, ctx.principal.sub))
        await ctx.session.flush()
        return obj

    async def change(
        self,
        ctx: RequestContext,
        obj: Principle,
        values: dict[str, Any],
        *,
        action: str = "updated",
        notes: Mapping[str, Any] | None = None,
    ) -> Principle:
        normative = any(field in values and values[field] != getattr(obj, field) for field in NORMATIVE)
        if normative:
            values = {**values, "revision": obj.revision + 1}
        obj = await super().change(ctx, obj, values, action=action, notes=notes)
        if normative:
            ctx.session.add(version_row(obj, ctx.principal.sub))
            await ctx.session.flush()
            # Explanations asked under the previous revision are to be confirmed under this one.
            await ask_for_review(ctx, obj)
        return obj

    async def versions(self, ctx: RequestContext, id_: str) -> tuple[Principle, Any]:
        principle = await self.get(ctx, id_)
        return principle, select(PrincipleVersion).where(PrincipleVersion.principle_id == principle.id)


principles = Principles(
    service="principles",
    name="principles",
    kind="principle",
    model=Principle,
    read=PrincipleRead,
    create=PrincipleCreate,
    update=PrincipleUpdate,
    unique=("code",),
    query=PrincipleQuery,
    description=(
        'The rules of the game ("spelregels"): follow them, or explain in advance why not '
        '("pas toe of leg uit"). Five categories; a principle may carry a rule in CEL that evaluations '
        "run against live subjects. Only architects change principles; every normative change makes a "
        "new `revision` (old ones stay readable under `versions`); retiring is a status, never a delete."
    ),
)
