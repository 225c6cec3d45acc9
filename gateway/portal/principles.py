"""*Pas toe of leg uit*: the principles as architects steer by them, from the principles API's answers.

What deviates now (the latest assessments that deviate, with their principle and subject), the
explanations waiting for a decision with four-eyes approve and reject, the explanations that
expire this quarter or need review after a new revision of their principle, a heatmap principle by
chain (the counts of ``/principles/v1/reports/compliance/chains``) and the register of principles.

Approving and rejecting are forms that post to this portal (CSRF checked first); the portal calls
the API's own ``approve`` and ``reject`` with the person's token, so the API decides: the requester
is refused there (four eyes), and the refusal comes back as a message, with nothing changed. After
a decision the person is sent back to the page (303, post-redirect-get) with a message naming what
happened; a message is a fixed sentence chosen by a code, never text from the address bar.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.responses import RedirectResponse, Response

from gateway.portal.api import ApiRefused
from gateway.portal.charts import NONE
from gateway.portal.pages import PAGE_HEADERS, PageError, View, action, page, record_id
from gateway.portal.session import PORTAL_PATH

PATH = "/principes"
EXPLANATIONS = "/principles/v1/explanations"
LISTED = "50"
CURSOR = re.compile(r"[A-Za-z0-9_=-]{1,512}")
"""What a page cursor of the API looks like (base64url); its meaning is the API's to check."""
DECIDERS = ("architect", "admin")
CATEGORIES = {
    "continuity_security": "Continuïteit en veiligheid",
    "renewal_innovation": "Vernieuwing en innovatie",
    "data_privacy": "Data en privacy",
    "craftsmanship_organisation": "Vakmanschap en organisatie",
    "finance_control": "Financiën en beheersing",
}
STATUSES = {"draft": "concept", "active": "actief", "retired": "ingetrokken"}
KINDS = {
    "chain": "keten",
    "team": "team",
    "allocation": "verdeling",
    "programme": "programma",
    "initiative": "initiatief",
    "ebo": "EBO",
}
MESSAGES = {
    "goedgekeurd": ("notice", "De uitleg is goedgekeurd."),
    "afgewezen": ("notice", "De uitleg is afgewezen."),
    "vier-ogen": (
        "refused",
        "U hebt deze uitleg zelf aangevraagd: een andere architect beoordeelt hem (vier ogen). Er is niets veranderd.",
    ),
    "niet-toegestaan": ("refused", "U mag deze uitleg niet beoordelen. Er is niets veranderd."),
    "al-besloten": ("refused", "Over deze uitleg is al besloten. Er is niets veranderd."),
    "onbekend": ("refused", "Deze uitleg bestaat niet, of u mag hem niet zien. Er is niets veranderd."),
}
REFUSALS = {403: "niet-toegestaan", 404: "onbekend", 409: "al-besloten", 412: "al-besloten"}


def quarter_end(on: dt.date) -> dt.date:
    """The last day of the calendar quarter ``on`` falls in."""
    last_month = (on.month - 1) // 3 * 3 + 3
    return dt.date(on.year + last_month // 12, last_month % 12 + 1, 1) - dt.timedelta(days=1)


@page(PATH, "Pas toe of leg uit", roles=("architect",))
async def comply_or_explain(view: View) -> Response:
    after = view.request.query_params.get("na")
    if after is not None and not CURSOR.fullmatch(after):
        raise PageError(400, "Deze vervolgpagina van het register bestaat niet.")
    until = quarter_end(dt.datetime.now(dt.UTC).date())
    register: list[tuple[str, str]] = [("limit", LISTED)] + ([("after", after)] if after else [])
    expanded = [("expand", "principle,subject"), ("limit", LISTED)]
    deviations, queue, expiring, review = await view.api.get_lists(
        ("/principles/v1/assessments", [("outcome", "deviates"), ("latest", "true"), *expanded]),
        (EXPLANATIONS, [("status", "requested"), *expanded]),
        (EXPLANATIONS, [("review_by_before", until.isoformat()), *expanded]),
        (EXPLANATIONS, [("needs_review", "true"), *expanded]),
    )
    heatmap, chains, principles = await view.api.get_all(
        ("/principles/v1/reports/compliance/chains", []),
        ("/valuechains/v1/chains", [("limit", "100")]),
        ("/principles/v1/principles", register),
    )
    message = MESSAGES.get(view.request.query_params.get("melding", ""))
    chain_labels = {c["href"]: c for c in chains["items"]}
    columns = sorted(
        {cell["chain"]["href"] for row in heatmap["principles"] for cell in row["chains"]},
        key=lambda href: chain_labels.get(href, {}).get("code", href),
    )
    return view.render(
        "principles.html",
        title="Pas toe of leg uit",
        message=message,
        deviations=deviations,
        queue=queue,
        expiring=expiring,
        review=review,
        quarter_end=until.isoformat(),
        heatmap=heatmap,
        columns=columns,
        chain_labels=chain_labels,
        cells={
            (row["principle"]["href"], c["chain"]["href"]): c for row in heatmap["principles"] for c in row["chains"]
        },
        principles=principles,
        next_page=_next_page(principles),
        may_decide=view.principal.has_role(*DECIDERS),
        me=view.principal.sub,
        categories=CATEGORIES,
        statuses=STATUSES,
        kinds=KINDS,
        heat=heat,
        name_of=name_of,
    )


@action(PATH + "/uitleg/goedkeuren")
async def approve(view: View) -> Response:
    explanation = record_id(view.form.get("uitleg", ""), "Kies een uitleg uit de lijst om te beoordelen.")
    note = view.form.get("toelichting", "").strip()
    return await _decide(view, explanation, "approve", {"note": note} if note else {}, "goedgekeurd")


@action(PATH + "/uitleg/afwijzen")
async def reject(view: View) -> Response:
    explanation = record_id(view.form.get("uitleg", ""), "Kies een uitleg uit de lijst om te beoordelen.")
    note = view.form.get("toelichting", "").strip()
    if not note:
        raise PageError(400, "Zeg bij het afwijzen waarom: de toelichting is verplicht. Er is niets veranderd.")
    return await _decide(view, explanation, "reject", {"note": note}, "afgewezen")


async def _decide(view: View, explanation: str, verb: str, body: dict[str, str], done: str) -> Response:
    if len(body.get("note", "")) > 4000:
        raise PageError(400, "De toelichting is te lang (hooguit 4000 tekens). Er is niets veranderd.")
    try:
        await view.api.post(f"{EXPLANATIONS}/{explanation}/{verb}", body)
    except ApiRefused as refused:
        if refused.status not in REFUSALS:
            raise
        code = "vier-ogen" if refused.status == 403 and "four eyes" in refused.detail else REFUSALS[refused.status]
        return _back(code)
    return _back(done)


def _back(message: str) -> Response:
    return RedirectResponse(f"{PORTAL_PATH}{PATH}?melding={message}#uitleg", status_code=303, headers=PAGE_HEADERS)


def _next_page(listing: dict[str, Any]) -> str | None:
    """The register's next page on this page (``?na=<cursor>``: the API's own ``after`` from its
    ``next`` link, opaque to the portal), when the API says there is one."""
    after = parse_qs(urlsplit(listing.get("next") or "").query).get("after")
    if not after:
        return None
    return f"{PORTAL_PATH}{PATH}?{urlencode({'na': after[0]})}#register"


def name_of(reference: dict[str, Any]) -> str:
    """An expanded reference's name (or code and title), else its href as the API left it."""
    for keys in (("code", "title"), ("name",), ("period",)):
        if all(isinstance(reference.get(k), str) for k in keys):
            return " ".join(reference[k] for k in keys)
    return str(reference.get("href", NONE))


def heat(cell: dict[str, Any] | None) -> str:
    """A cell's colour class, from the API's counts: none, all complying, some explained, some open."""
    if not cell or not cell.get("total"):
        return "heat-none"
    if cell.get("deviates"):
        return "heat-open-many" if cell["deviates"] * 2 >= cell["total"] else "heat-open"
    return "heat-explained" if cell.get("explained") else "heat-ok"
