"""Dismissed duplicate candidates: a portfolio manager says a pair is not the same thing built twice,
with a reason; the pair then leaves ``GET /v1/duplicates``. Dismissals are a collection of their
own (listed, read, recorded in the change feed); archiving one undoes it.

A dismissal names both records, so it is classified as the higher of the two when it is made and
shows only to those cleared for that (need to know).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field
from sqlalchemy import Index, String, Text, select, text
from sqlalchemy.orm import Mapped, mapped_column

from services.chassis.auth import clearance_rank
from services.chassis.errors import Conflict, ValidationProblem
from services.chassis.references import Ref
from services.chassis.resources import (
    ARCHIVED,
    Collection,
    Input,
    ListQuery,
    RefField,
    ResourceMixin,
    ResourceRead,
    any_of,
)
from services.chassis.routing import parse_href
from services.chassis.uow import RequestContext
from services.portfolio.base import Base
from services.portfolio.duplicates.matching import Match
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.service import initiatives

ACTIVE = text("status = 'active'")
DismissalKind = Literal["ebo", "initiative"]
REGISTERS: dict[str, Collection[Any]] = {"ebo": ebos, "initiative": initiatives}


class DuplicateDismissal(ResourceMixin, Base):
    __tablename__ = "duplicate_dismissals"
    __table_args__ = (
        # One standing dismissal per pair; an undone (archived) one may be made again.
        Index(
            "uq_duplicate_dismissals_pair",
            "kind",
            "a",
            "b",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
    )

    kind: Mapped[str] = mapped_column(String(20), index=True)
    a: Mapped[str] = mapped_column(String(200), index=True)
    b: Mapped[str] = mapped_column(String(200), index=True)
    reason: Mapped[str] = mapped_column(Text)
    data_classification: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")


class DismissalCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "ebo",
                    "a": {"href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000001"},
                    "b": {"href": "/portfolio/v1/ebos/019a0001-0002-7000-8000-000000000002"},
                    "reason": "Same name, different work: one plans interviews, the other interview rooms.",
                }
            ]
        }
    )

    kind: DismissalKind = Field(description="The register the pair is from, as in `GET /v1/duplicates?kind=`.")
    a: Ref = Field(description="One of the pair (an EBO or an initiative of this service).")
    b: Ref = Field(description="The other.")
    reason: str = Field(min_length=3, max_length=2000, description="Why they are not the same thing built twice.")


class DismissalRead(ResourceRead):
    kind: DismissalKind
    a: Ref = Field(description="One of the pair (the older id).")
    b: Ref = Field(description="The other.")
    reason: str
    data_classification: str = Field(description="The higher classification of the two, when it was dismissed.")
    status: Literal["active", "archived"] = Field(description="`archived`: undone; the pair shows again.")


class DismissalQuery(ListQuery):
    kind: list[DismissalKind] = any_of("Dismissals of this register.")


class Dismissals(Collection[DuplicateDismissal]):
    write_roles = ("portfolio_manager",)

    async def prepare(
        self, ctx: RequestContext, action: str, record: DuplicateDismissal | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {}  # both records are this service's own: checked in the transaction (``validate``)

    async def validate(self, ctx: RequestContext, obj: DuplicateDismissal | None, values: dict[str, Any]) -> None:
        register = REGISTERS[values["kind"]]
        found = []
        for field in ("a", "b"):
            href = values[field]
            parsed = parse_href(href)
            if parsed is None or parsed.id is None or parsed.collection_path != register.path:
                raise ValidationProblem.field(["body", field], f"not an href of {register.path}", "reference_kind")
            record = await register.find(ctx, parsed.id)
            if record is None:
                raise ValidationProblem.field(["body", field], f"no such resource: {href}", "reference_not_found")
            if record.status == ARCHIVED:
                raise ValidationProblem.field(
                    ["body", field], f"{href} is archived: it is no candidate any more", "reference_archived"
                )
            found.append(record)
        first, second = sorted(found, key=lambda r: r.id)
        if first.id == second.id:
            raise ValidationProblem.field(["body", "b"], "a pair is two different records", "same_record")
        values["a"], values["b"] = register.href(first.id), register.href(second.id)
        values["data_classification"] = max((first.data_classification, second.data_classification), key=clearance_rank)
        standing = await ctx.session.scalar(
            select(DuplicateDismissal.id).where(
                DuplicateDismissal.kind == values["kind"],
                DuplicateDismissal.a == values["a"],
                DuplicateDismissal.b == values["b"],
                DuplicateDismissal.status != ARCHIVED,
            )
        )
        if standing is not None:
            raise Conflict(
                f"this pair is already dismissed ({self.href(standing)})", extra={"dismissal": self.href(standing)}
            )


dismissals = Dismissals(
    service="portfolio",
    name="duplicate_dismissals",
    kind="duplicate dismissal",
    model=DuplicateDismissal,
    read=DismissalRead,
    create=DismissalCreate,
    query=DismissalQuery,
    references={"a": RefField("*", holds=False), "b": RefField("*", holds=False)},
    description=(
        "Candidate pairs of `GET /v1/duplicates` that a portfolio manager dismissed, each with its reason: "
        "a dismissed pair no longer shows there. Archiving a dismissal (`DELETE`) undoes it. Every "
        "dismissal and undo is in the change feed."
    ),
)


async def settled(ctx: RequestContext, kind: str, ids: Sequence[str], matches: Sequence[Match]) -> list[Match]:
    """``matches`` (pairs of positions in ``ids``, the lower id first) without the pairs that are
    settled: dismissed (a standing dismissal, whoever made it) or, for EBOs, with one merged into
    another."""
    prefix = REGISTERS[kind].path + "/"
    rows = await ctx.session.execute(
        select(DuplicateDismissal.a, DuplicateDismissal.b).where(
            DuplicateDismissal.kind == kind, DuplicateDismissal.status != ARCHIVED
        )
    )
    dismissed = {(a.removeprefix(prefix), b.removeprefix(prefix)) for a, b in rows.all()}
    merged: set[str] = set()
    if kind == "ebo":
        merged = set((await ctx.session.scalars(select(Ebo.id).where(Ebo.merged_into_id.is_not(None)))).all())
    return [
        m
        for m in matches
        if (ids[m.first], ids[m.second]) not in dismissed and ids[m.first] not in merged and ids[m.second] not in merged
    ]
