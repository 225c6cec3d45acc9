"""Duplicates over the records the caller may see: loaded as plain columns, matched in memory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import null, select

from services.chassis.errors import ValidationProblem
from services.chassis.figures import read_tally, tally
from services.chassis.pagination import decode_cursor, next_link
from services.chassis.references import Ref
from services.chassis.resources import ARCHIVED
from services.chassis.uow import RequestContext
from services.portfolio.duplicates.dismissals import settled
from services.portfolio.duplicates.matching import find_duplicates
from services.portfolio.duplicates.schemas import DuplicatePage, DuplicatePair, DuplicatesQuery
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.models import Initiative
from services.portfolio.initiatives.service import initiatives


async def duplicates(ctx: RequestContext, query: DuplicatesQuery) -> DuplicatePage:
    if query.across_units and query.kind != "ebo":
        raise ValidationProblem.field(["query", "across_units"], "only EBOs have units")
    stmt: Any
    if query.kind == "ebo":
        stmt = select(Ebo.id, Ebo.name, Ebo.description, Ebo.unit)
        current = Ebo.status != ARCHIVED
        visibility = ebos.visibility(ctx.principal)
        path = ebos.path
        order = Ebo.id
    else:
        stmt = select(Initiative.id, Initiative.name, Initiative.description, null().label("unit"))
        current = Initiative.status != ARCHIVED
        visibility = initiatives.visibility(ctx.principal)
        path = initiatives.path
        order = Initiative.id
    # Pairs name records, so only the records the caller may see are compared; how many that is and
    # how many were left out comes from the database, over the same current records.
    coverage = (await read_tally(ctx.session, select(*tally(order, visibility)).where(current))).visible()
    stmt = stmt.where(current)
    if visibility is not None:
        stmt = stmt.where(visibility)
    rows = (await ctx.session.execute(stmt.order_by(order))).all()
    ids = [r[0] for r in rows]
    units = [r[3] for r in rows]
    matches = find_duplicates(
        [r[1] for r in rows],
        [r[2] or "" for r in rows],
        query.min_score,
        groups=units,
        across_groups=query.across_units,
    )
    matches = await settled(ctx, query.kind, ids, matches)

    def position(score: float, first: str, second: str) -> tuple[int, str, str]:
        return (-round(score * 10), first, second)

    start: tuple[int, str, str] | None = None
    if query.after is not None:
        tenths, first, second = decode_cursor(query.after, 3)
        if not isinstance(tenths, int) or not isinstance(first, str) or not isinstance(second, str):
            raise ValidationProblem.field(["query", "after"], "not a cursor this service issued")
        start = (-tenths, first, second)
    selected = []
    for match in matches:
        if start is not None and position(match.score, ids[match.first], ids[match.second]) <= start:
            continue
        selected.append(match)
        if len(selected) > query.limit:
            break
    next_href = None
    if len(selected) > query.limit:
        selected = selected[: query.limit]
        last = selected[-1]
        next_href = next_link(
            ctx.require_request(), ctx.public_prefix, [round(last.score * 10), ids[last.first], ids[last.second]]
        )
    return DuplicatePage(
        items=[
            DuplicatePair(
                score=m.score,
                name_score=m.name_score,
                description_score=m.description_score,
                a=Ref(href=f"{path}/{ids[m.first]}"),
                a_name=rows[m.first][1],
                a_unit=units[m.first],
                b=Ref(href=f"{path}/{ids[m.second]}"),
                b_name=rows[m.second][1],
                b_unit=units[m.second],
            )
            for m in selected
        ],
        next=next_href,
        coverage=coverage,
    )
