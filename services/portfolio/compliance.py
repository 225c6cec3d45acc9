"""Comply or explain, before the work starts ("je houdt je aan de spelregels, of je zegt vooraf
duidelijk waarom je wilt afwijken"): a change that commits the portfolio to a subject (approving or
activating an initiative, activating a programme, adopting or tolerating an EBO) is refused with 409
while the subject, as it is about to be, deviates from a principle that no approved explanation
covers. The principles service judges it (``POST /principles/v1/compliance-checks``, with the
caller's token, before any transaction); when it cannot be asked, nothing changes (503).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder

from services.chassis.errors import Conflict, ServiceUnavailable
from services.chassis.resources import Collection
from services.chassis.uow import RequestContext

CHECKS = "/principles/v1/compliance-checks"

COMMITTING: dict[str, frozenset[str]] = {
    "initiatives": frozenset({"approved", "active"}),
    "programmes": frozenset({"active"}),
    "ebos": frozenset({"adopted", "tolerated"}),
}
"""Per collection, the statuses that commit to the subject: moving into one needs comply or explain."""


def commits(collection: Collection[Any], record: Any | None, status: Any) -> bool:
    """Whether moving ``record`` (None: creating it) to ``status`` commits to it."""
    statuses = COMMITTING.get(collection.name, frozenset())
    return status in statuses and (record is None or record.status != status)


async def ensure_complies_or_explained(
    ctx: RequestContext, collection: Collection[Any], record: Any | None, changes: Mapping[str, Any]
) -> None:
    """409 naming every principle whose deviation is open, and how to resolve it."""
    facts = jsonable_encoder({**(collection.snapshot(record) if record is not None else {}), **changes})
    body: dict[str, Any] = {"facts": facts}
    if record is not None:
        body["subject"] = {"href": collection.href(record.id)}
    else:
        body["kind"] = collection.kind.lower()
    response = await ctx.upstreams.post_json(CHECKS, ctx.principal, body)
    if response.status_code != 200:
        raise ServiceUnavailable(
            f"the principles service could not check comply-or-explain ({response.status_code}); nothing was changed"
        )
    answer = response.json()
    if answer.get("complies_or_explained"):
        return
    open_ = [
        {k: d.get(k) for k in ("principle", "code", "title", "resolve")} for d in answer.get("open_deviations", [])
    ]
    status = changes.get("status")
    names = ", ".join(f"{d['code']} ({d['principle']['href']})" for d in open_)
    raise Conflict(
        f"this {collection.kind} cannot become {status} while it deviates from {names} without an approved "
        "explanation (pas toe of leg uit: explain in advance); see open_deviations for how to resolve each",
        extra={"open_deviations": open_},
    )
