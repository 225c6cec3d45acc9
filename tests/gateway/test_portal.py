"""The portal in-process (the browser test is test_portal_browser.py): sessions and their cookie,
CSRF, sign-in's refusals, the page policy, and Mijn keten's figures being the API's."""

from __future__ import annotations

import asyncio
import re
import time
from http.cookies import SimpleCookie

import httpx2
import pytest
from fastapi import FastAPI
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from gateway.portal import principles as principles_page
from gateway.portal.api import ApiRefused, PersonApi
from gateway.portal.session import SESSION_COOKIE, SIGN_IN_COOKIE, Sealer, Session
from gateway.portal.signin import safe_next
from tests.gateway.conftest import MakeRig, Rig
from tests.gateway.portal_world import (
    DECIDER,
    REQUESTER,
    architect_headers,
    make_explain_world,
    make_portal_world,
    make_portfolio_world,
    owner_headers,
)
from tests.principles.helpers import principle_body
from tests.support import Tokens


def session_cookie(rig: Rig, headers: dict[str, str]) -> str:
    """The sealed session of the person whose Authorization header this is (as sign-in makes it)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    sealer: Sealer = rig.app.state.portal.sealer
    return sealer.seal({"token": token, "exp": time.time() + 600})


def portal_client(rig: Rig, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
    client = rig.client()
    if headers is not None:
        client.headers["Cookie"] = f"{SESSION_COOKIE}={session_cookie(rig, headers)}"
    return client


async def test_signed_out_people_are_sent_to_sign_in_and_pages_are_not_api(rig: Rig) -> None:
    async with rig.client() as client:
        home = await client.get("/portal/")
        page = await client.get("/portal/keten?keten=x")
        document = (await client.get("/openapi.json")).json()
    assert home.status_code == 200 and 'href="/portal/aanmelden"' in home.text
    policy = home.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "form-action 'self'" in policy
    assert home.headers["cache-control"] == "no-store"
    assert page.status_code == 303
    assert page.headers["location"] == "/portal/aanmelden?next=%2Fportal%2Fketen%3Fketen%3Dx"
    assert not [path for path in document["paths"] if path.startswith("/portal")]


async def test_a_session_that_is_forged_expired_or_sealed_with_another_key_is_none(rig: Rig, tokens: Tokens) -> None:
    other = Sealer([]).seal({"token": tokens("admin")["Authorization"][7:], "exp": time.time() + 600})
    expired = rig.app.state.portal.sealer.seal({"token": "t", "exp": time.time() - 1})
    async with rig.client() as client:
        for value in (other, expired, "not-sealed"):
            answer = await client.get("/portal/keten", headers={"Cookie": f"{SESSION_COOKIE}={value}"})
            assert answer.status_code == 303, value


async def test_sign_in_without_a_provider_is_a_clear_page_and_a_callback_not_begun_here_is_400(rig: Rig) -> None:
    async with rig.client() as client:
        start = await client.get("/portal/aanmelden")
        back = await client.get("/portal/aanmelden/terug?code=c&state=s")
    assert start.status_code == 503 and "niet ingericht" in start.text
    assert back.status_code == 503


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/portal/keten?keten=1", "/portal/keten?keten=1"),
        ("https://elders.example/portal/", "/portal/"),
        ("//elders.example/portal/", "/portal/"),
        ("/portal/\\\\elders", "/portal/"),
        ("/docs", "/portal/"),
        (None, "/portal/"),
    ],
)
def test_after_sign_in_only_a_portal_path_of_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


async def test_sign_out_needs_the_sessions_csrf_token_and_then_ends_the_cookie(rig: Rig, tokens: Tokens) -> None:
    headers = owner_headers(tokens)
    async with portal_client(rig, headers) as client:
        home = await client.get("/portal/")
        csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        missing = await client.post("/portal/afmelden", content=b"", headers=form)
        wrong = await client.post("/portal/afmelden", content=b"csrf=" + b"0" * 64, headers=form)
        # A token for another session (another person's) is refused too.
        other = rig.app.state.portal.sealer.csrf_token(Session(tokens("admin")["Authorization"][7:], time.time() + 60))
        foreign = await client.post("/portal/afmelden", content=f"csrf={other}".encode(), headers=form)
        done = await client.post("/portal/afmelden", content=f"csrf={csrf}".encode(), headers=form)
    for refused in (missing, wrong, foreign):
        assert refused.status_code == 403 and "er is niets veranderd" in refused.text
        assert "set-cookie" not in refused.headers
    assert done.status_code == 303 and done.headers["location"] == "/portal/?afgemeld=1"
    ended = [SimpleCookie(header) for header in done.headers.get_list("set-cookie")]
    cookie = next(c[SESSION_COOKIE] for c in ended if SESSION_COOKIE in c)
    assert cookie.value == "" and cookie["max-age"] == "0" and cookie["path"] == "/portal"


def test_the_session_cookie_is_httponly_secure_strict_and_holds_only_the_sealed_token() -> None:
    sealer = Sealer([])
    response = Response()
    sealer.start(response, Session("the-token", time.time() + 300))
    header = response.headers["set-cookie"]
    cookie = SimpleCookie(header)[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "strict" and cookie["path"] == "/portal"
    assert 295 <= int(cookie["max-age"]) <= 300
    assert "the-token" not in header
    assert sealer.open(cookie.value) is not None and set(sealer.open(cookie.value) or {}) == {"token", "exp"}


async def test_my_chain_shows_the_apis_figures_and_what_it_does_not_show(rig: Rig, tokens: Tokens) -> None:
    world = await make_portal_world(rig, tokens)
    chain_id = world.chain["id"]
    async with rig.client(owner_headers(tokens)) as api:
        staffing = (await api.get("/valuechains/v1/reports/staffing", params={"chain": world.chain["href"]})).json()
        chain = (await api.get(f"/valuechains/v1/chains/{chain_id}")).json()
    row = staffing["chains"][0]
    async with portal_client(rig, owner_headers(tokens)) as client:
        page = await client.get("/portal/keten")  # the only chain this owner owns
        bad = await client.get("/portal/keten?keten=../../admin")
        absent = await client.get("/portal/keten?keten=019a0000-0000-7000-8000-0000000000ff")
    assert page.status_code == 200, page.text
    assert 'data-figure="external_share">' + f"{row['external_share']:.1f}".replace(".", ",") in page.text
    assert 'data-figure="fte_total">' + f"{row['fte_total']:.1f}".replace(".", ",") in page.text
    assert f'data-figure="active_applications">{chain["active_applications"]}<' in page.text
    assert chain["applications_not_visible"] == 1
    # Each list's count is the API's own not_shown for it (count_not_shown through include).
    assert not_shown(page.text) == {"teams": 0, "applicaties": 1, "initiatieven": 1}
    assert "Open register" in page.text and "Geheim register" not in page.text
    assert "Open aangifte" in page.text and "Geheim onderzoek" not in page.text
    assert "Eerst de basis op orde." in page.text and "<svg" in page.text and "<desc" in page.text
    assert bad.status_code == 400 and "geen keten" in bad.text
    assert absent.status_code == 404
    async with portal_client(rig, owner_headers(tokens, clearance="confidential")) as cleared:
        seen = await cleared.get(f"/portal/keten?keten={chain_id}")
    assert not_shown(seen.text) == {"teams": 0, "applicaties": 0, "initiatieven": 0}
    assert "Geheim register" in seen.text and "Geheim onderzoek" in seen.text


def not_shown(html: str) -> dict[str, int]:
    """Each *Niet getoond* on a page: what it is about and its number."""
    found = re.findall(r'data-not-shown="(\d+)" data-not-shown-of="([^"]+)"', html)
    return {what: int(count) for count, what in found}


def figure(html: str, name: str) -> str:
    """The text of the element marked ``data-figure="name"`` on a page."""
    return html.split(f'data-figure="{name}">', 1)[1].split("<", 1)[0]


def dutch(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


async def test_portfolio_shows_the_apis_ratio_trend_and_diff_and_streams_its_csv(rig: Rig, tokens: Tokens) -> None:
    world = await make_portfolio_world(rig, tokens)
    current, previous = world.current, world.previous
    uncleared = tokens("portfolio_manager")
    async with rig.client(uncleared) as api:
        ratio = (await api.get("/portfolio/v1/reports/ratio", params={"round": current["href"]})).json()
        diff = (await api.get(f"{current['href']}/diff", params={"against": previous["href"]})).json()
        csv = await api.get(
            "/portfolio/v1/reports/ratio", params={"round": current["id"]}, headers={"Accept": "text/csv"}
        )
        diff_of_api = await api.get(
            f"{current['href']}/diff", params={"against": previous["href"]}, headers={"Accept": "text/csv"}
        )
    async with portal_client(rig, uncleared) as client:
        page = await client.get("/portal/portfolio")
        chosen = await client.get(f"/portal/portfolio?ronde={previous['id']}")
        download = await client.get(f"/portal/portfolio/verhouding.csv?ronde={current['id']}")
        diff_csv = await client.get(f"/portal/portfolio/verschil.csv?ronde={current['id']}")
        diff_download = await client.get(f"/portal/portfolio/verschil.csv?ronde={current['id']}&tegen={previous['id']}")
        bad = await client.get("/portal/portfolio?ronde=../../x")
        absent = await client.get("/portal/portfolio?ronde=019a0000-0000-7000-8000-0000000000ff")
        no_round = await client.get("/portal/portfolio/verhouding.csv")
    assert page.status_code == 200, page.text
    overall = ratio["overall"]["ratio"]
    assert figure(page.text, "ratio") == f"{dutch(overall['run'])} : {dutch(overall['renewal'])}"
    assert figure(page.text, "target") == "55 : 45" and figure(page.text, "renewal_gap") == dutch(ratio["renewal_gap"])
    assert [p["name"] for p in ratio["trend"]] == ["Ronde een"]  # the trend, and this open round beside it
    assert "Ronde een</th>" in page.text and "Ronde twee (nu)</th>" in page.text and "<desc" in page.text
    assert figure(page.text, "decisions_changed") == str(diff["summary"]["decisions_changed"]) == "1"
    assert "doorgaan → stoppen" in page.text and "Naar de generieke voorziening." in page.text
    # Not cleared for the confidential initiative: not listed, and the diff's own count says so.
    assert diff["coverage"]["round"]["left_out"] == 1 and 'data-not-shown="1"' in page.text
    assert "Geheime vernieuwing" not in page.text and "Digitale aangifte" in page.text
    assert chosen.status_code == 200 and "Er is geen vorige ronde" in chosen.text
    assert download.status_code == 200 and download.content == csv.content
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == csv.headers["content-disposition"]
    assert diff_csv.status_code == 400 and f"verschil.csv?ronde={current['id']}&amp;tegen={previous['id']}" in page.text
    assert diff_of_api.status_code == 200, diff_of_api.text
    assert diff_download.status_code == 200 and diff_download.content == diff_of_api.content
    assert "Ronde twee" in diff_download.text and "Ronde een" in diff_download.text  # the rounds' names
    assert bad.status_code == 400 and "geen ronde" in bad.text
    assert absent.status_code == 404 and no_round.status_code == 400
    async with portal_client(rig, tokens("portfolio_manager", clearance="confidential")) as cleared:
        seen = await cleared.get("/portal/portfolio")
    assert "Geheime vernieuwing" in seen.text and 'data-not-shown="1"' not in seen.text


async def test_portfolio_and_audit_give_a_refused_person_the_apis_refusal(rig: Rig, tokens: Tokens) -> None:
    async with portal_client(rig, tokens("partner", sub="u-om", partner_org="OM")) as partner:
        refused = await partner.get("/portal/portfolio")
    async with portal_client(rig, tokens("reader")) as reader:
        audit = await reader.get("/portal/audit")
        home = await reader.get("/portal/")
    assert refused.status_code == 403 and "geen toegang" in refused.text
    assert audit.status_code == 403 and "geen toegang" in audit.text
    assert 'href="/portal/audit"' not in home.text and 'href="/portal/portfolio"' not in home.text


async def test_audit_shows_each_feeds_verification_checkpoints_and_changes_and_a_service_that_is_down(
    rig: Rig, tokens: Tokens
) -> None:
    world = await make_portal_world(rig, tokens)
    auditor = tokens("auditor")
    async with rig.client(auditor) as api:
        verified = (await api.get("/valuechains/v1/changes/verify")).json()
        newest = (await api.get("/valuechains/v1/changes", params={"order": "newest", "limit": 25})).json()
    async with portal_client(rig, auditor) as client:
        page = await client.get("/portal/audit")
        older = await client.get(f"/portal/audit?voor_valuechains={newest['items'][0]['seq']}")
        bad = await client.get("/portal/audit?voor_portfolio=-1")
        superscript = await client.get("/portal/audit?voor_portfolio=%C2%B2")  # '²' is a digit to str.isdigit
        rig.transport.down.add("principles.test")
        partly = await client.get("/portal/audit")
    assert page.status_code == 200, page.text
    section = page.text.split('data-service="valuechains"', 1)[1].split("</section>", 1)[0]
    assert verified["ok"] and 'data-verify="ok"' in section
    assert figure(section, "count") == f"{verified['count']:,}".replace(",", ".")
    seqs = [int(row.split('"', 1)[0]) for row in section.split('data-change="')[1:]]
    assert seqs == [e["seq"] for e in newest["items"]] and seqs == sorted(seqs, reverse=True)
    assert world.chain["href"] in section and "u-portal-owner" in section
    older_section = older.text.split('data-service="valuechains"', 1)[1].split("</section>", 1)[0]
    assert 'data-change="' in older_section  # the page before the newest, of this feed alone
    assert f'data-change="{newest["items"][0]["seq"]}"' not in older_section
    assert bad.status_code == 400 and superscript.status_code == 400
    assert partly.status_code == 200 and 'data-down="principles"' in partly.text
    assert 'data-down="valuechains"' not in partly.text and 'data-service="portfolio"' in partly.text


DEVIATIONS = {"outcome": "deviates", "latest": "true", "limit": "50"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def test_comply_or_explain_shows_the_apis_figures_and_decides_with_four_eyes(rig: Rig, tokens: Tokens) -> None:
    world = await make_portal_world(rig, tokens)
    explain = await make_explain_world(rig, tokens, world.chain)
    explanation = f"/principles/v1/explanations/{explain.explanation['id']}"
    requester, decider = (architect_headers(tokens, sub) for sub in (REQUESTER, DECIDER))
    async with rig.client(decider) as api:
        heatmap = (await api.get("/principles/v1/reports/compliance/chains")).json()
    row = next(r for r in heatmap["principles"] if r["principle"]["href"] == explain.principle["href"])
    cell = next(c for c in row["chains"] if c["chain"]["href"] == world.chain["href"])

    async with portal_client(rig, requester) as client:
        page = await client.get("/portal/principes")
        assert page.status_code == 200, page.text
        csrf = csrf_of(page.text)
        form = f"csrf={csrf}&uitleg={explain.explanation['id']}"
        own = await client.post("/portal/principes/uitleg/goedkeuren", content=form.encode(), headers=FORM)
        own_reject = await client.post(
            "/portal/principes/uitleg/afwijzen", content=f"{form}&toelichting=Nee".encode(), headers=FORM
        )
        refused_page = await client.get(own.headers["location"])
        no_csrf = await client.post(
            "/portal/principes/uitleg/goedkeuren", content=f"uitleg={explain.explanation['id']}".encode(), headers=FORM
        )
        bad_id = await client.post(
            "/portal/principes/uitleg/goedkeuren", content=f"csrf={csrf}&uitleg=..%2F".encode(), headers=FORM
        )
        no_note = await client.post("/portal/principes/uitleg/afwijzen", content=form.encode(), headers=FORM)
        bad_page = await client.get("/portal/principes?na=..%2F")
        unknown_cursor = await client.get("/portal/principes?na=not-a-cursor")
    async with rig.client(requester) as api:
        assert (await api.get(explanation)).json()["status"] == "requested"  # nothing changed
    assert f'data-explanation="{explain.explanation["id"]}"' in page.text
    assert f'data-principle="{explain.principle["href"]}"' in page.text
    shown = page.text.split(f'data-principle="{explain.principle["href"]}"', 1)[1].split("</tr>", 1)[0]
    assert f'data-chain="{world.chain["href"]}"' in shown
    assert f'<span data-figure="deviates">{cell["deviates"]}</span>' in shown.split(world.chain["href"], 1)[1]
    # Without clearance too the confidential initiative's deviation counts in its chain.
    assert (cell["deviates"], cell["total"], row["not_placed"]["total"]) == (2, 2, 0)
    for refused in (own, own_reject):
        assert refused.status_code == 303 and refused.headers["location"].startswith(
            "/portal/principes?melding=vier-ogen"
        )
    assert "vier ogen" in refused_page.text and "Er is niets veranderd" in refused_page.text
    assert no_csrf.status_code == 403 and bad_id.status_code == 400 and no_note.status_code == 400
    assert bad_page.status_code == 400
    assert unknown_cursor.status_code == 422, "the API's own refusal of a cursor it did not issue"

    async with portal_client(rig, decider) as client:
        page = await client.get("/portal/principes")
        done = await client.post(
            "/portal/principes/uitleg/goedkeuren",
            content=f"csrf={csrf_of(page.text)}&uitleg={explain.explanation['id']}&toelichting=Akkoord".encode(),
            headers=FORM,
        )
        after = await client.get(done.headers["location"])
    assert done.status_code == 303 and "De uitleg is goedgekeurd." in after.text
    async with rig.client(decider) as api:
        decided = (await api.get(explanation)).json()
    assert decided["status"] == "approved" and decided["approved_by"] == DECIDER


async def test_foundation_and_the_heatmap_show_fewer_records_and_the_not_shown_count_without_clearance(
    rig: Rig, tokens: Tokens
) -> None:
    world = await make_portal_world(rig, tokens)
    explain = await make_explain_world(rig, tokens, world.chain)
    answers = {}
    for clearance in ("internal", "confidential"):
        headers = architect_headers(tokens, DECIDER, clearance=clearance)
        async with rig.client(headers) as api:
            foundation = (await api.get("/valuechains/v1/reports/foundation")).json()
            heatmap = (await api.get("/principles/v1/reports/compliance/chains")).json()
            deviations = (await api.get("/principles/v1/assessments", params=DEVIATIONS)).json()
        async with portal_client(rig, headers) as client:
            pages = await client.get("/portal/fundament"), await client.get("/portal/principes")
        answers[clearance] = foundation, heatmap, *pages
        assert pages[1].text.count("data-deviation=") == len(deviations["items"])
    async with portal_client(rig, architect_headers(tokens, DECIDER)) as client:
        bad = await client.get("/portal/fundament?peildatum=gisteren")
    assert bad.status_code == 400
    for foundation, heatmap, fundament, principles in answers.values():
        assert fundament.status_code == principles.status_code == 200
        left_out = foundation["coverage"]["details"]["left_out"]
        assert f'data-not-shown="{left_out}"' in fundament.text
        chain = next(c for c in foundation["chains"] if c["chain"]["href"] == world.chain["href"])
        shown = fundament.text.split(f'data-chain="{world.chain["href"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-figure="applications">{chain["applications"]}<' in shown
        assert f'data-not-shown="{heatmap["coverage"]["not_visible"]}"' in principles.text
        row = next(r for r in heatmap["principles"] if r["principle"]["href"] == explain.principle["href"])
        placed = principles.text.split(f'data-principle="{explain.principle["href"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-figure="not_placed">{row["not_placed"]["deviates"]} /' in placed
    uncleared, cleared = answers["internal"], answers["confidential"]
    assert uncleared[0]["coverage"]["details"]["left_out"] > cleared[0]["coverage"]["details"]["left_out"]
    assert uncleared[1]["coverage"]["not_visible"] > cleared[1]["coverage"]["not_visible"]


async def test_the_register_pages_on_with_the_apis_own_cursor(
    rig: Rig, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_portal_world(rig, tokens)
    await make_explain_world(rig, tokens, world.chain)  # one principle in the register
    async with rig.client(architect_headers(tokens, REQUESTER)) as api:  # and a second
        second_principle = await api.post(
            "/principles/v1/principles", json=principle_body(category="continuity_security")
        )
        assert second_principle.status_code == 201, second_principle.text
    monkeypatch.setattr(principles_page, "LISTED", "1")
    async with portal_client(rig, architect_headers(tokens, DECIDER)) as client:
        first = await client.get("/portal/principes")
        link = first.text.split('href="/portal/principes?na=', 1)[1].split('"', 1)[0].split("#", 1)[0]
        second = await client.get(f"/portal/principes?na={link}")
    assert first.status_code == 200 and second.status_code == 200, second.text
    shown = [re.findall(r'data-register="([^"]+)"', page.text) for page in (first, second)]
    assert len(shown[0]) == len(shown[1]) == 1 and shown[0] != shown[1]


@pytest.mark.parametrize(
    ("answer", "status", "says"),
    [
        (PlainTextResponse("not json"), 400, "opnieuw"),
        (JSONResponse(["a", "list"]), 400, "opnieuw"),
        (JSONResponse({"access_token": 42}), 400, "opnieuw"),
        (JSONResponse({"error": "invalid_grant"}, status_code=400), 400, "opnieuw"),
    ],
)
async def test_a_token_answer_without_a_token_is_a_clear_page_not_a_500(
    make_rig: MakeRig, answer: Response, status: int, says: str
) -> None:
    """Whatever the provider's token endpoint answers, the person gets a page saying what to do."""

    provider = FastAPI()
    provider.add_api_route("/token", lambda: answer, methods=["POST"])

    settings = {"portal_authorization_url": "https://idp.test/authorize", "portal_token_url": "http://idp.test/token"}
    async with make_rig(**settings) as rig:
        rig.transport.add("idp.test", provider)
        sealer: Sealer = rig.app.state.portal.sealer
        started = sealer.seal({"state": "s1", "verifier": "v" * 43, "next": "/portal/"})
        async with rig.client() as client:
            client.headers["Cookie"] = f"{SIGN_IN_COOKIE}={started}"
            back = await client.get("/portal/aanmelden/terug?code=c&state=s1")
    assert back.status_code == status and says in back.text.lower(), back.text
    made = back.headers.get_list("set-cookie")
    assert not any(c.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" not in c for c in made), made


async def test_calls_at_once_end_before_a_page_answers_with_the_first_error() -> None:
    """A page's API calls run at once; when one is refused the others are not left running on (on
    the person's token, after the page has answered): they have ended when the refusal is raised."""
    running: set[str] = set()

    async def api(scope: Scope, receive: Receive, send: Send) -> None:
        running.add(scope["path"])
        try:
            if scope["path"] == "/slow":
                await asyncio.sleep(5)
            answer = JSONResponse({"detail": "no"}, status_code=403 if scope["path"] == "/refused" else 200)
            await answer(scope, receive, send)
        finally:
            running.discard(scope["path"])

    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=api), base_url="http://api") as client:
        person = PersonApi(client, "token")
        with pytest.raises(ApiRefused):
            await person.get_all(("/slow", []), ("/refused", []))
        assert running == set()
        assert await person.get_all(("/fine", []), ("/fine", [])) == [{"detail": "no"}] * 2
