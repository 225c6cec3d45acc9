"""The portal in a browser (Debian's chromium, driven by Playwright): a chain owner signs in at the
development identity provider (authorization code with PKCE), Mijn keten shows the API's figures
for that person and how many applications it does not show; with clearance the same owner sees
them; Tab reaches every link and button. Screenshots go to var/test-artefacts/portal/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import AppCache
from tests.gateway.conftest import (
    BROWSER_GUARD_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MakeRig,
    served_with_provider,
)
from tests.gateway.portal_world import (
    DECIDER,
    OWNER,
    REQUESTER,
    architect_headers,
    created,
    make_explain_world,
    make_portal_world,
    make_portfolio_world,
    owner_headers,
)
from tests.support import Tokens
from tests.valuechains.helpers import chain_body, unique

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed: `apt-get install chromium`"
)
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "portal"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One chromium for the module; its screenshots go to ARTEFACTS."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(
    page: Page,
    gateway_url: str,
    clearance: str,
    *,
    sub: str = OWNER,
    role: str = "chain_owner",
    also: tuple[str, ...] = (),
    path: str = "/portal/keten",
) -> None:
    await page.goto(f"{gateway_url}{path}")
    await page.locator("input[name=sub]").fill(sub)
    for each in (role, *also):
        await page.locator(f"input[name=roles][value={each}]").check()
    await page.locator("select[name=clearance]").select_option(clearance)
    await page.get_by_role("button", name="Aanmelden").click()
    await page.wait_for_url(f"{gateway_url}{path}")


async def signed_in_page(browser: Browser, gateway_url: str, clearance: str, **who: Any) -> tuple[BrowserContext, Page]:
    """A browser context of its own (its own cookies: one person) signed in at the provider."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(BROWSER_GUARD_MS)
    await sign_in(page, gateway_url, clearance, **who)
    return context, page


async def tab_reaches_every_action(page: Page) -> None:
    """Tab from the top reaches every link and button on the page (and the fields between them: a
    date field takes a stop per part, so up to four per field)."""
    stops = await page.locator("a[href], button, textarea, input:not([type=hidden]), select").count()
    everything = set(await page.locator("a[href], button").evaluate_all("els => els.map(e => e.outerHTML)"))
    reached: set[str] = set()
    for _ in range(stops * 4 + 2):
        await page.keyboard.press("Tab")
        reached.add(await page.evaluate("document.activeElement.outerHTML"))
        if everything <= reached:
            break
    assert everything <= reached, everything - reached


async def test_a_chain_owner_signs_in_and_sees_the_apis_figures(
    make_rig: MakeRig, app_cache: AppCache, tokens: Tokens, browser: Browser, tmp_path: Path
) -> None:
    async with served_with_provider(make_rig, app_cache, tmp_path) as (rig, gateway_url):
        world = await make_portal_world(rig, tokens)
        async with rig.client(owner_headers(tokens)) as api:
            staffing = (await api.get("/valuechains/v1/reports/staffing", params={"chain": world.chain["href"]})).json()
        share = f"{staffing['chains'][0]['external_share']:.1f}".replace(".", ",")

        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(BROWSER_GUARD_MS)
        requested: list[str] = []
        context.on("request", lambda request: requested.append(request.url))
        await sign_in(page, gateway_url, "internal")
        cookie = next(c for c in await context.cookies() if c["name"] == "iv_portal_session")
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        assert (await page.locator("[data-figure=external_share]").inner_text()).startswith(share)
        assert await page.locator("[data-not-shown-of=applicaties]").get_attribute("data-not-shown") == "1"
        uncleared_rows = await page.locator("tr[data-application]").count()
        await page.screenshot(path=str(ARTEFACTS / "mijn-keten-internal.png"), full_page=True)

        await tab_reaches_every_action(page)

        await context.close()
        # The same owner with clearance, in a browser of their own.
        context, page = await signed_in_page(browser, gateway_url, "confidential")
        assert await page.locator("[data-not-shown-of=applicaties]").get_attribute("data-not-shown") == "0"
        assert await page.locator("tr[data-application]").count() == uncleared_rows + 1
        await page.screenshot(path=str(ARTEFACTS / "mijn-keten-confidential.png"), full_page=True)
        await context.close()
    assert any("/authorize?" in url and "code_challenge_method=S256" in url for url in requested)
    assert not any("access_token" in url or "code_verifier" in url for url in requested)


async def test_architects_decide_an_explanation_in_the_browser_with_four_eyes(
    make_rig: MakeRig, app_cache: AppCache, tokens: Tokens, browser: Browser, tmp_path: Path
) -> None:
    async with served_with_provider(make_rig, app_cache, tmp_path) as (rig, gateway_url):
        async with rig.client(tokens("admin")) as admin:
            chain = await created(admin, "POST", "/valuechains/v1/chains", chain_body(unique("PRB")))
        explain = await make_explain_world(rig, tokens, chain)
        explanation = f"/principles/v1/explanations/{explain.explanation['id']}"
        queued = f"article[data-explanation='{explain.explanation['id']}']"
        async with rig.client(architect_headers(tokens, DECIDER)) as api:
            foundation = (await api.get("/valuechains/v1/reports/foundation")).json()

        asker, page = await signed_in_page(
            browser, gateway_url, "internal", sub=REQUESTER, role="architect", path="/portal/principes"
        )
        assert await page.locator(queued).count() == 1
        await page.screenshot(path=str(ARTEFACTS / "pas-toe-of-leg-uit.png"), full_page=True)
        await page.locator(queued).get_by_role("button", name="Goedkeuren").click()
        await page.wait_for_url("**/portal/principes?melding=vier-ogen*")
        assert "vier ogen" in await page.locator("[data-message=refused]").inner_text()
        await page.screenshot(path=str(ARTEFACTS / "pas-toe-of-leg-uit-geweigerd.png"))  # the message, at the top
        await tab_reaches_every_action(page)  # the approve and reject buttons among them
        async with rig.client(architect_headers(tokens, REQUESTER)) as api:
            assert (await api.get(explanation)).json()["status"] == "requested"

        await page.goto(f"{gateway_url}/portal/fundament")
        assert (await page.locator("tfoot [data-figure=applications]").inner_text()) == str(
            foundation["overall"]["applications"]
        )
        await tab_reaches_every_action(page)
        await page.screenshot(path=str(ARTEFACTS / "fundament.png"), full_page=True)
        await asker.close()

        decider, page = await signed_in_page(
            browser, gateway_url, "internal", sub=DECIDER, role="architect", path="/portal/principes"
        )
        await page.locator(queued).get_by_label("Toelichting (niet verplicht)").fill("Akkoord, tot de review.")
        await page.locator(queued).get_by_role("button", name="Goedkeuren").click()
        await page.wait_for_url("**/portal/principes?melding=goedgekeurd*")
        assert await page.locator("[data-message=notice]").inner_text() == "De uitleg is goedgekeurd."
        assert await page.locator(queued).count() == 0
        await decider.close()
        async with rig.client(architect_headers(tokens, DECIDER)) as api:
            decided = (await api.get(explanation)).json()
        assert decided["status"] == "approved" and decided["approved_by"] == DECIDER


async def test_portfolio_and_audit_render_with_the_apis_ratio_and_signing_out_ends_the_session(
    make_rig: MakeRig, app_cache: AppCache, tokens: Tokens, browser: Browser, tmp_path: Path
) -> None:
    async with served_with_provider(make_rig, app_cache, tmp_path) as (rig, gateway_url):
        world = await make_portfolio_world(rig, tokens)
        async with rig.client(tokens("portfolio_manager", sub="u-portal-pm")) as api:
            report = await api.get("/portfolio/v1/reports/ratio", params={"round": world.current["href"]})
        ratio = report.json()["overall"]["ratio"]
        shown = f"{ratio['run']:.1f} : {ratio['renewal']:.1f}".replace(".", ",")

        context, page = await signed_in_page(
            browser,
            gateway_url,
            "internal",
            sub="u-portal-pm",
            role="portfolio_manager",
            also=("auditor",),
            path="/portal/portfolio",
        )
        assert await page.locator("[data-figure=ratio]").inner_text() == shown
        assert await page.locator("figure svg[role=img]").count() == 1
        await page.screenshot(path=str(ARTEFACTS / "portfolio.png"), full_page=True)
        await tab_reaches_every_action(page)

        await page.goto(f"{gateway_url}/portal/audit")
        assert await page.locator("[data-verify=ok]").count() == 3
        await page.screenshot(path=str(ARTEFACTS / "audit.png"), full_page=True)
        await tab_reaches_every_action(page)

        # Signing out with the mouse, as most people do (the Tab walk stops once all is reached).
        await page.get_by_role("button", name="Afmelden").click()
        await page.wait_for_url(f"{gateway_url}/portal/?afgemeld=1")
        assert await page.get_by_role("status").inner_text() == "U bent afgemeld."
        assert not [c for c in await context.cookies() if c["name"] == "iv_portal_session"]
        await context.close()
