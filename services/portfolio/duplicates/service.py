"""Duplicates over the records the caller may see: loaded as plain columns, matched in memory."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import null, select

from services.chassis.changes import ChangeHead
from services.chassis.errors import ValidationProblem
from services.chassis.figures import Coverage, read_tally, tally
from services.chassis.pagination import decode_cursor, next_link
from services.chassis.references import Ref
from services.chassis.resources import ARCHIVED
from services.chassis.uow import RequestContext
from services.portfolio.duplicates.dismissals import settled
from services.portfolio.duplicates.matching import Match, find_duplicates
from services.portfolio.duplicates.schemas import DuplicatePage, DuplicatePair, DuplicatesQuery
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.models import Initiative
from services.portfolio.initiatives.service import initiatives


@dataclass(frozen=True)
class Compared:
    """The pairs found among the records one set of callers may see, in page order."""

    rows: list[Any]
    matches: list[Match]
    positions: list[tuple[int, str, str]]
    coverage: Coverage


class PairCache:
    """Pairs per register version: computed once for each kind, set of visible records and options,
    and served while the change feed's head (its seq and hash: every write to an EBO or initiative
    moves it, in the same transaction) stays where it was; a moved head is a new version. Bounded:
    the least recently used goes first."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Compared] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Compared | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[Any, ...], compared: Compared) -> None:
        self._entries[key] = compared
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def pair_cache(ctx: RequestContext) -> PairCache:
    state = ctx.require_request().app.state
    cache: PairCache | None = getattr(state, "duplicate_pairs", None)
    if cache is None:
        cache = state.duplicate_pairs = PairCache()
    return cache


def position(score: float, first: str, second: str) -> tuple[int, str, str]:
    return (-round(score * 10), first, second)


async def compare(ctx: RequestContext, query: DuplicatesQuery) -> Compared:
    """The pairs among the current records the caller may see, from the cache when the register has
    not changed since they were computed."""
    principal = ctx.principal
    head = (await ctx.session.execute(select(ChangeHead.seq, ChangeHead.hash).where(ChangeHead.id == 1))).one()
    # Who sees which records is decided by these three alone (services.chassis.visibility).
    key = (
        tuple(head),
        query.kind,
        query.min_score,
        query.across_units,
        principal.is_admin,
        principal.clearance,
        principal.unit,
    )
    cache = pair_cache(ctx)
    cached = cache.get(key)
    if cached is not None:
        return cached
    stmt: Any
    if query.kind == "ebo":
        stmt = select(Ebo.id, Ebo.name, Ebo.description, Ebo.unit)
        current = Ebo.status != ARCHIVED
        visibility = ebos.visibility(principal)
        order = Ebo.id
    else:
        stmt = select(Initiative.id, Initiative.name, Initiative.description, null().label("unit"))
        current = Initiative.status != ARCHIVED
        visibility = initiatives.visibility(principal)
        order = Initiative.id
    # Pairs name records, so only the records the caller may see are compared; how many that is and
    # how many were left out comes from the database, over the same current records.
    coverage = (await read_tally(ctx.session, select(*tally(order, visibility)).where(current))).visible()
    stmt = stmt.where(current)
    if visibility is not None:
        stmt = stmt.where(visibility)
    rows = list((await ctx.session.execute(stmt.order_by(order))).all())
    matches = find_duplicates(
        [r[1] for r in rows],
        [r[2] or "" for r in rows],
        query.min_score,
        groups=[r[3] for r in rows],
        across_groups=query.across_units,
    )
    matches = await settled(ctx, query.kind, [r[0] for r in rows], matches)
    positions = [position(m.score, rows[m.first][0], rows[m.second][0]) for m in matches]
    compared = Compared(rows=rows, matches=matches, positions=positions, coverage=coverage)
    cache.put(key, compared)
    return compared


async def duplicates(ctx: RequestContext, query: DuplicatesQuery) -> DuplicatePage:
    if query.across_units and query.kind != "ebo":
        raise ValidationProblem.field(["query", "across_units"], "only EBOs have units")
    path = ebos.path if query.kind == "ebo" else initiatives.path
    found = await compare(ctx, query)
    rows = found.rows
    start = 0
    if query.after is not None:
        tenths, first, second = decode_cursor(query.after, 3)
        if not isinstance(tenths, int) or not isinstance(first, str) or not isinstance(second, str):
            raise ValidationProblem.field(["query", "after"], "not a cursor this service issued")
        start = bisect.bisect_right(found.positions, (-tenths, first, second))
    selected = found.matches[start : start + query.limit + 1]
    next_href = None
    if len(selected) > query.limit:
        selected = selected[: query.limit]
        last = selected[-1]
        next_href = next_link(
            ctx.require_request(),
            ctx.public_prefix,
            [round(last.score * 10), rows[last.first][0], rows[last.second][0]],
        )
    return DuplicatePage(
        items=[
            DuplicatePair(
                score=m.score,
                name_score=m.name_score,
                description_score=m.description_score,
                a=Ref(href=f"{path}/{rows[m.first][0]}"),
                a_name=rows[m.first][1],
                a_unit=rows[m.first][3],
                b=Ref(href=f"{path}/{rows[m.second][0]}"),
                b_name=rows[m.second][1],
                b_unit=rows[m.second][3],
            )
            for m in selected
        ],
        next=next_href,
        coverage=found.coverage,
    )
