"""*Mijn keten*: a chain as its owner steers it, from the API's answers for the person asking.

One ``include`` call on the chain brings its teams, applications, allocations and initiatives,
each as the owner of that collection shows it to this person, with each list's own count of what
it could not show them (``count_not_shown``). Beside it, the figures the chain's
representation does not carry, from the API that computes them: the staffing report for the
chain's FTE and external share against its limit, the latest deviating assessments about the
chain, the open round's items for its initiatives, and each allocation's revisions. Nothing is
counted or summed here: every number on the page is one the API gave.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway.portal.charts import Part, level_bar, number, split_bar
from gateway.portal.pages import View, page, record_id
from services.chassis.pagination import COUNT_NOT_SHOWN

CHAINS = "/valuechains/v1/chains"
INCLUDED = "teams,applications,allocations,initiatives"
SPLIT_LABELS = (("maintenance", "Beheer"), ("security", "Beveiliging"), ("renewal", "Vernieuwing"))
DECISIONS = {
    "start": "starten",
    "continue": "doorgaan",
    "adjust": "bijsturen",
    "stop": "stoppen",
    "defer": "uitstellen",
}
KINDS = {"initiative": "initiatief", "team": "team", "application": "applicatie", "allocation": "verdeling"}


@page("/keten", "Mijn keten", roles=("chain_owner",))
async def my_chain(view: View) -> Response:
    chosen = view.request.query_params.get("keten")
    if chosen is None:
        own = await view.api.get(CHAINS, [("owner_subject", view.principal.sub), ("limit", "100")])
        if len(own["items"]) == 1:
            return await chain_page(view, own["items"][0]["id"])
        listed = own if own["items"] else await view.api.get(CHAINS, [("limit", "100")])
        return view.render("chain_choice.html", title="Mijn keten", chains=listed, own=bool(own["items"]))
    return await chain_page(view, record_id(chosen, f"'{chosen}' is geen keten: kies een keten uit de lijst."))


async def chain_page(view: View, chain_id: str) -> Response:
    chain = await view.api.get(f"{CHAINS}/{chain_id}", [("include", INCLUDED), (COUNT_NOT_SHOWN, "true")])
    href = chain["href"]
    staffing, rounds, deviations = await view.api.get_all(
        ("/valuechains/v1/reports/staffing", [("chain", href)]),
        ("/portfolio/v1/rounds", [("status", "open"), ("limit", "1")]),
        (
            "/principles/v1/assessments",
            [
                ("value_chain", href),
                ("outcome", "deviates"),
                ("latest", "true"),
                ("expand", "principle"),
                ("limit", "100"),
            ],
        ),
    )
    included = chain["included"]
    current = rounds["items"][0] if rounds["items"] else None
    allocations = included["allocations"]["items"]
    later = [(a["revisions_href"], [("limit", "100")]) for a in allocations]
    if current is not None:
        later.append((f"{current['href']}/items", [("value_chain", href), ("limit", "100")]))
    answers = await view.api.get_all(*later)
    revisions = dict(zip((a["href"] for a in allocations), answers, strict=False))
    round_items = answers[len(allocations)]["items"] if current is not None else []
    staffed = next((row for row in staffing["chains"] if row["chain"]["href"] == href), None)
    return view.render(
        "chain.html",
        title=f"Mijn keten: {chain['name']}",
        chain=chain,
        teams=included["teams"],
        applications=included["applications"],
        allocations=included["allocations"],
        initiatives=included["initiatives"],
        staffing=staffed,
        staffing_coverage=staffing.get("coverage"),
        current_round=current,
        round_items=round_items,
        initiative_names={i["href"]: i["name"] for i in included["initiatives"]["items"]},
        deviations=deviations,
        deviations_by_subject=_by_subject(deviations["items"]),
        revisions=revisions,
        split_chart=split_chart,
        share_chart=share_chart,
        decisions=DECISIONS,
        kinds=KINDS,
    )


def _by_subject(assessments: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for assessment in assessments:
        grouped.setdefault(assessment["subject"]["href"], []).append(assessment)
    return grouped


def split_chart(allocation: dict[str, Any]) -> Any:
    parts = [Part(label, allocation[key], number(allocation[key], unit="%")) for key, label in SPLIT_LABELS]
    return split_bar(f"Verdeling {allocation['period']}", parts)


def share_chart(staffed: dict[str, Any]) -> Any:
    return level_bar(
        "Externe inzet tegen de grens",
        Part("Extern aandeel", staffed["external_share"], number(staffed["external_share"], 1, "%")),
        Part("Grens", staffed["external_share_limit"], number(staffed["external_share_limit"], 1, "%")),
    )
