"""*Portfolio*: a round of the rolling portfolio as the portfolio manager steers it, from the API.

The round's items ranked with their decisions (``/rounds/{id}/items``, the initiative expanded at
the gateway), the run : renewal ratio against the round's target with its trend over the closed
rounds (``/reports/ratio?round=``: the trend is the report's own), and what changed since the
previous round (``/rounds/{id}/diff?against=``). The previous round is the one this round started
from (``from_round``), otherwise the round closed last before it opened. The CSV downloads are the
API's own exports of the same report and diff, streamed on as they come. Every figure is the
API's; the page picks rounds and formats numbers, nothing more.

Anyone whom the API lets read the portfolio sees the page (it is in the navigation of portfolio
managers); a person the API refuses gets its refusal as the page.
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway.portal.chain import DECISIONS
from gateway.portal.charts import Point, number, trend_bars
from gateway.portal.pages import PAGE_HEADERS, PageError, View, download, page, record_id

ROUNDS = "/portfolio/v1/rounds"
RATIO = "/portfolio/v1/reports/ratio"
KINDS = {"maintenance": "beheer", "security": "beveiliging", "renewal": "vernieuwing"}
STATUSES = {"draft": "concept", "open": "lopend", "closed": "gesloten"}
PASSED_ON = (
    "content-type",
    "content-disposition",
    "iv-records-basis",
    "iv-records-counted",
    "iv-records-left-out",
    "iv-records-not-visible",
)


def round_id(view: View, name: str) -> str | None:
    """A round's id from the query (``name``), or None when not given; not an id is a 400 page."""
    chosen = view.request.query_params.get(name)
    if chosen is None:
        return None
    return record_id(chosen, f"'{chosen}' is geen ronde: kies een ronde uit de lijst.")


def previous_of(current: dict[str, Any], rounds: list[dict[str, Any]]) -> str | None:
    """The href of the round to compare ``current`` with: the one it started from, otherwise the
    round closed last before it opened (or before now, for a draft)."""
    if current.get("from_round"):
        return str(current["from_round"]["href"])
    opened = current.get("opened_at")
    closed = [
        r
        for r in rounds
        if r["closed_at"] and r["href"] != current["href"] and (opened is None or r["closed_at"] < opened)
    ]
    return str(max(closed, key=lambda r: r["closed_at"])["href"]) if closed else None


@page("/portfolio", "Portfolio", roles=("portfolio_manager",))
async def portfolio(view: View) -> Response:
    chosen = round_id(view, "ronde")
    listed = await view.api.get(ROUNDS, [("limit", "100")])
    rounds: list[dict[str, Any]] = listed["items"]
    if chosen is not None:
        current = await view.api.get(f"{ROUNDS}/{chosen}")
    else:
        current = next((r for r in rounds if r["status"] == "open"), None)
        if current is None:
            closed = [r for r in rounds if r["closed_at"]]
            current = max(closed, key=lambda r: r["closed_at"]) if closed else None
    if current is None:
        return view.render("portfolio.html", title="Portfolio", current=None, rounds=rounds)
    previous = previous_of(current, rounds)
    requests = [
        (RATIO, [("round", current["href"])]),
        (f"{current['href']}/items", [("expand", "initiative"), ("limit", "100")]),
    ]
    if previous is not None:
        requests.append((f"{current['href']}/diff", [("against", previous)]))
    ratio, items, *rest = await view.api.get_all(*requests)
    diff = rest[0] if rest else None
    return view.render(
        "portfolio.html",
        title=f"Portfolio: {current['name']}",
        current=current,
        rounds=rounds,
        ratio=ratio,
        items=items,
        diff=diff,
        previous_name=next((r["name"] for r in rounds if r["href"] == previous), previous),
        trend=trend_chart(ratio),
        decisions=DECISIONS,
        kinds=KINDS,
        statuses=STATUSES,
    )


def ratio_text(ratio: dict[str, Any]) -> str:
    return f"{number(ratio['run'], 1)} : {number(ratio['renewal'], 1)}"


def target_text(target: dict[str, Any]) -> str:
    return f"{number(target['run'])} : {number(target['renewal'])}"


def trend_chart(report: dict[str, Any]) -> Any:
    """The report's trend over the closed rounds, and this round when it is not one of them."""
    points = [
        Point(
            p["name"], p["ratio"]["renewal"], ratio_text(p["ratio"]), p["target"]["renewal"], target_text(p["target"])
        )
        for p in report["trend"]
    ]
    if not any(p["round"]["href"] == report["round"]["href"] for p in report["trend"]):
        ratio, target = report["overall"]["ratio"], report["target"]
        points.append(
            Point(f"{report['name']} (nu)", ratio["renewal"], ratio_text(ratio), target["renewal"], target_text(target))
        )
    return trend_bars(
        "Verhouding beheer : vernieuwing per ronde (de balk is vernieuwing, de streep het doel)",
        points,
        value_label="Beheer : vernieuwing",
        target_label="Doel",
    )


@download("/portfolio/verhouding.csv")
async def ratio_csv(view: View) -> Response:
    """The ratio report of the round as the API exports it."""
    chosen = round_id(view, "ronde")
    if chosen is None:
        raise PageError(400, "Kies een ronde om te downloaden.")
    return await passed_on(view, RATIO, [("round", chosen)])


@download("/portfolio/verschil.csv")
async def diff_csv(view: View) -> Response:
    """What changed between the round and the one it is compared with, as the API exports it."""
    chosen, against = round_id(view, "ronde"), round_id(view, "tegen")
    if chosen is None or against is None:
        raise PageError(400, "Kies een ronde en de ronde om mee te vergelijken.")
    return await passed_on(view, f"{ROUNDS}/{chosen}/diff", [("against", against)])


async def passed_on(view: View, path: str, query: list[tuple[str, str]]) -> Response:
    answer = await view.api.export(path, query)
    headers = {**PAGE_HEADERS, **{name: answer.headers[name] for name in PASSED_ON if name in answer.headers}}
    return StreamingResponse(answer.aiter_bytes(), headers=headers, background=BackgroundTask(answer.aclose))
