"""What a new EBO looks like already: current EBOs, and the applications valuechains keeps running.

Asked when an EBO is registered, before the write transaction, among what the caller may see: the
EBOs from this service's database, the applications' names from valuechains with the caller's
token (fetched for the comparison, never stored). When valuechains cannot be asked the EBO is still
registered and the answer says the comparison with applications was unavailable. Scored as
``GET /v1/duplicates`` scores (``duplicates.matching``): only pairs with the new EBO are scored.
"""

from __future__ import annotations

from typing import Any, Literal

from services.chassis.errors import ServiceUnavailable
from services.chassis.resources import ARCHIVED, Collection
from services.chassis.uow import RequestContext
from services.portfolio.duplicates.matching import find_duplicates
from services.portfolio.duplicates.schemas import DEFAULT_MIN_SCORE
from services.portfolio.ebos.models import Ebo
from services.portfolio.ebos.schemas import DuplicateCheck, LikelyDuplicate
from services.portfolio.refs import APPLICATIONS_PATH

MAX_LIKELY = 10
Known = tuple[Literal["ebo", "application"], str, str, str]
"""What it is, its href, name and description."""


async def likely_duplicates(
    ctx: RequestContext, ebos: Collection[Ebo], name: str, description: str
) -> tuple[list[LikelyDuplicate], DuplicateCheck]:
    """The current EBOs and applications (as the caller may see them) that look like a new EBO."""
    applications: list[dict[str, Any]] = []
    compared: Literal["compared", "unavailable"] = "compared"
    try:
        applications = await ctx.upstreams.list_all(APPLICATIONS_PATH, ctx.principal)
    except ServiceUnavailable:
        compared = "unavailable"
    stmt = ebos.base_select(ctx.principal).where(Ebo.status != ARCHIVED, Ebo.merged_into_id.is_(None))
    async with ctx.read_session() as session:
        rows = (await session.scalars(stmt.order_by(Ebo.id))).all()
    others: list[Known] = [("ebo", ebos.href(row.id), row.name, row.description or "") for row in rows]
    others.extend(
        ("application", item["href"], item["name"], "")
        for item in applications
        if isinstance(item.get("href"), str) and isinstance(item.get("name"), str)
    )
    matches = find_duplicates(
        [name, *(o[2] for o in others)],
        [description, *(o[3] for o in others)],
        DEFAULT_MIN_SCORE,
        groups=["new", *("known" for _ in others)],
        across_groups=True,
    )
    likely = [
        LikelyDuplicate(kind=kind, href=href, name=known, score=m.score)
        for m in matches[:MAX_LIKELY]
        for kind, href, known, _ in [others[m.second - 1]]
    ]
    return likely, DuplicateCheck(ebos="compared", applications=compared)
