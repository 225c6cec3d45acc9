"""*Fundament*: how good each chain's foundation is, from valuechains' foundation report.

Per chain the counts (every active application, whatever its classification: basis ``all``), and
the applications that need attention (past their support date, or with open critical findings) as
far as the person may see them, with the initiatives that renew, replace or retire them. How many
applications the list leaves out, and how many flagged ones, is the report's own number.
"""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from gateway.portal.pages import PageError, View, page

EFFECTS = {"renews": "vernieuwt", "replaces": "vervangt", "retires": "faseert uit"}


@page("/fundament", "Fundament", roles=("chain_owner", "portfolio_manager", "architect", "auditor"))
async def foundation(view: View) -> Response:
    as_of = view.request.query_params.get("peildatum")
    query: list[tuple[str, str]] = []
    if as_of:
        try:
            query.append(("as_of", dt.date.fromisoformat(as_of).isoformat()))
        except ValueError:
            raise PageError(400, f"'{as_of}' is geen datum: geef een datum als 2026-12-31.") from None
    report = await view.api.get("/valuechains/v1/reports/foundation", query)
    return view.render("foundation.html", title="Fundament", report=report, effects=EFFECTS)
