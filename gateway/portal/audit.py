"""*Audit*: each service's change feed as an auditor checks it, from the services' own answers.

Per service: the verification of its feed (``/v1/changes/verify``: ``ok``, ``count``,
``broken_at``, the findings and what the other services witnessed), its newest signed
checkpoints (``/v1/changes/checkpoints``, from ten before the newest one the verification names)
and who changed what (``/v1/changes?order=newest``, newest first, a page at a time with ``voor``).
The services are asked at once, each on its own: a service that does not answer is shown as
such and the others still are. A person the API refuses (verification is for auditors and
admins) gets its refusal as the page.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from gateway.portal.api import ApiRefused
from gateway.portal.pages import PageError, View, page
from services.chassis.tasks import gather

SERVICES = ("valuechains", "portfolio", "principles")
NEWEST_CHECKPOINTS = 10
CHANGES_PER_PAGE = "25"
SEQ = re.compile(r"[0-9]{1,19}")
"""A feed position as the page takes it: ASCII digits (``str.isdigit`` also takes '²'), at most 19."""
WITNESS_STATUSES = {"agrees": "stemt overeen", "contradicts": "spreekt tegen", "unreachable": "niet bereikbaar"}


def before(view: View, service: str) -> str | None:
    """Where ``service``'s feed is read from (``voor_<service>``: a seq), or from the newest."""
    value = view.request.query_params.get(f"voor_{service}")
    if value is None:
        return None
    if not SEQ.fullmatch(value) or not 1 <= int(value) < 2**63:
        raise PageError(400, f"'{value}' is geen plek in de wijzigingen: volg de link 'Oudere wijzigingen'.")
    return value


@page("/audit", "Audit", roles=("auditor",))
async def audit(view: View) -> Response:
    starts = {service: before(view, service) for service in SERVICES}
    first = await gather(
        *(view.api.attempt(f"/{service}/v1/changes/verify") for service in SERVICES),
        *(view.api.attempt(f"/{service}/v1/changes", changes_query(starts[service])) for service in SERVICES),
    )
    verifications, changes = first[: len(SERVICES)], first[len(SERVICES) :]
    checkpoints = await gather(
        *(
            view.api.attempt(f"/{service}/v1/changes/checkpoints", checkpoint_window(verified))
            for service, verified in zip(SERVICES, verifications, strict=True)
        )
    )
    feeds = [
        {"service": service, "verify": v, "checkpoints": c, "changes": ch, "down": down(v, c, ch)}
        for service, v, c, ch in zip(SERVICES, verifications, checkpoints, changes, strict=True)
    ]
    return view.render("audit.html", title="Audit", feeds=feeds, witness_statuses=WITNESS_STATUSES)


def changes_query(start: str | None) -> list[tuple[str, str]]:
    query = [("order", "newest"), ("limit", CHANGES_PER_PAGE)]
    return [*query, ("before", start)] if start is not None else query


def checkpoint_window(verified: Any) -> list[tuple[str, str]]:
    """The newest checkpoints: from ten before the newest one the verification names."""
    newest = verified.get("checkpoint") if isinstance(verified, dict) else None
    after = max(int(newest) - NEWEST_CHECKPOINTS, 0) if newest else 0
    return [("after", str(after)), ("limit", str(NEWEST_CHECKPOINTS))]


def down(*answers: Any) -> bool:
    return any(isinstance(answer, ApiRefused) for answer in answers)
