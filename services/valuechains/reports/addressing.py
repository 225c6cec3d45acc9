"""Which initiatives address the applications that need it most (past support, open critical
findings). The portfolio keeps that link ("ontsluiten, niet versturen"): the foundation report asks
it, with the caller's token, for the initiatives naming those applications, one request per 100
hrefs (``GET /portfolio/v1/initiatives?application=<href>&application=...``), and copies nothing.
When the portfolio cannot be asked, the answer says the addressing is unknown, never "unaddressed"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_

from services.chassis.errors import ServiceUnavailable
from services.chassis.pagination import MAX_BATCH
from services.chassis.tasks import gather
from services.chassis.uow import RequestContext
from services.valuechains.applications import figures
from services.valuechains.applications.models import Application
from services.valuechains.applications.service import applications
from services.valuechains.chains.models import Chain
from services.valuechains.refs import CHAINS_PATH, INITIATIVES_PATH
from services.valuechains.reports.schemas import AddressingInitiative, AttentionApplication

NOT_ADDRESSING = frozenset({"stopped", "archived"})
"""Initiatives in these states address nothing (any more)."""


@dataclass
class Attention:
    applications: list[AttentionApplication] = field(default_factory=list)
    unaddressed: int | None = 0
    incomplete: list[str] = field(default_factory=list)


async def addressed_by(ctx: RequestContext, hrefs: Sequence[str]) -> dict[str, list[AddressingInitiative]]:
    """Per application href, the initiatives the portfolio shows the caller that name it (503 as
    ``ServiceUnavailable`` when the portfolio cannot be asked)."""
    chunks = [hrefs[i : i + MAX_BATCH] for i in range(0, len(hrefs), MAX_BATCH)]
    pages = await gather(
        *(
            ctx.upstreams.list_all(INITIATIVES_PATH, ctx.principal, [("application", href) for href in chunk])
            for chunk in chunks
        )
    )
    wanted = set(hrefs)
    found: dict[str, dict[str, AddressingInitiative]] = {href: {} for href in hrefs}
    for items in pages:
        for item in items:
            if item.get("status") in NOT_ADDRESSING or not isinstance(item.get("href"), str):
                continue
            for link in item.get("applications") or ():
                href = (link.get("application") or {}).get("href")
                if href in wanted:
                    found[href][item["href"]] = AddressingInitiative(
                        initiative={"href": item["href"]},
                        name=str(item.get("name", "")),
                        effect=link["effect"],
                        status=str(item.get("status", "")),
                    )
    return {href: sorted(by.values(), key=lambda i: (i.name, i.initiative.href)) for href, by in found.items()}


async def attention(ctx: RequestContext, day: dt.date, where: Sequence[ColumnElement[bool]]) -> Attention:
    """The applications the caller may see that are past support on ``day`` or carry open critical
    findings, each with the initiatives that address it."""
    stmt = (
        applications.base_select(ctx.principal)
        .with_only_columns(
            Application.id,
            Application.name,
            Application.chain_id,
            Application.supported_until,
            Application.findings_critical,
            Chain.code,
        )
        .join(Chain, Application.chain_id == Chain.id)
        .where(*where, figures.active(), or_(figures.past_support(day), Application.findings_critical > 0))
        .order_by(Chain.code, Application.name, Application.id)
    )
    rows = (await ctx.session.execute(stmt)).all()
    if not rows:
        return Attention()
    hrefs = [applications.href(r.id) for r in rows]
    known: dict[str, list[AddressingInitiative]] | None
    result = Attention()
    try:
        known = await addressed_by(ctx, hrefs)
    except ServiceUnavailable as exc:
        known, result.unaddressed = None, None
        result.incomplete.append(f"addressing: {exc.detail}; which initiatives address these applications is unknown")
    for r, href in zip(rows, hrefs, strict=True):
        initiatives = None if known is None else known[href]
        result.applications.append(
            AttentionApplication(
                application={"href": href},
                name=r.name,
                chain={"href": f"{CHAINS_PATH}/{r.chain_id}"},
                code=r.code,
                supported_until=r.supported_until,
                past_support=r.supported_until < day,
                open_critical_findings=r.findings_critical,
                addressed_by=initiatives,
                addressed=None if initiatives is None else bool(initiatives),
            )
        )
    if known is not None:
        result.unaddressed = sum(1 for a in result.applications if a.addressed is False)
    return result
